"""The one ingestion path (PRODUCT §3.1): portal, API and command all end here.

How a file becomes claims:

1. The file is read as a stream (``csvio.open_text``): bytes are counted and hashed as they pass,
   gzip is unpacked on the fly, and no more than one row is held at a time.
2. Each row is validated and normalised in Python (``csvio.ClaimRowParser``). Parsed rows go in
   chunks of 20,000 to a loader thread that works on the import's own connection and
   transaction, so PostgreSQL stores one chunk while Python parses the next (two cores, both
   busy).
3. A chunk of brand-new claims (every row with a claim_id, none known yet) is COPYed straight
   into the claims table: the fast path of a first import. Anything else (claims that exist,
   rows without claim_id, a claim_id repeated in the chunk) goes through a temporary staging
   table and set-based SQL: existing claims are updated only where something changed, new ones
   inserted, rows without claim_id keyed by a content hash (``ON CONFLICT DO NOTHING``). A
   claim_id repeated in one file: the last row wins. So a second import of the same file
   changes nothing. Rejected rows and warnings are recorded with their row numbers.
4. The whole upload commits, or nothing does. Imports for one customer take an advisory lock,
   so two concurrent uploads of the same file serialise instead of duplicating claims.

Progress is written by a separate autocommit connection, so it is visible while the import's own
transaction is still open.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

import psycopg
from django.db import connection, transaction
from django.utils import timezone

from portal.claims import csvio
from portal.claims.models import Upload, UploadStatus

log = logging.getLogger(__name__)
PROGRESS_EVERY_SECONDS = 0.5
ADVISORY_NAMESPACE = 7_301  # pg_advisory_xact_lock(namespace, customer_id): claims upserts


@dataclass
class IngestResult:
    rows_total: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    warnings: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    phi_columns: list[str] = field(default_factory=list)
    size_bytes: int = 0
    sha256: str = ""

    @property
    def status(self) -> str:
        accepted = self.rows_total - self.rejected
        if self.rows_total and accepted == 0:
            return UploadStatus.FAILED
        return UploadStatus.PARTIAL if self.rejected else UploadStatus.SUCCEEDED


class ProgressWriter:
    """Writes ``rows_processed``/``bytes_processed`` of an upload on its own connection."""

    def __init__(self, upload_id: int, on_progress: Callable[[int, int], None] | None = None):
        self.upload_id = upload_id
        self.on_progress = on_progress
        self._conn: psycopg.Connection | None = None
        self._last = 0.0

    def __call__(self, rows: int, bytes_read: int, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < PROGRESS_EVERY_SECONDS:
            return
        self._last = now
        if self.on_progress:
            self.on_progress(rows, bytes_read)
        try:
            if self._conn is None:
                params = connection.get_connection_params()
                params.pop("cursor_factory", None)
                self._conn = psycopg.connect(**params, autocommit=True)
            self._conn.execute(
                "UPDATE claims_upload SET rows_processed = %s, bytes_processed = %s WHERE id = %s",
                [rows, bytes_read, self.upload_id],
            )
        except psycopg.Error:  # progress is a courtesy: never fail an import over it
            log.warning("could not write upload progress", exc_info=True)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


_STAGING_DDL = """
CREATE TEMP TABLE claims_staging (
    row_number integer NOT NULL,
    claim_id text,
    payer_name text,
    payer_key text,
    cpt text,
    cpt_group text,
    submitted_date date,
    decided_date date,
    outcome text,
    billed_amount numeric(12, 2),
    allowed_amount numeric(12, 2),
    paid_amount numeric(12, 2),
    denial_reason_code text,
    denial_reason_text text,
    payment_date date,
    issue_kind text,
    issue_column text,
    issue_value text,
    issue_reason text,
    claim_pk bigint
) ON COMMIT DROP
"""

_RECORD_ISSUES = """
INSERT INTO claims_rejectedrow
    (customer_id, upload_id, row_number, kind, "column", value, reason, created_at, updated_at)
SELECT %(customer)s, %(upload)s, row_number, issue_kind, coalesce(issue_column, ''),
       coalesce(left(issue_value, 200), ''), left(issue_reason, 300), now(), now()
FROM claims_staging
WHERE issue_kind IS NOT NULL
"""

_COUNT = """
SELECT count(*),
       count(*) FILTER (WHERE issue_kind = 'rejected'),
       count(*) FILTER (WHERE issue_kind = 'warning')
FROM claims_staging
"""

_CREATE_PAYERS = """
WITH first_seen AS (
    SELECT payer_key, min(row_number) AS row_number
    FROM claims_staging
    WHERE issue_kind IS DISTINCT FROM 'rejected'
    GROUP BY payer_key
)
INSERT INTO claims_payer (customer_id, key, name, created_at, updated_at)
SELECT %(customer)s, s.payer_key, s.payer_name, now(), now()
FROM first_seen f JOIN claims_staging s ON s.row_number = f.row_number
WHERE NOT EXISTS (SELECT 1 FROM claims_payer p
                  WHERE p.customer_id = %(customer)s AND p.key = f.payer_key)
  AND NOT EXISTS (SELECT 1 FROM claims_payeralias a
                  WHERE a.customer_id = %(customer)s AND a.raw_key = f.payer_key)
ON CONFLICT (customer_id, key) DO NOTHING
"""

# The claim columns an upsert writes, and the expression each takes from the staging row.
_VALUES = """
    %(customer)s AS customer_id,
    s.claim_id,
    CASE WHEN s.claim_id IS NULL THEN md5(jsonb_build_array(  -- NULLs and text stay distinct
        s.payer_key, s.cpt, s.submitted_date, s.decided_date, s.outcome, s.billed_amount,
        s.allowed_amount, s.paid_amount, s.denial_reason_code, s.denial_reason_text,
        s.payment_date)::text)::uuid END AS content_hash,
    coalesce(a.payer_id, p.id) AS payer_id,
    s.payer_key, s.cpt,
    coalesce(o."group", s.cpt_group) AS cpt_group,
    s.submitted_date, s.decided_date, s.outcome,
    s.billed_amount, s.allowed_amount, s.paid_amount,
    coalesce(s.denial_reason_code, '') AS denial_reason_code,
    coalesce(s.denial_reason_text, '') AS denial_reason_text,
    s.payment_date,
    %(upload)s AS upload_id, now() AS created_at, now() AS updated_at
"""
# Each lookup is a probe of a unique index per row (LATERAL … LIMIT 1 is never turned into a
# join that reads a whole table, whatever the statistics of tables written in this transaction).
_FROM = """
FROM claims_staging s
LEFT JOIN LATERAL (SELECT a.payer_id FROM claims_payeralias a
                   WHERE a.customer_id = %(customer)s AND a.raw_key = s.payer_key LIMIT 1) a ON true
LEFT JOIN LATERAL (SELECT p.id FROM claims_payer p
                   WHERE p.customer_id = %(customer)s AND p.key = s.payer_key LIMIT 1) p ON true
LEFT JOIN LATERAL (SELECT o."group" FROM claims_cptgroupoverride o
                   WHERE o.customer_id = %(customer)s AND o.cpt = s.cpt LIMIT 1) o ON true
WHERE s.issue_kind IS DISTINCT FROM 'rejected'
"""
_COLUMNS = """customer_id, claim_id, content_hash, payer_id, payer_key, cpt, cpt_group,
    submitted_date, decided_date, outcome, billed_amount, allowed_amount, paid_amount,
    denial_reason_code, denial_reason_text, payment_date, upload_id, created_at, updated_at"""
_DATA = [
    "payer_id", "payer_key", "cpt", "cpt_group", "submitted_date", "decided_date", "outcome",
    "billed_amount", "allowed_amount", "paid_amount", "denial_reason_code", "denial_reason_text",
    "payment_date",
]  # fmt: skip

# Claims with a claim_id, in one statement: the latest row of each claim_id in the chunk looks up
# its claim (one probe of the unique index), existing claims are updated only where something
# changed, and the new ones are inserted. The advisory lock makes this import the only writer of
# the customer's claims, so a plain INSERT is safe (and the unique index still guards it).
_UPSERT_KEYED = f"""
WITH latest AS MATERIALIZED (
    SELECT c.id AS claim_pk,
           c.id IS NOT NULL AND ({", ".join(f"c.{col}" for col in _DATA)})
               IS DISTINCT FROM ({", ".join(f"v.{col}" for col in _DATA)}) AS changed,
           v.*
    FROM (
        SELECT DISTINCT ON (s.claim_id) {_VALUES}, s.row_number {_FROM} AND s.claim_id IS NOT NULL
        ORDER BY s.claim_id, s.row_number DESC  -- a claim_id repeated in a file: the last row wins
    ) v
    LEFT JOIN LATERAL (
        SELECT * FROM claims_claim c
        WHERE c.customer_id = %(customer)s AND c.claim_id = v.claim_id
        LIMIT 1  -- keeps the lookup a probe per row: never flattened into a join over all claims
    ) c ON true
), updated AS (
    UPDATE claims_claim c SET
        {", ".join(f"{col} = v.{col}" for col in _DATA)}, upload_id = v.upload_id,
        updated_at = now()
    FROM latest v
    WHERE v.changed AND c.id = v.claim_pk
    RETURNING 1
), inserted AS (
    INSERT INTO claims_claim ({_COLUMNS})
    SELECT {_COLUMNS} FROM latest v WHERE v.claim_pk IS NULL
    RETURNING 1
)
SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM updated)
"""

_PROBE_PLANS_ONLY = "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off"
_ANY_PLANS = "RESET enable_hashjoin; RESET enable_mergejoin"

_DIRECT_COLUMNS = """customer_id, claim_id, payer_id, payer_key, cpt, cpt_group, submitted_date,
    decided_date, outcome, billed_amount, allowed_amount, paid_amount, denial_reason_code,
    denial_reason_text, payment_date, upload_id, created_at, updated_at"""
_ISSUE_COLUMNS = (
    'customer_id, upload_id, row_number, kind, "column", value, reason, created_at, updated_at'
)
_INSERT_BY_CONTENT = f"""
WITH inserted AS (
    INSERT INTO claims_claim ({_COLUMNS})
    SELECT DISTINCT ON (content_hash) * FROM (SELECT {_VALUES} {_FROM} AND s.claim_id IS NULL) v
    ORDER BY content_hash
    ON CONFLICT (customer_id, content_hash) WHERE claim_id IS NULL DO NOTHING
    RETURNING 1
)
SELECT count(*) FROM inserted
"""


def ingest(
    *, upload: Upload, raw: BinaryIO, on_progress: Callable[[int, int], None] | None = None
) -> IngestResult:
    """Import one file for ``upload.customer`` in one transaction; raise ``csvio.FileProblem`` if
    the file as a whole is unusable (nothing is then written)."""
    progress = ProgressWriter(upload.pk, on_progress)
    try:
        with transaction.atomic():
            result = _ingest(upload, raw, progress)
        return result
    finally:
        progress.close()


def _ingest(upload: Upload, raw: BinaryIO, progress: ProgressWriter) -> IngestResult:
    counter, text = csvio.open_text(raw)
    rows = csvio.iter_rows(text)
    try:
        first = next(rows)
    except StopIteration:
        raise csvio.FileProblem("The file is empty: expected a header row and claims.") from None
    csvio.sniff_not_csv(first)
    header = csvio.read_header(first)
    parse = csvio.ClaimRowParser(header).parse

    connection.ensure_connection()
    loader = _ChunkLoader(connection.connection, upload)
    loader.start()
    row_number = rows_total = 0  # row numbers count blank lines too, as a spreadsheet does
    chunk: list[tuple] = []
    try:
        for row in rows:
            row_number += 1
            if not row:  # a blank line: nothing to import, nothing to report
                continue
            rows_total += 1
            chunk.append(parse(row_number, row))
            if len(chunk) == CHUNK_ROWS:
                loader.put(chunk)
                chunk = []
                progress(rows_total, counter.bytes_read)
        if chunk:
            loader.put(chunk)
    finally:
        counts = loader.finish()
    progress(rows_total, counter.bytes_read, force=True)
    if rows_total == 0:
        raise csvio.FileProblem("The file has a header but no claim rows.")
    return IngestResult(
        rows_total=rows_total,
        inserted=counts.inserted,
        updated=counts.updated,
        unchanged=rows_total - counts.rejected - counts.inserted - counts.updated,
        rejected=counts.rejected,
        warnings=counts.warnings,
        ignored_columns=header.ignored,
        phi_columns=header.phi,
        size_bytes=counter.bytes_read,
        sha256=counter.sha256.hexdigest(),
    )


CHUNK_ROWS = 20_000


@dataclass
class _Counts:
    inserted: int = 0
    updated: int = 0
    rejected: int = 0
    warnings: int = 0


class _ChunkLoader(threading.Thread):
    """Loads parsed chunks on the import's own connection and transaction, in a thread, so that
    PostgreSQL upserts one chunk while Python parses the next (two cores, both busy).

    The main thread only parses; this thread alone talks to the database until ``finish``.
    An error here stops the import: ``put`` and ``finish`` re-raise it in the main thread.
    """

    def __init__(self, pg: psycopg.Connection, upload: Upload) -> None:
        super().__init__(name=f"claims-loader-{upload.pk}", daemon=True)
        self.pg = pg
        self.params = {"customer": upload.customer_id, "upload": upload.pk}
        self.queue: queue.Queue[list[tuple] | None] = queue.Queue(maxsize=2)
        self.counts = _Counts()
        self.error: BaseException | None = None
        self.fast = True
        self._columns = ", ".join(csvio.STAGING_COLUMNS)

    def run(self) -> None:
        try:
            with self.pg.cursor() as cursor:
                # (a caller's outer transaction may hold one from an earlier import)
                cursor.execute("DROP TABLE IF EXISTS claims_staging")
                cursor.execute(_STAGING_DDL)
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s, %s)",
                    [ADVISORY_NAMESPACE, self.params["customer"]],
                )
                # short statements, many of them: compiling them (JIT) costs more than it saves
                cursor.execute("SET LOCAL jit = off")
                self._read_mappings(cursor)
                while (chunk := self.queue.get()) is not None:
                    if not (self.fast and self._load_direct(cursor, chunk)):
                        self._load_staged(cursor, chunk)
        except BaseException as exc:  # handed to the main thread
            self.error = exc
            while self.queue.get() is not None:  # let the producer finish quickly
                pass

    def _read_mappings(self, cursor) -> None:
        customer = self.params["customer"]
        cursor.execute(
            "SELECT raw_key, payer_id FROM claims_payeralias WHERE customer_id = %s", [customer]
        )
        self.aliases: dict[str, int] = dict(cursor.fetchall())
        cursor.execute("SELECT key, id FROM claims_payer WHERE customer_id = %s", [customer])
        self.payers: dict[str, int] = dict(cursor.fetchall())
        cursor.execute(
            'SELECT cpt, "group" FROM claims_cptgroupoverride WHERE customer_id = %s', [customer]
        )
        self.overrides: dict[str, str] = dict(cursor.fetchall())

    # -- the fast path: brand-new claims go straight into the claims table ------------------------

    def _load_direct(self, cursor, chunk: list[tuple]) -> bool:
        """COPY a chunk of new claims (all with a claim_id) straight into ``claims_claim``.

        Returns False, having written nothing, when the chunk needs the staged path: rows
        without a claim_id (content hashes are computed in SQL), or a claim_id that exists
        already or repeats (the unique index refuses the COPY, and a savepoint undoes it).
        """
        accepted = [t for t in chunk if t[15] != "rejected"]
        if any(t[1] is None for t in accepted):
            self.fast = False
            return False
        payer_of = self._payer_ids(cursor, accepted)
        customer, upload = self.params["customer"], self.params["upload"]
        now = timezone.now()
        group_of = self.overrides.get
        claims = [
            (
                customer, t[1], payer_of[t[3]], t[3], t[4], group_of(t[4], t[5]), t[6], t[7],
                t[8], t[9], t[10], t[11], t[12] or "", t[13] or "", t[14], upload, now, now,
            )
            for t in accepted
        ]  # fmt: skip
        cursor.execute("SAVEPOINT claims_chunk")
        try:
            with cursor.copy(f"COPY claims_claim ({_DIRECT_COLUMNS}) FROM STDIN") as copy:
                for claim in claims:
                    copy.write_row(claim)
        except psycopg.errors.UniqueViolation:
            cursor.execute("ROLLBACK TO SAVEPOINT claims_chunk")
            self.fast = False  # this file updates claims: stay on the careful path
            return False
        cursor.execute("RELEASE SAVEPOINT claims_chunk")
        issues = [
            (customer, upload, t[0], t[15], t[16] or "", (t[17] or "")[:200], t[18][:300], now, now)
            for t in chunk
            if t[15] is not None
        ]
        if issues:
            with cursor.copy(f"COPY claims_rejectedrow ({_ISSUE_COLUMNS}) FROM STDIN") as copy:
                for issue in issues:
                    copy.write_row(issue)
        rejected = len(chunk) - len(accepted)
        self.counts.inserted += len(claims)
        self.counts.rejected += rejected
        self.counts.warnings += len(issues) - rejected
        return True

    def _payer_ids(self, cursor, accepted: list[tuple]) -> dict[str, int]:
        """payer key → payer id for a chunk: aliases first, new payers created (first spelling)."""
        new: dict[str, str] = {}
        for t in accepted:
            key = t[3]
            if key not in self.payers and key not in self.aliases and key not in new:
                new[key] = t[2]
        if new:
            cursor.execute(
                """
                INSERT INTO claims_payer (customer_id, key, name, created_at, updated_at)
                SELECT %s, k, n, now(), now() FROM unnest(%s::text[], %s::text[]) AS u(k, n)
                ON CONFLICT (customer_id, key) DO NOTHING
                """,
                [self.params["customer"], list(new), list(new.values())],
            )
            cursor.execute(
                "SELECT key, id FROM claims_payer WHERE customer_id = %s AND key = ANY(%s)",
                [self.params["customer"], list(new)],
            )
            self.payers.update(cursor.fetchall())
        return {**self.payers, **self.aliases}

    # -- the careful path: staging table and set-based upserts ----------------------------------

    def _load_staged(self, cursor, chunk: list[tuple]) -> None:
        cursor.execute("TRUNCATE claims_staging")
        with cursor.copy(f"COPY claims_staging ({self._columns}) FROM STDIN") as copy:
            for values in chunk:
                copy.write_row(values)
        cursor.execute(_RECORD_ISSUES, self.params)
        cursor.execute(_COUNT)
        _, rejected, warnings = cursor.fetchone()
        cursor.execute(_CREATE_PAYERS, self.params)
        # Built for index probes of one chunk's rows, driven by the chunk. Statistics of a table
        # just written in this transaction mislead the planner into reading all of the
        # customer's claims (hash join, or a nested loop around the wrong side), so say it.
        cursor.execute(_PROBE_PLANS_ONLY)
        cursor.execute(_UPSERT_KEYED, self.params)
        inserted, updated = cursor.fetchone()
        cursor.execute(_ANY_PLANS)
        cursor.execute(_INSERT_BY_CONTENT, self.params)
        (inserted_by_content,) = cursor.fetchone()
        counts = self.counts
        counts.inserted += inserted + inserted_by_content
        counts.updated += updated
        counts.rejected += rejected
        counts.warnings += warnings

    def put(self, chunk: list[tuple]) -> None:
        while True:
            if self.error is not None:
                raise self.error
            try:
                self.queue.put(chunk, timeout=0.5)
                return
            except queue.Full:
                continue

    def finish(self) -> _Counts:
        self.queue.put(None)
        self.join()
        if self.error is not None:
            raise self.error
        return self.counts


def mark(upload: Upload, **fields) -> None:
    """Update an upload outside any import transaction (status changes, failures)."""
    for name, value in fields.items():
        setattr(upload, name, value)
    Upload.objects.filter(pk=upload.pk).update(**fields, updated_at=timezone.now())
