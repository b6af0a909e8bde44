"""``manage.py benchmark <what>``: the PRODUCT §12 measurements, as ratios against a reference
run in the same process. Each area adds its own subcommand."""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Run a benchmark and print its figures (ingest, detect, webhooks)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="what", required=True)
        ingest = sub.add_parser("ingest", help="CSV import vs PostgreSQL COPY of the same file")
        ingest.add_argument("--rows", type=int, default=1_000_000)
        ingest.add_argument("--file", type=Path, help="Reuse (or keep) the generated CSV here.")
        ingest.add_argument("--json", action="store_true", help="One JSON object on stdout.")
        detect = sub.add_parser("detect", help="a drift run vs the plain grouped SQL")
        detect.add_argument("--claims", type=int, default=1_000_000)
        detect.add_argument("--json", action="store_true", help="One JSON object on stdout.")
        hooks = sub.add_parser("webhooks", help="webhook deliveries per second, one worker")
        hooks.add_argument("--messages", type=int, default=2000)
        hooks.add_argument("--json", action="store_true", help="One JSON object on stdout.")

    def handle(self, *args, what, **options):
        if what == "ingest":
            from portal.claims import benchmark

            echo = (lambda m: print(m, file=sys.stderr)) if options["json"] else self.stdout.write
            result = benchmark.run(rows=options["rows"], keep_file=options["file"], echo=echo)
            self._report(result, options["json"], ok=result["ratio"] <= 2.0)
        elif what == "detect":
            from portal.drift import benchmark as drift_benchmark

            echo = (lambda m: print(m, file=sys.stderr)) if options["json"] else self.stdout.write
            result = drift_benchmark.run(claims=options["claims"], echo=echo)
            self._report(result, options["json"], ok=result["ratio"] <= 3.0)
        elif what == "webhooks":
            from portal.webhooks import benchmark as webhooks_benchmark

            echo = (lambda m: print(m, file=sys.stderr)) if options["json"] else self.stdout.write
            result = webhooks_benchmark.run(messages=options["messages"], echo=echo)
            ok = result["messages_per_second"] >= 50 and result["rejected_by_receiver"] == 0
            self._report(result, options["json"], ok=ok)
        else:  # pragma: no cover - argparse refuses unknown subcommands
            raise CommandError(f"Unknown benchmark {what!r}.")

    def _report(self, result: dict, as_json: bool, *, ok: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(result))
            return
        for key, value in result.items():
            self.stdout.write(f"  {key:<24} {value}")
        style = self.style.SUCCESS if ok else self.style.WARNING
        self.stdout.write(style("within target" if ok else "OUTSIDE the target"))
