"""``manage.py demo``: the whole product on one machine with nothing else installed.

Migrates the database (the embedded PostgreSQL unless DATABASE_URL is set), seeds demo data,
prints the logins, and runs a django-q2 worker beside the development server. SIGTERM and Ctrl-C
stop both cleanly; a worker left behind by a demo that was killed outright is stopped on the
next start (its pid is kept in .run/demo-worker.pid).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from portal import embedded_db
from portal.core import demo


def _interrupt(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Migrate, seed demo data, and run the portal with a task worker on 127.0.0.1:8000."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument(
            "--password", help="One password for every demo login (default: random)."
        )
        parser.add_argument(
            "--no-serve", action="store_true", help="Seed and print logins, then exit."
        )
        parser.add_argument("--no-worker", action="store_true", help="Do not start a task worker.")

    def handle(self, *args, addrport, password, no_serve, no_worker, **options):
        call_command("migrate", interactive=False, verbosity=0)
        logins = demo.seed(password=password)
        self.stdout.write(self.style.MIGRATE_HEADING("Claims"))
        demo.import_claims(echo=self.stdout.write)
        self.stdout.write(self.style.MIGRATE_HEADING("Drift detection and alerts"))
        demo.alert_rule(echo=self.stdout.write)
        demo.detect_drift(echo=self.stdout.write)
        self.stdout.write(self.style.MIGRATE_HEADING("Reports"))
        demo.weekly_report(echo=self.stdout.write)
        self._print_logins(logins, addrport)
        token = demo.api_token()
        self.stdout.write(self.style.MIGRATE_HEADING("API (read token of admin@acme.test)"))
        self.stdout.write(f'  curl -H "Authorization: Bearer {token}" http://{addrport}/api/v1/me/')
        self.stdout.write(f"  docs: http://{addrport}/api/docs/")
        if no_serve:
            return
        signal.signal(signal.SIGTERM, _interrupt)
        worker = None if no_worker else self._start_worker()
        try:
            call_command("runserver", addrport, use_reloader=False)
        except KeyboardInterrupt:
            self.stdout.write("Stopping…")
        finally:
            if worker is not None:
                self._stop_worker(worker)

    def _print_logins(self, logins, addrport):
        database = settings.DATABASES["default"]
        self.stdout.write(self.style.MIGRATE_HEADING("Payerwatch demo"))
        self.stdout.write(f"  database: {database['NAME']} on {database['HOST'] or 'localhost'}")
        self.stdout.write(f"  portal:   http://{addrport}/   (back office: /admin/)")
        self.stdout.write(self.style.MIGRATE_HEADING("Logins"))
        width = max(len(login.email) for login in logins)
        for login in logins:
            self.stdout.write(f"  {login.email:<{width}}  {login.password}  {login.roles}")

    # -- the task worker -------------------------------------------------------------------
    def _pidfile(self) -> Path:
        path = Path(settings.BASE_DIR) / ".run" / "demo-worker.pid"
        path.parent.mkdir(exist_ok=True)
        return path

    def _start_worker(self) -> subprocess.Popen:
        self._stop_stale_worker()
        worker = subprocess.Popen(
            [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "qcluster"],
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._pidfile().write_text(str(worker.pid))
        self.stdout.write(f"  worker:   django-q2 qcluster, pid {worker.pid}")
        return worker

    def _stop_stale_worker(self) -> None:
        path = self._pidfile()
        if not path.exists():
            return
        try:
            process = psutil.Process(int(path.read_text().strip()))
            if "qcluster" in " ".join(process.cmdline()):
                self.stdout.write(f"  stopping a worker left behind (pid {process.pid})")
                _stop_tree(process)
        except (ValueError, psutil.Error):
            pass
        path.unlink(missing_ok=True)
        self._prune_embedded_handles()

    def _stop_worker(self, worker: subprocess.Popen) -> None:
        with contextlib.suppress(psutil.Error):
            _stop_tree(psutil.Process(worker.pid))
        worker.wait()
        self._pidfile().unlink(missing_ok=True)
        self._prune_embedded_handles()

    def _prune_embedded_handles(self) -> None:
        if not os.environ.get("DATABASE_URL"):
            # A worker stopped before it had set up its signal handlers left its pid behind; drop
            # it so that this process, the last user, stops the embedded server on exit.
            embedded_db.prune_dead_handles(embedded_db.pgdata_path(Path(settings.BASE_DIR)))


def _stop_tree(process: psutil.Process, timeout: float = 15) -> None:
    """Stop a qcluster politely (it stops its own worker processes), then kill whatever of it is
    still there: a cluster busy with a task may outlive the polite request, and its worker
    processes must not outlive it, or they keep the embedded database running after the demo."""
    family = [process, *process.children(recursive=True)]
    try:
        process.terminate()
    except psutil.Error:
        return
    psutil.wait_procs([process], timeout=timeout)
    alive = [each for each in family if each.is_running()]
    for each in alive:
        with contextlib.suppress(psutil.Error):
            each.kill()
    psutil.wait_procs(alive, timeout=5)
