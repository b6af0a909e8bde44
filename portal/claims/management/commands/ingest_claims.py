"""``manage.py ingest_claims --customer SLUG FILE [--json]``: the synchronous way in."""

from __future__ import annotations

import json as _json
import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.accounts.models import Customer
from portal.claims import services


class ProgressBar:
    """``[#####.....]  42%  420,000 rows  61,200 rows/s`` on one terminal line."""

    def __init__(self, stream, total_bytes: int) -> None:
        self.stream, self.total, self.started = stream, max(total_bytes, 1), time.monotonic()

    def __call__(self, rows: int, bytes_read: int) -> None:
        share = min(bytes_read / self.total, 1.0)
        rate = rows / max(time.monotonic() - self.started, 1e-6)
        bar = "#" * int(share * 30)
        self.stream.write(f"\r[{bar:<30}] {share:4.0%}  {rows:,} rows  {rate:,.0f} rows/s")
        self.stream.flush()

    def done(self) -> None:
        self.stream.write("\n")


class Command(BaseCommand):
    help = "Import a claims CSV (or .csv.gz) for a customer, now, and print the summary."

    def add_arguments(self, parser):
        parser.add_argument("--customer", required=True, metavar="SLUG")
        parser.add_argument("file", type=Path)
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, customer, file, **options):
        json = options["json"]
        try:
            target = Customer.objects.get(slug=customer)
        except Customer.DoesNotExist:
            raise CommandError(f"No customer with slug {customer!r}.") from None
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        bar = None
        if not json and sys.stderr.isatty():
            bar = ProgressBar(sys.stderr, file.stat().st_size)
        upload = services.ingest_file(customer=target, raw_path=str(file), on_progress=bar)
        if bar:
            bar.done()
        summary = {
            "upload_id": upload.pk,
            "status": str(upload.status),
            "rows_total": upload.rows_total,
            "inserted": upload.inserted,
            "updated": upload.updated,
            "unchanged": upload.unchanged,
            "rejected": upload.rejected,
            "warnings": upload.warnings,
            "ignored_columns": upload.ignored_columns,
            "seconds": round(upload.seconds or 0.0, 3),
        }
        if json:
            self.stdout.write(_json.dumps(summary))
        else:
            self._print(upload, summary)
        if upload.status == "failed":
            raise CommandError(upload.error or "The import failed.")

    def _print(self, upload, summary: dict) -> None:
        style = self.style.SUCCESS if upload.status == "succeeded" else self.style.WARNING
        self.stdout.write(style(f"{upload.file_name}: {upload.get_status_display()}"))
        for key in (
            "rows_total",
            "inserted",
            "updated",
            "unchanged",
            "rejected",
            "warnings",
            "seconds",
        ):
            self.stdout.write(f"  {key:<10} {summary[key]}")
        if upload.ignored_columns:
            self.stdout.write(
                f"  ignored columns (never stored): {', '.join(upload.ignored_columns)}"
            )
        if upload.phi_columns:
            self.stdout.write(
                self.style.WARNING(f"  columns that look like PHI: {', '.join(upload.phi_columns)}")
            )
        if upload.error and upload.status != "failed":  # a failure is reported by CommandError
            self.stdout.write(self.style.ERROR(f"  {upload.error}"))
