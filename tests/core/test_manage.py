"""``manage.py`` against a ``DATABASE_URL`` it cannot use: one clear paragraph and exit code 1,
not a traceback — a database that does not exist (with the ``createdb`` that makes it), a server
that does not answer. Any other error keeps its traceback."""

import os
import subprocess
import sys

from django.conf import settings
from django.db import connection
from django.db.utils import OperationalError

from portal.embedded_db import unreachable_message


def _manage(*args, url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "portal.settings"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _server() -> tuple[str, str, str]:
    db = connection.settings_dict
    return db["HOST"] or "127.0.0.1", str(db["PORT"] or 5432), db["USER"] or "postgres"


def test_a_database_that_does_not_exist_says_how_to_create_it():
    host, port, user = _server()
    if host.startswith("/"):  # the embedded server's socket: no URL to point elsewhere
        host = "127.0.0.1"
    result = _manage("migrate", url=f"postgres://{user}@{host}:{port}/payerwatch_nowhere_db")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "'payerwatch_nowhere_db' does not exist" in result.stderr
    assert f"createdb -h {host} -p {port} -U {user} payerwatch_nowhere_db" in result.stderr


def test_a_server_that_does_not_answer_is_named():
    result = _manage("migrate", url="postgres://postgres@127.0.0.1:9/payerwatch")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "Cannot connect to PostgreSQL at 127.0.0.1:9" in result.stderr


def test_other_database_errors_keep_their_traceback():
    """Only a failed connection becomes a message; ``manage.py`` re-raises everything else."""
    timeout = OperationalError("canceling statement due to statement timeout")
    assert unreachable_message(timeout) is None
    refused = 'connection failed: connection to server at "127.0.0.1", port 9 failed: refused'
    assert unreachable_message(OperationalError(refused)).startswith("Cannot connect")
