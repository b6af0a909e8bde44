"""The embedded PostgreSQL: default without DATABASE_URL, survives killed processes, stops on
request. These tests start real servers in throw-away data directories inside the project."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from portal import embedded_db

ROOT = Path(settings.BASE_DIR)


@pytest.fixture
def pgdata():
    path = ROOT / ".run" / f"test-pgdata-{uuid.uuid4().hex[:8]}"
    path.parent.mkdir(exist_ok=True)
    yield path
    embedded_db.stop_server(path)
    shutil.rmtree(path, ignore_errors=True)


def run_env(pgdata: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["PAYERWATCH_PGDATA"] = str(pgdata)
    return env


def manage(pgdata: Path, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=run_env(pgdata),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def hold_server(pgdata: Path) -> subprocess.Popen:
    """A process that attaches to the embedded server, says "up", and waits to be killed."""
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; "
            "from portal import embedded_db; embedded_db.ensure_server(Path(sys.argv[1])); "
            "print('up', flush=True); time.sleep(600)",
            str(pgdata),
        ],
        env=run_env(pgdata),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_database_url_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db.example:6543/prod")
    config = embedded_db.database_settings(tmp_path)
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db.example", 6543, "prod")
    assert not (tmp_path / ".pgdata").exists()


def test_database_url_must_be_postgresql(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "sqlite:///x.db")
    with pytest.raises(RuntimeError, match="PostgreSQL"):
        embedded_db.database_settings(tmp_path)


def test_without_database_url_a_real_postgres_is_started_and_stopped_after_use(pgdata):
    result = manage(
        pgdata,
        "shell",
        "-c",
        "from django.db import connection; "
        "print(connection.settings_dict['HOST']); "
        "print(connection.cursor().connection.info.server_version)",
    )
    assert result.returncode == 0, result.stderr
    host, version = result.stdout.split()[-2:]
    assert host == str(pgdata)  # unix socket inside PGDATA, as HOST (dbshell needs it there)
    assert int(version) >= 180000
    assert (pgdata / "PG_VERSION").exists()
    # the last user exited normally: the server is stopped and no handle is left
    assert embedded_db.server_status(pgdata)["running"] is False
    assert json.loads((pgdata / ".handle_pids.json").read_text()) == []


def test_a_killed_process_leaves_no_orphan_behind(pgdata):
    """SIGKILL leaves a stale pid and a running server; the next command reuses and stops it."""
    hold = hold_server(pgdata)
    assert hold.stdout.readline().strip() == "up"
    hold.send_signal(signal.SIGKILL)
    hold.wait()
    status = embedded_db.server_status(pgdata)
    assert status["running"] and status["handles"] == [hold.pid]

    assert embedded_db.prune_dead_handles(pgdata) == [hold.pid]
    result = manage(
        pgdata, "shell", "-c", "from django.db import connection; connection.ensure_connection()"
    )
    assert result.returncode == 0, result.stderr
    assert embedded_db.server_status(pgdata)["running"] is False


def test_stop_db_stops_a_server_whoever_holds_it(pgdata):
    hold = hold_server(pgdata)
    try:
        assert hold.stdout.readline().strip() == "up"
        result = manage(pgdata, "stop_db")
        assert result.returncode == 0, result.stderr
        assert "Stopped the embedded PostgreSQL" in result.stdout
        assert embedded_db.server_status(pgdata)["running"] is False
        again = manage(pgdata, "stop_db")
        assert "No embedded PostgreSQL was running" in again.stdout
    finally:
        hold.kill()
        hold.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = 90) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"demo exited early: {process.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def start_demo(pgdata: Path, port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "demo",
            f"127.0.0.1:{port}",
            "--password",
            "Demo-pass-1",
        ],
        env={**run_env(pgdata), "Q_WORKERS": "1"},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_demo_survives_sigterm_and_sigkill_without_manual_cleanup(pgdata):
    port = free_port()
    url = f"http://127.0.0.1:{port}/accounts/login/"

    demo = start_demo(pgdata, port)
    assert wait_for_http(url, demo) == 200
    demo.send_signal(signal.SIGTERM)
    output = demo.communicate(timeout=60)[0]
    assert demo.returncode == 0, output
    assert "owner@acme.test" in output and "Demo-pass-1" in output
    assert embedded_db.server_status(pgdata)["running"] is False, (
        embedded_db.server_status(pgdata),
        output,
    )  # cleanly stopped

    demo = start_demo(pgdata, port)
    assert wait_for_http(url, demo) == 200
    demo.send_signal(signal.SIGKILL)  # no cleanup at all: the server and the worker stay behind
    demo.wait()
    assert embedded_db.server_status(pgdata)["running"] is True

    demo = start_demo(pgdata, port)
    try:
        assert wait_for_http(url, demo) == 200
    finally:
        demo.send_signal(signal.SIGTERM)
        output = demo.communicate(timeout=60)[0]
    assert "stopping a worker left behind" in output
    assert demo.returncode == 0, output
    assert embedded_db.server_status(pgdata)["running"] is False
