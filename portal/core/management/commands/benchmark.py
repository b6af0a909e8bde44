"""``manage.py benchmark <what>``: the PRODUCT §12 measurements, as ratios against a reference
run in the same process. Each area adds its own subcommand."""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Run a benchmark and print its figures (ingest, detect, webhooks, api)."

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
        api = sub.add_parser("api", help="list pages and API lists under load (real gunicorn)")
        api.add_argument("--claims", type=int, default=1_000_000)
        api.add_argument("--clients", type=int, default=20, help="Concurrent clients.")
        api.add_argument("--requests", type=int, default=50, help="Requests per endpoint and page.")
        api.add_argument(
            "--workers", type=int, help="gunicorn workers (default: gunicorn.conf.py's)."
        )
        api.add_argument(
            "--threads", type=int, help="Threads per worker: gthread workers (default: sync)."
        )
        api.add_argument("--json", action="store_true", help="One JSON object on stdout.")
        api.add_argument("--strict", action="store_true", help="Exit 1 when a check fails.")

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
        elif what == "api":
            from portal.api import benchmark as api_benchmark

            echo = (lambda m: print(m, file=sys.stderr)) if options["json"] else self.stdout.write
            result = api_benchmark.run(
                claims=options["claims"],
                clients=options["clients"],
                requests=options["requests"],
                workers=options["workers"],
                threads=options["threads"],
                echo=echo,
            )
            self._report_api(result, options["json"])
            if options["strict"] and not all(check["ok"] for check in result["checks"]):
                raise CommandError("A PRODUCT §12 target was missed.")
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

    def _report_api(self, result: dict, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(result))
            return
        self.stdout.write(
            f"{result['claims']:,} claims, {result['clients']} clients, "
            f"{result['requests_per_second']} requests/s over {result['seconds']} s "
            f"(gunicorn {result['gunicorn']}, {result['cpus']} CPUs)"
        )
        if cpu := result.get("cpu"):
            self.stdout.write(
                f"CPU: gunicorn {cpu['gunicorn_seconds']} s ({cpu['gunicorn_ms_per_request']} ms "
                f"per request), PostgreSQL {_database(cpu)}, clients {cpu['clients_seconds']} s, "
                f"of {cpu['wall_seconds_times_cpus']} CPU-seconds; load average "
                f"{cpu['load_average_before']} → {cpu['load_average_after']}; this machine's "
                f"Python: {cpu['python_reference_ms']} ms for a million additions"
            )
        if result.get("dashboard"):
            self.stdout.write(f"{'dashboard, alone':<22} {'cache':>5} {'requests':>8} "
                              f"{'p50 ms':>8} {'max ms':>8}")  # fmt: skip
            for row in result["dashboard"]:
                self.stdout.write(
                    f"{row['endpoint']:<22} {row['cache']:>5} {row['requests']:>8} "
                    f"{row['p50_ms']:>8} {row['max_ms']:>8}"
                )
            self.stdout.write("")
        header = f"{'endpoint':<22} {'page':>5} {'requests':>8} {'errors':>6} "
        header += f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'queries':>8}"
        self.stdout.write(header)
        for row in result["endpoints"]:
            self.stdout.write(
                f"{row['endpoint']:<22} {row['page']:>5} {row['requests']:>8} {row['errors']:>6} "
                f"{row['p50_ms']:>8} {row['p95_ms']:>8} {row['p99_ms']:>8} {row['queries']!s:>8}"
                + (f"  statuses {row['error_statuses']}" if row["errors"] else "")
            )
        self.stdout.write("")
        self.stdout.write(
            f"{'list':<22} {'deep page':>9} {'alone ms 1/deep':>16} {'ratio':>6} "
            f"{'load p50':>9} {'queries 1/deep':>15} {'size 10/200':>12}"
        )
        for row in result["lists"]:
            ratio = "—" if row["ratio_p50"] is None else row["ratio_p50"]
            alone = row.get("alone")
            timings = f"{alone['first_ms']}/{alone['deep_ms']}" if alone else "—"
            self.stdout.write(
                f"{row['endpoint']:<22} {row['deep_page']:>9} {timings:>16} "
                f"{alone['ratio'] if alone else '—'!s:>6} {ratio!s:>9} "
                f"{row['queries_page_1']!s:>7}/{row['queries_deep']!s:<7} "
                f"{row['queries_page_size_10']!s:>5}/{row['queries_page_size_200']!s:<6}"
            )
        self.stdout.write("")
        for check in result["checks"]:
            style = self.style.SUCCESS if check["ok"] else self.style.ERROR
            verdict = "PASS" if check["ok"] else "FAIL"
            self.stdout.write(style(f"{verdict}  {check['check']}: {check['detail']}"))


def _database(cpu: dict) -> str:
    if cpu.get("postgres_seconds") is None:
        return "not measured (not on this machine)"
    return f"{cpu['postgres_seconds']} s ({cpu['postgres_ms_per_request']} ms per request)"
