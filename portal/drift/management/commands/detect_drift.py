"""``manage.py detect_drift --customer SLUG [--as-of YYYY-MM-DD] [--json]``"""

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from portal.accounts.models import Customer
from portal.drift import services
from portal.drift.models import RunStatus


class Command(BaseCommand):
    help = "Run drift detection for a customer now and print what it found."

    def add_arguments(self, parser):
        parser.add_argument("--customer", required=True, metavar="SLUG")
        parser.add_argument("--as-of", type=date.fromisoformat, metavar="YYYY-MM-DD")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, customer, as_of, **options):
        try:
            target = Customer.objects.get(slug=customer)
        except Customer.DoesNotExist:
            raise CommandError(f"No customer with slug {customer!r}.") from None
        run = services.detect_now(customer=target, as_of=as_of, trigger="command")
        events = [
            {
                "drift_type": e.drift_type,
                "payer": e.payer.name,
                "cpt_group": e.cpt_group,
                "direction": e.direction,
                "baseline_value": e.baseline_value,
                "current_value": e.current_value,
                "delta": e.delta,
                "p_value": e.p_value,
                "severity": e.severity,
                "baseline_n": e.baseline_n,
                "current_n": e.current_n,
            }
            for e in run.events.select_related("payer").order_by("-severity", "id")
        ]
        summary = {
            "run_id": run.pk,
            "status": run.status,
            "as_of": run.as_of.isoformat(),
            "segments": run.segments_examined,
            "tests": run.tests_run,
            "events": events,
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary))
        else:
            self.stdout.write(
                f"run {run.pk} as of {run.as_of}: {run.status}, {run.segments_examined} segments, "
                f"{run.tests_run} tests, {len(events)} events"
            )
            for e in events:
                self.stdout.write(
                    f"  {e['severity']:.2f} {e['drift_type']:<18} {e['direction']:<9} "
                    f"{e['payer']} / {e['cpt_group']}: {e['baseline_value']:.3g} → "
                    f"{e['current_value']:.3g} (p={e['p_value']:.2g})"
                )
        if run.status == RunStatus.FAILED:
            raise CommandError(run.error or "The run failed.")
