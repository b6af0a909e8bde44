"""The management commands people run by hand: ``ingest_claims`` and ``benchmark``."""

import json
from datetime import date

import pytest
from django.core.management import CommandError, call_command

from portal.claims import generator
from portal.claims.models import Claim

pytestmark = pytest.mark.django_db


@pytest.fixture
def claims_csv(tmp_path):
    spec = generator.ClaimsSpec(rows=500, end=date(2026, 6, 30), days=60, seed=3)
    return generator.write_csv(spec, tmp_path / "claims.csv")


def test_ingest_claims_prints_one_json_summary(acme, claims_csv, capsys):
    call_command("ingest_claims", "--customer", "acme", str(claims_csv), "--json")
    summary = json.loads(capsys.readouterr().out)
    assert summary["status"] == "succeeded"
    assert summary["rows_total"] == summary["inserted"] == 500
    assert Claim.objects.filter(customer=acme).count() == 500


def test_ingest_claims_prints_a_readable_summary(acme, claims_csv, capsys):
    call_command("ingest_claims", "--customer", "acme", str(claims_csv))
    out = capsys.readouterr().out
    assert "claims.csv: Succeeded" in out
    assert "inserted   500" in out


def test_ingest_claims_refuses_an_unknown_customer_or_file(acme, claims_csv, tmp_path):
    with pytest.raises(CommandError, match="No customer with slug 'nope'"):
        call_command("ingest_claims", "--customer", "nope", str(claims_csv))
    with pytest.raises(CommandError, match="No such file"):
        call_command("ingest_claims", "--customer", "acme", str(tmp_path / "missing.csv"))


def test_ingest_claims_fails_loudly_on_a_file_that_is_not_claims(acme, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("just,some,columns\n1,2,3\n")
    with pytest.raises(CommandError, match=r"(?i)column"):
        call_command("ingest_claims", "--customer", "acme", str(bad))


def test_progress_bar_draws_share_and_rate():
    import io

    from portal.claims.management.commands.ingest_claims import ProgressBar

    stream = io.StringIO()
    bar = ProgressBar(stream, total_bytes=1000)
    bar(rows=420, bytes_read=500)
    bar.done()
    assert "[###############               ]  50%  420 rows" in stream.getvalue()


@pytest.mark.django_db(transaction=True)  # the benchmark VACUUMs: no test transaction around it
def test_benchmark_ingest_reports_ratios_in_json(capsys):
    call_command("benchmark", "ingest", "--rows", "3000", "--json")
    result = json.loads(capsys.readouterr().out)
    assert result["rows"] == 3000
    assert result["ratio"] > 0 and result["reimport_ratio"] > 0


@pytest.mark.django_db(transaction=True)
def test_benchmark_detect_reports_the_ratio_in_text(capsys):
    call_command("benchmark", "detect", "--claims", "3000")
    out = capsys.readouterr().out
    assert "ratio" in out
    assert "within target" in out or "OUTSIDE the target" in out
