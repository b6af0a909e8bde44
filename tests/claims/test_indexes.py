"""The claims indexes answer the queries they were made for (read with EXPLAIN)."""

from datetime import date

import pytest
from django.db import connection

from portal.claims import generator, services
from portal.claims.models import Claim, Payer

pytestmark = pytest.mark.django_db


@pytest.fixture
def claims(acme, tmp_path):
    spec = generator.ClaimsSpec(rows=3000, end=date(2026, 6, 30), days=120, seed=3)
    services.ingest_file(customer=acme, raw_path=str(generator.write_csv(spec, tmp_path / "c.csv")))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE claims_claim")
    return acme


def plan(sql: str, params: list, *, force_index: bool = False) -> str:
    with connection.cursor() as cursor:
        if force_index:  # a small test table is cheaper to scan; ask whether the index can do it
            cursor.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        text = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan; RESET enable_bitmapscan")
    return text


def test_payer_window_aggregates_come_from_the_covering_index_alone(claims):
    """Detection and payer summaries: per payer and decision window, grouped by CPT group."""
    payer = Payer.objects.get(customer=claims, key="humana")
    text = plan(
        """
        SELECT cpt_group, count(*) FILTER (WHERE outcome = 'DENIED'), count(*),
               sum(billed_amount) FILTER (WHERE outcome = 'DENIED'), avg(allowed_amount),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY decided_date - submitted_date)
        FROM claims_claim
        WHERE customer_id = %s AND payer_id = %s AND decided_date BETWEEN %s AND %s
        GROUP BY cpt_group
        """,
        [claims.pk, payer.pk, date(2026, 3, 1), date(2026, 6, 30)],
        force_index=True,
    )
    assert "Index Only Scan using claim_payer_decided_cover" in text, text


def test_the_claims_page_reads_newest_first_from_its_index(claims):
    text = plan(
        "SELECT id FROM claims_claim WHERE customer_id = %s "
        "ORDER BY submitted_date DESC, id DESC LIMIT 50",
        [claims.pk],
    )
    assert "claim_customer_submitted" in text and "Sort" not in text, text


def test_a_claim_id_is_found_by_the_unique_index(claims):
    text = plan(
        "SELECT id FROM claims_claim WHERE customer_id = %s AND claim_id = %s",
        [claims.pk, Claim.objects.filter(customer=claims).first().claim_id],
    )
    assert "claim_customer_claim_id" in text, text


def test_cpt_filter_uses_its_index(claims):
    text = plan(
        "SELECT id FROM claims_claim WHERE customer_id = %s AND cpt = %s",
        [claims.pk, "99213"],
        force_index=True,
    )
    assert "claim_customer_cpt" in text, text
