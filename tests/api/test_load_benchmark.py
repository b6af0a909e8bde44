"""The load benchmark in small (PRODUCT §12), against a real gunicorn: 100,000 claims, 10
concurrent clients. Every list answers without an error, its deepest page (page 2,000 of the
claims) costs about what page 1 costs, and no list runs more queries deep, or at page size 200,
than at page 1 with 10 rows. The full-size figures are in the README (``benchmark api``)."""

import pytest
from django.db import connection

from portal.api import benchmark

pytestmark = pytest.mark.django_db(transaction=True)  # gunicorn reads what we commit

# A dozen requests per page on a shared 2-core machine (other test runs, PostgreSQL, gunicorn and
# the clients on the same cores): the medians under load wobble by a factor of two or more, so
# the product's 1.5 is asserted on what a page costs alone (page 1 and the deep page in turns,
# one request at a time, medians), and the medians under load get a generous bound.
RATIO_BOUND = 1.5
MEDIAN_RATIO_BOUND = 3.0
DEEP_ENOUGH = 100
QUERIES = {"portal home": 9, "portal claims": 12, "api claims": 12}


def test_lists_stay_fast_and_constant_in_queries_under_load():
    result = benchmark.run(claims=100_000, clients=10, requests=12, echo=lambda message: None)

    endpoints = {(row["endpoint"], row["page"]): row for row in result["endpoints"]}
    assert not [row for row in result["endpoints"] if row["errors"]], result["endpoints"]
    assert sum(row["requests"] for row in result["endpoints"]) == 12 * len(endpoints)

    lists = {row["endpoint"]: row for row in result["lists"]}
    assert lists["api claims"]["deep_page"] == 2000  # 100,000 claims, 50 a page
    assert lists["portal claims"]["deep_page"] == 2000
    for name, row in lists.items():
        assert isinstance(row["queries_page_1"], int), (name, row)
        assert row["queries_page_1"] == row["queries_deep"], (name, row)
        assert row["queries_page_size_10"] == row["queries_page_size_200"], (name, row)
        # Page 2 of a two-page list says nothing about deep paging, and its ratio of two ~20 ms
        # answers is pure noise: the ratio is asserted where the list really goes deep.
        if row["ratio_p50"] is not None and row["deep_page"] >= DEEP_ENOUGH:
            assert row["alone"]["ratio"] <= RATIO_BOUND, (name, row)
            assert row["ratio_p50"] <= MEDIAN_RATIO_BOUND, (name, row)

    # PRODUCT §12's dashboard targets are measured alone, uncached and cached
    dashboard = {(row["endpoint"], row["cache"]): row for row in result["dashboard"]}
    for name in ("portal dashboard", "api dashboard"):
        assert dashboard[(name, "warm")]["p50_ms"] < dashboard[(name, "cold")]["p50_ms"]
        assert dashboard[(name, "cold")]["requests"] == benchmark.DASHBOARD_ROUNDS

    # The usual request asks for permissions once and does not write its session: the counts
    # grow back if either returns (before: home 41, claims 20, API claims 13).
    assert endpoints[("portal home", "1")]["queries"] <= QUERIES["portal home"]
    assert endpoints[("portal claims", "1")]["queries"] <= QUERIES["portal claims"]
    assert endpoints[("api claims", "1")]["queries"] <= QUERIES["api claims"]

    # served as in production: the workers of the project's gunicorn.conf.py
    assert result["gunicorn"].endswith("sync workers (gunicorn.conf.py)"), result["gunicorn"]

    names = {check["check"]: check["ok"] for check in result["checks"]}
    assert names["no errors"] and names["queries per request independent of page and page size"]
    # the machine's own speed is printed with the figures (runs on different days compare)
    assert 0 < result["cpu"]["python_reference_ms"] < 10_000
    # and PostgreSQL's share of the cores, where the server runs on this machine (as here)
    host = connection.settings_dict["HOST"]
    if host in ("127.0.0.1", "localhost", "::1") or host.startswith("/"):
        assert result["cpu"]["postgres_ms_per_request"] > 0, result["cpu"]
