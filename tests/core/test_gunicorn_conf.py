"""The production gunicorn settings (``gunicorn.conf.py``): sync workers, 2 × cores + 1 unless
``WEB_CONCURRENCY`` says otherwise, and a timeout that lets a large export finish. The load
benchmark serves its pages with the same file (``tests/api/test_load_benchmark.py``)."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

from portal.api import benchmark

CONF = settings.BASE_DIR / "gunicorn.conf.py"


def test_sync_workers_two_per_core_plus_one(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.delenv("GUNICORN_TIMEOUT", raising=False)
    configured = benchmark.gunicorn_settings()
    assert configured["worker_class"] == "sync"
    assert configured["workers"] == 2 * os.cpu_count() + 1
    assert configured["timeout"] >= 60  # the claims export streams ~15 s at 1,000,000 rows
    assert benchmark.gunicorn_description() == (
        f"{2 * os.cpu_count() + 1} sync workers (gunicorn.conf.py)"
    )


def test_the_environment_sets_workers_and_timeout(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("GUNICORN_TIMEOUT", "300")
    configured = benchmark.gunicorn_settings()
    assert (configured["workers"], configured["timeout"]) == (3, 300)


@pytest.mark.parametrize(
    ("workers", "threads", "expected"),
    [
        (4, None, "4 sync workers"),
        (2, 4, "2 gthread workers × 4 threads"),
        (3, 1, "3 sync workers"),
    ],
)
def test_the_benchmark_names_what_it_overrides(monkeypatch, workers, threads, expected):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    assert benchmark.gunicorn_description(workers, threads) == expected


def test_gunicorn_itself_reads_the_file():
    """gunicorn's own parser accepts every setting of the file (a typo would be refused)."""
    script = (
        f"import sys; sys.argv = ['gunicorn', '-c', {str(CONF)!r}, 'portal.wsgi']; "
        "from gunicorn.app.wsgiapp import WSGIApplication; "
        "app = WSGIApplication('%(prog)s [OPTIONS] [APP_MODULE]'); "
        "print(app.cfg.worker_class_str, app.cfg.workers, app.cfg.timeout, app.cfg.preload_app)"
    )
    env = {**os.environ, "WEB_CONCURRENCY": "7"}
    env.pop("GUNICORN_TIMEOUT", None)
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["sync", "7", "120", "True"]


def test_loading_the_application_imports_every_view():
    """What gunicorn's master preloads before it forks: the application and the URLconf, so no
    worker imports the views in its first request."""
    script = (
        "import sys; import portal.wsgi; "
        "print(all(m in sys.modules for m in "
        "('portal.claims.views', 'portal.api.urls', 'portal.reports.views')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings"},
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
    )
    assert out.stdout.strip().splitlines()[-1] == "True"
