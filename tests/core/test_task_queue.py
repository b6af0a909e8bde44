"""django-q2: tasks leave only after commit; a real qcluster process picks them up."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection, transaction
from django_q.models import OrmQ, Task

from portal.core.tasks import enqueue, ping

ROOT = Path(settings.BASE_DIR)


def test_ping_reaches_the_database(db):
    assert ping("x") == {"pong": "x", "database": connection.settings_dict["NAME"]}


def test_enqueue_waits_for_commit(db, django_capture_on_commit_callbacks, monkeypatch):
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        enqueue("portal.core.tasks.ping", "later")
        assert OrmQ.objects.count() == 0  # nothing queued inside the transaction
    assert len(callbacks) == 1
    callbacks[0]()
    assert OrmQ.objects.count() == 1


def test_enqueue_in_a_rolled_back_transaction_queues_nothing(transactional_db, monkeypatch):
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue("portal.core.tasks.ping", "never")
        raise RuntimeError("roll back")
    assert OrmQ.objects.count() == 0


def test_sync_mode_runs_the_task_inline(db, django_capture_on_commit_callbacks):
    name = f"inline-{uuid.uuid4().hex[:8]}"
    with django_capture_on_commit_callbacks(execute=True):
        enqueue("portal.core.tasks.ping", "inline", task_name=name)
    task = Task.objects.get(name=name)
    assert task.success and task.result["pong"] == "inline"


def database_url() -> str:
    s = connection.settings_dict
    host = s["HOST"] or "localhost"
    if host.startswith("/"):
        host = quote(host, safe="")
    port = f":{s['PORT']}" if s["PORT"] else ""
    return f"postgres://{s['USER']}@{host}{port}/{s['NAME']}"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_qcluster_picks_up_and_finishes_a_task():
    env = {**os.environ, "DATABASE_URL": database_url(), "Q_WORKERS": "1", "Q_SYNC": "false"}
    worker = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "qcluster"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        name = f"ping-{uuid.uuid4().hex[:8]}"
        with transaction.atomic():
            enqueue("portal.core.tasks.ping", "from-test", task_name=name)
        deadline = time.monotonic() + 60
        task = None
        while time.monotonic() < deadline and task is None:
            task = Task.objects.filter(name=name).first()
            time.sleep(0.2)
        assert task is not None, "the worker did not finish the task within 60 s"
        assert task.success
        assert task.result == {"pong": "from-test", "database": connection.settings_dict["NAME"]}
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
    assert worker.returncode == 0, worker.stdout.read()
