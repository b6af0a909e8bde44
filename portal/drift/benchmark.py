"""The detection benchmark (PRODUCT §12): a full drift run against the plain grouped SQL that
computes the same per-segment, per-window aggregates, in the same process and database.

1. A scratch customer holds ``claims`` realistic claims with planted drifts (imported once, kept
   between runs of the benchmark while the count matches), then ``VACUUM ANALYZE``.
2. Reference: the three grouped queries of ``aggregates`` (counts, moments, median; allowed per
   code; reasons), rows fetched, nothing else — the floor any implementation must pay.
3. Payerwatch: ``services.detect_now`` — windows, the same queries, statistics, Benjamini–Hochberg,
   materiality, event upserts, the run's bookkeeping.
4. Both are run three times; the medians are compared. Peak resident memory is reported too.
"""

from __future__ import annotations

import resource
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from django.db import connection

from portal.claims import generator


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _scratch(claims: int, as_of: date, echo):
    from portal.accounts.models import Customer
    from portal.claims import services as claims_services
    from portal.claims.models import Claim, Payer, RejectedRow, Upload
    from portal.drift.models import DriftEvent, DriftRun

    customer, _ = Customer.objects.get_or_create(
        slug="benchmark-drift", defaults={"name": "Benchmark drift (scratch)"}
    )
    DriftEvent.objects.filter(customer=customer).delete()
    DriftRun.objects.filter(customer=customer).delete()
    if Claim.objects.filter(customer=customer).count() != claims:
        for model in (Claim, RejectedRow, Upload, Payer):
            model.objects.filter(customer=customer).delete()
        start = as_of - timedelta(days=20)
        spec = generator.ClaimsSpec(
            rows=claims,
            end=as_of,
            days=365,
            seed=17,
            drifts=[
                generator.Drift("Humana", start, denial_rate=0.3),
                generator.Drift("Cigna", start - timedelta(days=15), extra_decision_days=9),
            ],
        )
        with tempfile.TemporaryDirectory() as tmp:
            echo(f"importing {claims:,} claims …")
            path = generator.write_csv(spec, Path(tmp) / "claims.csv")
            claims_services.ingest_file(customer=customer, raw_path=str(path))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE claims_claim")
    return customer


def run(*, claims: int, repeat: int = 3, echo=print) -> dict:
    from portal.drift import aggregates, services

    as_of = date.today()
    customer = _scratch(claims, as_of, echo)
    windows = aggregates.run_windows(customer.pk, as_of)
    params = {
        "customer": customer.pk,
        "baseline_start": windows.baseline_start,
        "current_start": windows.current_start,
        "current_end": windows.current_end,
        "horizon": windows.max_lag_days,
    }
    reference, full, runs = [], [], []
    for _ in range(repeat):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for sql in (aggregates._MAIN, aggregates._ALLOWED, aggregates._REASONS):
                cursor.execute(sql, params)
                cursor.fetchall()
        reference.append(time.perf_counter() - started)
        started = time.perf_counter()
        runs.append(services.detect_now(customer=customer, as_of=as_of, trigger="benchmark"))
        full.append(time.perf_counter() - started)
    last = runs[-1]
    ref, ours = statistics.median(reference), statistics.median(full)
    return {
        "claims": claims,
        "reference_sql_seconds": round(ref, 3),
        "run_seconds": round(ours, 3),
        "ratio": round(ours / ref, 2),
        "segments": last.segments_examined,
        "tests": last.tests_run,
        "events": last.events_created + last.events_updated,
        "status": last.status,
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "targets": {"ratio_max": 3.0},
    }
