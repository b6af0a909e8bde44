"""Writes of the claims app: uploads, payer aliases, CPT group overrides."""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager

import psycopg
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, InterfaceError, connection, transaction
from django.db import OperationalError as DatabaseOperationalError
from django.utils import timezone

from portal.accounts.models import Customer, User
from portal.audit.actions import Action, Outcome
from portal.audit.services import record
from portal.claims import csvio, ingest
from portal.claims.cpt import default_group, is_valid_cpt, normalise_cpt
from portal.claims.models import CptGroupOverride, Payer, PayerAlias, Upload, UploadStatus
from portal.core.exceptions import Conflict, DomainError, NotAllowed
from portal.core.tasks import enqueue, enqueue_once
from portal.dashboard import services as dashboard
from portal.webhooks import events as webhook_events

log = logging.getLogger(__name__)
MAX_UPLOAD_BYTES = 2 * 1024**3


def _is_unique_violation(exc: IntegrityError) -> bool:
    return isinstance(exc.__cause__, psycopg.errors.UniqueViolation)


def _require(actor: User | None, permission: str, customer: Customer) -> None:
    if actor is not None and not actor.has_perm(f"accounts.{permission}", customer):
        raise NotAllowed("Your role at this customer does not allow this.")


# -- uploads -------------------------------------------------------------------------------------


@transaction.atomic
def upload_create(
    *, customer: Customer, file: UploadedFile, actor: User | None, source: str = "portal"
) -> Upload:
    """Store an uploaded file and queue it for a worker (after commit)."""
    _require(actor, "upload_claims", customer)
    name = os.path.basename(file.name or "upload.csv")[:255]
    if not name.lower().endswith((".csv", ".csv.gz", ".gz", ".txt")):
        raise DomainError(f"{name} is not a .csv or .csv.gz file.", field="file")
    if not file.size:
        raise DomainError(f"{name} is empty.", field="file")
    if file.size > MAX_UPLOAD_BYTES:
        raise DomainError(f"{name} is larger than 2 GB; split it.", field="file")
    upload = Upload(
        customer=customer,
        file_name=name,
        size_bytes=file.size,
        uploaded_by=actor,
        source=source,
    )
    upload.file.save(name, file, save=False)
    upload.save()
    record(
        action=Action.UPLOAD_CREATED,
        actor=actor,
        customer=customer,
        obj=upload,
        data={"file_name": name, "size_bytes": file.size, "source": source},
    )
    enqueue("portal.claims.tasks.process_upload", upload.pk)
    return upload


def upload_create_local(
    *, customer: Customer, path: str, actor: User | None = None, source: str = "command"
) -> Upload:
    """An upload record for a file that is processed where it lies (the command)."""
    upload = Upload.objects.create(
        customer=customer,
        file_name=os.path.basename(path)[:255],
        size_bytes=os.path.getsize(path),
        uploaded_by=actor,
        source=source,
    )
    record(
        action=Action.UPLOAD_CREATED,
        actor=actor,
        customer=customer,
        obj=upload,
        data={"file_name": upload.file_name, "size_bytes": upload.size_bytes, "source": source},
    )
    return upload


@contextmanager
def _open_upload_file(upload: Upload, path: str | None):
    if path is not None:
        with open(path, "rb") as raw:
            yield raw
        return
    with upload.file.open("rb") as raw:
        yield raw


def upload_process(*, upload: Upload, path: str | None = None, on_progress=None) -> Upload:
    """Import a queued upload: succeeded / partially succeeded / failed, with its counts.

    Never raises for a bad file (the upload records why it failed). The stored copy of the file is
    deleted afterwards: it may hold columns (PHI) that Payerwatch must never keep.
    """
    if upload.status not in (UploadStatus.QUEUED, UploadStatus.PROCESSING):
        return upload
    ingest.mark(upload, status=UploadStatus.PROCESSING, started_at=timezone.now(), rows_processed=0)
    try:
        with _open_upload_file(upload, path) as raw:
            result = ingest.ingest(upload=upload, raw=raw, on_progress=on_progress)
    except csvio.FileProblem as problem:
        _finish_failed(upload, str(problem))
    except Exception as exc:
        log.exception("upload %s failed", upload.pk)
        _finish_failed(upload, _internal_error_reason(exc))
        raise
    else:
        _finish(upload, result)
    finally:
        if upload.file:
            upload.file.delete(save=False)
            Upload.objects.filter(pk=upload.pk).update(file="")
    return upload


def _internal_error_reason(exc: BaseException) -> str:
    """What the uploader is told when the import broke for a reason of ours, not the file's."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, psycopg.OperationalError | DatabaseOperationalError | InterfaceError):
            return (
                "The database connection was lost during the import; nothing was imported. "
                "Upload the file again."
            )
        seen = seen.__cause__ or seen.__context__
    return "An internal error stopped the import; nothing was imported."


@transaction.atomic
def _finish(upload: Upload, result: ingest.IngestResult) -> None:
    status = result.status
    error = (
        "Every row was rejected; see the rejected rows." if status == UploadStatus.FAILED else ""
    )
    ingest.mark(
        upload,
        status=status,
        error=error,
        rows_total=result.rows_total,
        rows_processed=result.rows_total,
        inserted=result.inserted,
        updated=result.updated,
        unchanged=result.unchanged,
        rejected=result.rejected,
        warnings=result.warnings,
        ignored_columns=result.ignored_columns,
        phi_columns=result.phi_columns,
        size_bytes=result.size_bytes,
        bytes_processed=result.size_bytes,
        sha256=result.sha256,
        finished_at=timezone.now(),
    )
    if status != UploadStatus.FAILED:  # new claims: look for drift (PRODUCT §4)
        enqueue_once("portal.drift.tasks.detect", upload.customer_id, "upload")
    dashboard.invalidate(upload.customer_id)  # on commit
    webhook_events.upload_finished(upload=upload)
    record(
        action=Action.UPLOAD_COMPLETED if status != UploadStatus.FAILED else Action.UPLOAD_FAILED,
        actor=upload.uploaded_by,
        customer=upload.customer,
        obj=upload,
        outcome=Outcome.SUCCESS if status != UploadStatus.FAILED else Outcome.FAILURE,
        data={
            "status": status,
            "rows_total": result.rows_total,
            "inserted": result.inserted,
            "updated": result.updated,
            "rejected": result.rejected,
        },
    )


@transaction.atomic
def _finish_failed(upload: Upload, error: str) -> None:
    ingest.mark(upload, status=UploadStatus.FAILED, error=error, finished_at=timezone.now())
    dashboard.invalidate(upload.customer_id)  # on commit
    webhook_events.upload_finished(upload=upload)
    record(
        action=Action.UPLOAD_FAILED,
        actor=upload.uploaded_by,
        customer=upload.customer,
        obj=upload,
        outcome=Outcome.FAILURE,
        data={"error": error[:300]},
    )


def ingest_file(
    *, customer: Customer, raw_path: str, actor: User | None = None, on_progress=None
) -> Upload:
    """The synchronous path (``manage.py ingest_claims``)."""
    upload = upload_create_local(customer=customer, path=raw_path, actor=actor)
    return upload_process(upload=upload, path=raw_path, on_progress=on_progress)


# -- payer aliases ------------------------------------------------------------------------------


def _payer_for(customer: Customer, name: str) -> Payer:
    name = csvio.collapse(name)
    if not name:
        raise DomainError("Name the payer the alias stands for.", field="payer_name")
    if len(name.lower()) > 200:
        raise DomainError("A payer name has at most 200 characters.", field="payer_name")
    payer, _ = Payer.objects.get_or_create(
        customer=customer, key=name.lower(), defaults={"name": name}
    )
    return payer


@transaction.atomic
def payer_alias_save(
    *,
    customer: Customer,
    raw_name: str,
    payer_name: str,
    actor: User | None,
    alias: PayerAlias | None = None,
) -> PayerAlias:
    """Create or change an alias (raw payer name → canonical payer); claims follow in a task."""
    _require(actor, "edit_mappings", customer)
    raw = csvio.collapse(raw_name or "")
    if not raw:
        raise DomainError("Give the raw payer name as it appears in your files.", field="raw_name")
    if len(raw.lower()) > 200:
        raise DomainError("A raw payer name has at most 200 characters.", field="raw_name")
    payer = _payer_for(customer, payer_name or "")
    if payer.key == raw.lower():
        raise DomainError("An alias must point at another payer name.", field="payer_name")
    alias = alias or PayerAlias(customer=customer)
    alias.raw_name, alias.raw_key, alias.payer = raw, raw.lower(), payer
    try:
        with transaction.atomic():
            alias.save()
    except IntegrityError as exc:
        if not _is_unique_violation(exc):
            raise
        raise Conflict(f"There is already an alias for {raw!r}.", field="raw_name") from exc
    record(
        action=Action.PAYER_ALIAS_SAVED,
        actor=actor,
        customer=customer,
        obj=alias,
        data={"raw": alias.raw_name, "payer": payer.name},
    )
    enqueue_once("portal.claims.tasks.renormalise_payers", customer.pk)
    return alias


@transaction.atomic
def payer_alias_delete(*, alias: PayerAlias, actor: User | None) -> None:
    _require(actor, "edit_mappings", alias.customer)
    record(
        action=Action.PAYER_ALIAS_DELETED,
        actor=actor,
        customer=alias.customer,
        obj=alias,
        data={"raw": alias.raw_name, "payer": alias.payer.name},
    )
    # the raw name becomes a payer of its own again, spelled as the alias spelled it
    Payer.objects.get_or_create(
        customer=alias.customer, key=alias.raw_key, defaults={"name": alias.raw_name}
    )
    alias.delete()
    enqueue_once("portal.claims.tasks.renormalise_payers", alias.customer_id)


def renormalise_payers(*, customer_id: int) -> int:
    """Point every claim at the payer its raw name means now (aliases first). Returns the number
    of claims that moved."""
    with transaction.atomic(), connection.cursor() as cursor:
        dashboard.invalidate(customer_id)  # payers change under the dashboard's numbers
        # claims whose raw name lost its alias need a payer of their own
        cursor.execute(
            """
            INSERT INTO claims_payer (customer_id, key, name, created_at, updated_at)
            SELECT DISTINCT ON (c.payer_key) c.customer_id, c.payer_key, c.payer_key, now(), now()
            FROM claims_claim c
            WHERE c.customer_id = %(c)s
              AND NOT EXISTS (SELECT 1 FROM claims_payeralias a
                              WHERE a.customer_id = %(c)s AND a.raw_key = c.payer_key)
              AND NOT EXISTS (SELECT 1 FROM claims_payer p
                              WHERE p.customer_id = %(c)s AND p.key = c.payer_key)
            ON CONFLICT (customer_id, key) DO NOTHING
            """,
            {"c": customer_id},
        )
        cursor.execute(
            """
            UPDATE claims_claim c
            SET payer_id = t.payer_id, updated_at = now()
            FROM (
                SELECT c2.id, coalesce(a.payer_id, p.id) AS payer_id
                FROM claims_claim c2
                LEFT JOIN claims_payeralias a ON a.customer_id = %(c)s AND a.raw_key = c2.payer_key
                LEFT JOIN claims_payer p ON p.customer_id = %(c)s AND p.key = c2.payer_key
                WHERE c2.customer_id = %(c)s
            ) t
            WHERE c.customer_id = %(c)s AND c.id = t.id AND c.payer_id IS DISTINCT FROM t.payer_id
            """,
            {"c": customer_id},
        )
        return cursor.rowcount


# -- CPT group overrides ------------------------------------------------------------------------


@transaction.atomic
def cpt_group_save(
    *,
    customer: Customer,
    cpt: str,
    group: str,
    actor: User | None,
    override: CptGroupOverride | None = None,
) -> CptGroupOverride:
    _require(actor, "edit_mappings", customer)
    code = normalise_cpt(cpt or "")
    if not is_valid_cpt(code):
        raise DomainError(f"{cpt!r} is not a CPT or HCPCS code.", field="cpt")
    group = csvio.collapse(group or "")
    if not group or len(group) > 32:
        raise DomainError("A group name has 1 to 32 characters.", field="group")
    override = override or CptGroupOverride(customer=customer)
    override.cpt, override.group = code, group
    try:
        with transaction.atomic():
            override.save()
    except IntegrityError as exc:
        if not _is_unique_violation(exc):
            raise
        raise Conflict(f"{code} already has a group of its own.", field="cpt") from exc
    record(
        action=Action.CPT_GROUP_SAVED,
        actor=actor,
        customer=customer,
        obj=override,
        data={"cpt": code, "group": group},
    )
    enqueue_once("portal.claims.tasks.regroup_cpts", customer.pk)
    return override


@transaction.atomic
def cpt_group_delete(*, override: CptGroupOverride, actor: User | None) -> None:
    _require(actor, "edit_mappings", override.customer)
    record(
        action=Action.CPT_GROUP_DELETED,
        actor=actor,
        customer=override.customer,
        obj=override,
        data={"cpt": override.cpt, "group": override.group},
    )
    override.delete()
    enqueue_once("portal.claims.tasks.regroup_cpts", override.customer_id)


def regroup_cpts(*, customer_id: int) -> int:
    """Give every claim of the customer the group its code has now. Returns claims changed."""
    overrides = dict(
        CptGroupOverride.objects.filter(customer_id=customer_id).values_list("cpt", "group")
    )
    with transaction.atomic(), connection.cursor() as cursor:
        dashboard.invalidate(customer_id)  # groups change under the dashboard's numbers
        cursor.execute(
            "SELECT DISTINCT cpt FROM claims_claim WHERE customer_id = %s", [customer_id]
        )
        groups = [(cpt, overrides.get(cpt) or default_group(cpt)) for (cpt,) in cursor.fetchall()]
        if not groups:
            return 0
        cursor.execute(
            """
            UPDATE claims_claim c SET cpt_group = g.grp, updated_at = now()
            FROM unnest(%s::text[], %s::text[]) AS g(cpt, grp)
            WHERE c.customer_id = %s AND c.cpt = g.cpt AND c.cpt_group <> g.grp
            """,
            [[g[0] for g in groups], [g[1] for g in groups], customer_id],
        )
        return cursor.rowcount
