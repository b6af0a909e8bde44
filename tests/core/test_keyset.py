"""Keyset paging (PRODUCT §12): walking a big list page by page through cursors gives exactly the
rows of the full ordered query, in every sort order (ties and NULLs included), forwards and
backwards; the portal and the API follow the same cursors; the number of queries does not depend
on the page size or depth; and a deep page reads its index from the cursor on (no OFFSET, no
Sort of the customer's rows)."""

import re
from datetime import date
from html import unescape
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.claims import generator, selectors, services
from portal.claims.models import Claim
from portal.core import keyset

pytestmark = pytest.mark.django_db

PORTAL = reverse("claims:claim-list", args=["acme"])
API = "/api/v1/claims/"

# Every order the portal table and the API offer, and a mixed one. Dates tie (about 20 claims a
# day), amounts tie (0.00 for denials) and are NULL (pending claims), decisions are NULL.
ORDERS = [
    ("-submitted_date", "-id"),
    ("submitted_date", "id"),
    ("-decided_date", "-id"),
    ("decided_date", "id"),
    ("billed_amount", "id"),
    ("-billed_amount", "-id"),
    ("allowed_amount", "id"),
    ("-allowed_amount", "-id"),
    ("paid_amount", "id"),
    ("-paid_amount", "-id"),
    ("claim_id",),
    ("cpt", "id"),
    ("-outcome", "-id"),
    ("payer__name", "id"),
    ("cpt", "-submitted_date", "-id"),  # mixed directions
    ("-allowed_amount", "decided_date", "id"),  # mixed, two nullable keys
]


@pytest.fixture
def claims(acme, tmp_path):
    spec = generator.ClaimsSpec(rows=700, end=date(2026, 6, 30), days=40, seed=5)
    path = generator.write_csv(spec, tmp_path / "claims.csv")
    upload = services.ingest_file(customer=acme, raw_path=str(path))
    assert upload.inserted == 700
    base = Claim.objects.filter(customer=acme)
    assert base.filter(decided_date__isnull=True).exists()  # NULLs present
    assert base.filter(allowed_amount=0).count() > 1  # ties present
    return acme


def walk_forward(queryset, per_page):
    rows, page = [], keyset.page(queryset, per_page=per_page)
    numbers = [page.number]
    rows += page.object_list
    while page.has_next:
        page = keyset.page(queryset, per_page=per_page, cursor=page.next_cursor)
        numbers.append(page.number)
        rows += page.object_list
    return rows, numbers, page


def test_cursors_walk_every_order_exactly_like_the_full_query(claims):
    for order in ORDERS:
        queryset = selectors.claim_list(customer=claims).order_by(*order)
        expected = list(queryset.values_list("id", flat=True))
        assert len(expected) == 700

        rows, numbers, last = walk_forward(queryset, 37)
        assert [row.pk for row in rows] == expected, order
        assert numbers == list(range(1, 20)), order  # 19 pages, numbered as they come

        # and back again from the last page, through the previous links
        backwards, page = [last.object_list], last
        while page.has_previous:
            if page.previous_cursor is None:  # the previous page is page 1: a plain request
                page = keyset.page(queryset, per_page=37)
            else:
                page = keyset.page(queryset, per_page=37, cursor=page.previous_cursor)
            backwards.insert(0, page.object_list)
        assert [row.pk for chunk in backwards for row in chunk] == expected, order
        assert page.number == 1


def test_a_cursor_only_works_for_the_order_it_was_made_for(claims):
    newest = selectors.claim_list(customer=claims)
    cursor = keyset.page(newest, per_page=10).next_cursor
    with pytest.raises(keyset.InvalidCursor):
        keyset.page(newest.order_by("billed_amount", "id"), per_page=10, cursor=cursor)
    with pytest.raises(keyset.InvalidCursor):
        keyset.page(newest, per_page=10, cursor=cursor[:-3] + "abc")  # tampered


def test_count_is_exact_up_to_the_cap_and_capped_beyond(claims):
    queryset = selectors.claim_list(customer=claims)
    assert keyset.capped_count(queryset) == (700, True)
    assert keyset.capped_count(queryset, limit=500) == (500, False)
    assert keyset.capped_count(queryset, limit=700) == (700, True)


def test_an_append_only_list_beyond_the_cap_is_not_counted_again(acme, alice):
    """The audit log only grows: once a list is past the cap it stays past it, so the answer
    is remembered (per list and filter) and the next page reads no rows to count them. Lists
    under the cap, and lists of other models, are counted every time."""
    from django.core.cache import cache

    from portal.audit.actions import Action
    from portal.audit.models import AuditEvent
    from portal.audit.selectors import audit_events_for_customer
    from portal.audit.services import record

    cache.clear()
    for _ in range(6):
        record(action=Action.CLAIMS_VIEWED, actor=alice, customer=acme)
    events = audit_events_for_customer(customer=acme)
    assert AuditEvent.append_only and events.count() >= 6

    def counting(queryset, limit):
        with CaptureQueriesContext(connection) as queries:
            answer = keyset.capped_count(queryset, limit=limit)
        sqls = [q["sql"] for q in queries.captured_queries if "payerwatch_cache" not in q["sql"]]
        return answer, sum("COUNT(*)" in sql for sql in sqls)  # the cache's own: not counted

    total = events.count()
    assert counting(events, total) == ((total, True), 1)
    assert counting(events, total) == ((total, True), 1)  # exact: asked again each time
    assert counting(events, 3) == ((3, False), 1)
    assert counting(events, 3) == ((3, False), 0)  # remembered
    narrower = events.filter(action="no.such.action")
    assert counting(narrower, 3) == ((0, True), 1)  # another filter, another answer
    claims = Claim.objects.filter(customer=acme)
    assert counting(claims, 3)[1] == 1 and counting(claims, 3)[1] == 1  # not append-only


# -- API ------------------------------------------------------------------------------------------


def test_api_next_links_walk_every_order(bearer, claims, bob):
    client = bearer(bob, claims)
    for ordering in ("-submitted_date", "decided_date", "-paid_amount", "cpt,-submitted_date"):
        fields = ordering.split(",")
        expected = list(
            Claim.objects.filter(customer=claims)
            .order_by(*fields, "-id" if fields[-1].startswith("-") else "id")
            .values_list("claim_id", flat=True)
        )
        body = client.get(API, {"ordering": ordering, "page_size": 200}).json()
        assert body["count"] == 700 and body["count_exact"] is True and body["previous"] is None
        seen = [c["claim_id"] for c in body["results"]]
        while body["next"]:
            assert "page=" not in body["next"] and "cursor=" in body["next"]
            body = client.get(body["next"]).json()
            seen += [c["claim_id"] for c in body["results"]]
        assert seen == expected, ordering
        previous = client.get(body["previous"]).json()  # back one page, from the last
        assert [c["claim_id"] for c in previous["results"]] == expected[400:600]


def test_api_page_numbers_still_work_and_an_invalid_cursor_is_404(bearer, claims, bob):
    client = bearer(bob, claims)
    expected = list(selectors.claim_list(customer=claims).values_list("claim_id", flat=True))
    body = client.get(API, {"page": 3, "page_size": 50}).json()
    assert [c["claim_id"] for c in body["results"]] == expected[100:150]
    assert "page=" not in body["previous"] and "cursor=" in body["previous"]
    page_2 = client.get(body["previous"]).json()
    assert [c["claim_id"] for c in page_2["results"]] == expected[50:100]
    page_1 = client.get(page_2["previous"]).json()  # a plain first page: no cursor, no page
    assert [c["claim_id"] for c in page_1["results"]] == expected[:50]
    assert page_1["previous"] is None
    response = client.get(API, {"cursor": "not-ours"})
    assert response.status_code == 404
    assert response.json()["errors"][0]["detail"] == "Invalid cursor."
    assert client.get(API, {"page": 99}).status_code == 404


def test_api_queries_do_not_grow_with_page_size_or_depth(bearer, claims, bob):
    client = bearer(bob, claims)
    client.get(API)  # the token's last-used time is written once a minute: not in the count
    deep = client.get(API, {"page_size": 200, "page": 2}).json()["next"]
    counts = {}
    for label, url in [
        ("first 10", f"{API}?page_size=10"),
        ("first 200", f"{API}?page_size=200"),
        ("deep 200", deep),
        ("deep 10", deep.replace("page_size=200", "page_size=10")),
    ]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200 and response.json()["results"], label
        counts[label] = len(queries)
    assert len(set(counts.values())) == 1, counts


# -- portal ---------------------------------------------------------------------------------------


def next_link(html: str) -> str | None:
    match = re.search(r'<a rel="next" href="([^"]+)"', html)
    return unescape(match[1]) if match else None


def test_portal_next_links_walk_the_table_with_the_sort_and_filters(client, claims, bob):
    client.force_login(bob)
    expected = list(
        Claim.objects.filter(customer=claims, outcome="PAID")
        .order_by("-decided_date", "-id")
        .values_list("claim_id", flat=True)
    )
    url = f"{PORTAL}?outcome=PAID&sort=-decided_date"
    seen, pages = [], 0
    while url:
        response = client.get(url if url.startswith("/") else PORTAL + url)
        pages += 1
        seen += [r.record.claim_id for r in response.context["table"].page.object_list]
        url = next_link(response.content.decode())
        if url:
            query = parse_qs(urlparse(url).query)
            assert query["outcome"] == ["PAID"] and query["sort"] == ["-decided_date"]
            assert "page" not in query and query["cursor"]
    assert seen == expected
    assert pages == -(-len(expected) // 50)


def test_portal_says_more_than_the_cap_and_shows_first_previous_next(
    client, claims, bob, monkeypatch
):
    monkeypatch.setattr(keyset, "COUNT_LIMIT", 100)
    client.force_login(bob)
    first = client.get(PORTAL).content.decode()
    assert "More than 100 rows · page 1" in first
    third = client.get(PORTAL + next_link(client.get(PORTAL + next_link(first)).content.decode()))
    html = third.content.decode()
    assert "More than 100 rows · page 3" in html
    assert 'rel="first"' in html and 'rel="prev"' in html and 'rel="next"' in html
    assert third.context["table"].page.number == 3


def test_portal_ignores_a_stale_cursor_after_a_sort_change(client, claims, bob):
    client.force_login(bob)
    cursor = parse_qs(urlparse(next_link(client.get(PORTAL).content.decode())).query)["cursor"][0]
    response = client.get(PORTAL, {"cursor": cursor, "sort": "billed_amount"})
    assert response.status_code == 200 and response.context["table"].page.number == 1
    html = client.get(PORTAL, {"cursor": cursor}).content.decode()
    assert re.search(r'href="\?sort=[^"]*"', html)  # sort links drop the cursor
    assert not re.search(r'href="\?[^"]*sort=[^"]*cursor=', html)


def test_portal_queries_do_not_grow_with_depth(client, claims, bob):
    client.force_login(bob)
    client.get(PORTAL)  # warm up (session, content types)
    with CaptureQueriesContext(connection) as first:
        html = client.get(PORTAL).content.decode()
    for _ in range(5):
        html = client.get(PORTAL + next_link(html)).content.decode()
    with CaptureQueriesContext(connection) as deep:
        assert client.get(PORTAL + next_link(html)).status_code == 200
    assert len(deep) == len(first)


# -- EXPLAIN --------------------------------------------------------------------------------------


def test_a_deep_page_reads_the_index_from_the_cursor_on(claims):
    queryset = selectors.claim_list(customer=claims)
    page = keyset.page(queryset, per_page=50, number=10)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE claims_claim")
    with CaptureQueriesContext(connection) as queries:
        keyset.page(queryset, per_page=50, cursor=page.next_cursor)
    [rows_sql] = [q["sql"] for q in queries if "COUNT(" not in q["sql"].upper()]
    assert "OFFSET" not in rows_sql.upper()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # small table: ask what the index can do
        cursor.execute("EXPLAIN " + rows_sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Scan using claim_customer_submitted" in plan, plan
    assert re.search(r"Index Cond: .*ROW\(submitted_date, id\) <", plan), plan
    assert "Sort" not in plan, plan


@pytest.mark.django_db
def test_a_page_beyond_any_possible_list_is_empty_not_an_error(bearer, acme, alice, client):
    """Found by schemathesis: ?page=7955352856040220655616 overflowed PostgreSQL's bigint OFFSET."""
    huge = "7955352856040220655616"
    api = bearer(alice, acme, "read")
    for path in ("/api/v1/audit-events/", "/api/v1/claims/", "/api/v1/drift-events/"):
        response = api.get(path, {"page": huge})
        assert response.status_code == 404, (path, response.content)
        assert response.json()["errors"][0]["detail"] == "Invalid page."
    client.force_login(alice)
    past_the_end = client.get("/c/acme/claims/", {"page": "999"})
    page = client.get("/c/acme/claims/", {"page": huge})
    assert page.status_code == past_the_end.status_code == 200  # the portal's way: no error


def test_a_deep_page_of_the_audit_log_starts_at_its_cursor_in_the_index(acme, alice):
    """The audit log's indexes end with the id, like its order: a deep page's row comparison is
    an index condition (before: the indexes had no id, so the comparison was a filter over every
    newer row — page 500 cost twice page 1). Asked of a customer's own events and of the whole
    log (staff); the customer page's ``OR`` with its members' sign-ins is left to the planner."""
    from portal.audit.actions import Action
    from portal.audit.models import AuditEvent
    from portal.audit.services import record

    for _ in range(120):
        record(action=Action.CLAIMS_VIEWED, actor=alice, customer=acme)
    for queryset in (AuditEvent.objects.filter(customer=acme), AuditEvent.objects.all()):
        queryset = queryset.order_by("-created_at", "-id")
        page = keyset.page(queryset, per_page=50)
        with CaptureQueriesContext(connection) as queries:
            keyset.page(queryset, per_page=50, cursor=page.next_cursor)
        [rows_sql] = [
            q["sql"]
            for q in queries
            if "COUNT(" not in q["sql"].upper() and "audit_auditevent" in q["sql"]
        ]
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE audit_auditevent")
            # a small table: ask what the index can do
            for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
                cursor.execute(f"SET LOCAL {setting} = off")
            cursor.execute("EXPLAIN " + rows_sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        # either index serves the customer's list (all of these rows are Acme's)
        assert re.search(r"Index Scan using audit_(customer_)?created_id ", plan), plan
        assert re.search(r"Index Cond: .*ROW\(created_at, id\) <", plan), plan
        assert "Sort" not in plan, plan
