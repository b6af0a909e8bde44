"""The ingest benchmark (PRODUCT §12): our import against PostgreSQL's own ``COPY`` of the same
file into a table with the same column types and indexes, in the same process and database.

1. Generate a realistic claims CSV (``generator``), outside the timings.
2. Reference: ``COPY … FROM STDIN (FORMAT csv)`` of the file into ``bench_reference``, whose
   columns are the file's with the claims table's types, and whose indexes mirror the claims
   table's (primary key, unique claim_id, submitted date, the payer/decided covering index, CPT).
3. Payerwatch: ``services.ingest_file`` into a scratch customer (parse, validate, normalise,
   stage, upsert, audit), first import and then the same file again.
4. Report rows/s, seconds, the ratios, and the peak resident memory of this process.
"""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path

from django.db import connection, transaction

from portal.claims import generator

REFERENCE_DDL = """
CREATE TABLE bench_reference (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    claim_id varchar(64),
    payer varchar(200),
    cpt varchar(5),
    submitted_date date,
    decided_date date,
    outcome varchar(8),
    billed_amount numeric(12, 2),
    allowed_amount numeric(12, 2),
    paid_amount numeric(12, 2),
    denial_reason_code varchar(20),
    denial_reason_text varchar(300),
    payment_date date
);
CREATE UNIQUE INDEX bench_reference_claim_id ON bench_reference (claim_id);
CREATE INDEX bench_reference_submitted ON bench_reference (submitted_date DESC, id DESC);
CREATE INDEX bench_reference_cover ON bench_reference (payer, decided_date)
    INCLUDE (cpt, outcome, submitted_date, billed_amount, allowed_amount, paid_amount);
CREATE INDEX bench_reference_cpt ON bench_reference (cpt);
"""


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reference_copy(path: Path) -> float:
    """Seconds PostgreSQL needs to COPY the file into the reference table (committed)."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_reference")
        cursor.execute(REFERENCE_DDL)
    columns = ", ".join(generator.COLUMNS)
    started = time.perf_counter()
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.copy(
            f"COPY bench_reference ({columns}) FROM STDIN WITH (FORMAT csv, HEADER true)"
        ) as copy,
        open(path, "rb") as source,
    ):
        while chunk := source.read(1 << 20):
            copy.write(chunk)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_reference")
    return seconds


def run(*, rows: int, keep_file: Path | None = None, echo=print) -> dict:
    from portal.accounts.models import Customer
    from portal.claims import services
    from portal.claims.models import Claim, Payer, RejectedRow, Upload

    with tempfile.TemporaryDirectory(prefix="payerwatch-bench-") as tmp:
        path = keep_file or Path(tmp) / f"claims-{rows}.csv"
        if not path.exists():
            echo(f"generating {rows:,} rows …")
            generator.write_csv(generator.ClaimsSpec(rows=rows, days=365), path)
        size = path.stat().st_size

        customer, _ = Customer.objects.get_or_create(
            slug="benchmark", defaults={"name": "Benchmark (scratch)"}
        )
        _wipe(customer, Claim, RejectedRow, Upload, Payer)
        baseline_rss = peak_rss_mb()

        echo("reference COPY …")
        reference = reference_copy(path)
        echo("Payerwatch import …")
        started = time.perf_counter()
        first = services.ingest_file(customer=customer, raw_path=str(path))
        first_seconds = time.perf_counter() - started
        echo("Payerwatch import of the same file again …")
        started = time.perf_counter()
        second = services.ingest_file(customer=customer, raw_path=str(path))
        second_seconds = time.perf_counter() - started
        claims = Claim.objects.filter(customer=customer).count()
        _wipe(customer, Claim, RejectedRow, Upload, Payer)

    return {
        "rows": rows,
        "file_mb": round(size / 1e6, 1),
        "reference_copy_seconds": round(reference, 2),
        "import_seconds": round(first_seconds, 2),
        "reimport_seconds": round(second_seconds, 2),
        "ratio": round(first_seconds / reference, 2),
        "reimport_ratio": round(second_seconds / reference, 2),
        "rows_per_second": round(rows / first_seconds),
        "first": {"status": first.status, "inserted": first.inserted, "rejected": first.rejected},
        "second": {
            "status": second.status,
            "inserted": second.inserted,
            "updated": second.updated,
            "unchanged": second.unchanged,
        },
        "claims_after": claims,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_before_mb": round(baseline_rss, 1),
        "targets": {"ratio_max": 2.0, "peak_rss_mb_max": 300},
    }


def _wipe(customer, *models) -> None:
    """Remove the scratch customer's claims data (the audit log is append-only and stays)."""
    for model in models:
        model.objects.filter(customer=customer).delete()
