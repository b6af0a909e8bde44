"""Fault drill (issue #9): the database connection drops in the middle of an upload.

Nothing may be half-written, the upload must say it failed and why, and uploading the same file
again must import everything.
"""

from datetime import date

import psycopg
import pytest
from django.db import connection

from portal.claims import generator, services
from portal.claims.models import Claim, Upload, UploadStatus
from tests.factories import CustomerFactory

ROWS = 60_000  # three chunks of 20,000: the drop happens after the first one was loaded


def _terminate(pid: int) -> None:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.mark.django_db(transaction=True)
def test_a_dropped_connection_fails_the_upload_cleanly_and_a_retry_succeeds(tmp_path):
    customer = CustomerFactory(slug="drill")
    spec = generator.ClaimsSpec(rows=ROWS, end=date(2026, 6, 30), days=120, seed=11)
    path = generator.write_csv(spec, tmp_path / "claims.csv")
    upload = services.upload_create_local(customer=customer, path=str(path), actor=None)
    connection.ensure_connection()
    import_pid = connection.connection.info.backend_pid
    dropped = []

    def on_progress(rows: int, _bytes: int) -> None:
        if rows >= 20_000 and not dropped:
            _terminate(import_pid)
            dropped.append(rows)

    with pytest.raises(psycopg.OperationalError):  # surfaces to the worker, after marking
        services.upload_process(upload=upload, path=str(path), on_progress=on_progress)
    assert dropped, "the drill never dropped the connection"

    connection.close()  # what a worker does between tasks
    upload.refresh_from_db()
    assert upload.status == UploadStatus.FAILED
    assert "connection" in upload.error.lower()
    assert upload.finished_at is not None
    assert not Claim.objects.filter(customer=customer).exists(), "half an upload was kept"

    retry = services.ingest_file(customer=customer, raw_path=str(path))
    assert retry.status == UploadStatus.SUCCEEDED
    assert retry.inserted == ROWS
    assert Claim.objects.filter(customer=customer).count() == ROWS
    assert Upload.objects.filter(customer=customer).count() == 2
