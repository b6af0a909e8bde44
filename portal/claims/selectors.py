"""Reads of the claims app. Every read takes the customer (or an object already scoped to one)."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import QuerySet

from portal.accounts.models import Customer
from portal.claims.cpt import DEFAULT_GROUPS
from portal.claims.models import Claim, CptGroupOverride, Payer, PayerAlias, RejectedRow, Upload

# -- claims ---------------------------------------------------------------------------------------


def claim_list(*, customer: Customer) -> QuerySet[Claim]:
    """The customer's claims, newest submission first, with their payer (one query per page)."""
    return (
        Claim.objects.filter(customer=customer)
        .select_related("payer")
        .order_by("-submitted_date", "-id")
    )


CLAIM_EXPORT_COLUMNS = [
    ("claim_id", "claim_id"),
    ("payer", "payer__name"),
    ("cpt", "cpt"),
    ("cpt_group", "cpt_group"),
    ("submitted_date", "submitted_date"),
    ("decided_date", "decided_date"),
    ("outcome", "outcome"),
    ("billed_amount", "billed_amount"),
    ("allowed_amount", "allowed_amount"),
    ("paid_amount", "paid_amount"),
    ("denial_reason_code", "denial_reason_code"),
    ("denial_reason_text", "denial_reason_text"),
    ("payment_date", "payment_date"),
]


def claim_export_rows(queryset: QuerySet[Claim]) -> Iterator[tuple]:
    """Plain tuples in ``CLAIM_EXPORT_COLUMNS`` order, streamed from a server-side cursor: memory
    stays flat whatever the number of claims."""
    fields = [lookup for _, lookup in CLAIM_EXPORT_COLUMNS]
    return queryset.values_list(*fields).iterator(chunk_size=2000)


# -- uploads --------------------------------------------------------------------------------------


def upload_list(*, customer: Customer) -> QuerySet[Upload]:
    return (
        Upload.objects.filter(customer=customer)
        .select_related("uploaded_by")
        .order_by("-created_at", "-id")
    )


def upload_get(*, customer: Customer, pk: int) -> Upload:
    """One upload of the customer, or ``Upload.DoesNotExist`` (another customer's is a 404)."""
    return upload_list(customer=customer).get(pk=pk)


def rejected_rows(*, upload: Upload, kind: str | None = None) -> QuerySet[RejectedRow]:
    """The rejected rows (and warnings) of one upload, in file order; ``kind`` narrows to one."""
    rows = RejectedRow.objects.filter(customer_id=upload.customer_id, upload=upload)
    if kind:
        rows = rows.filter(kind=kind)
    return rows.order_by("row_number", "id")


# -- payers, aliases, CPT groups ------------------------------------------------------------------


def payer_list(*, customer: Customer) -> QuerySet[Payer]:
    return Payer.objects.filter(customer=customer).order_by("name", "id")


def payer_alias_list(*, customer: Customer) -> QuerySet[PayerAlias]:
    return (
        PayerAlias.objects.filter(customer=customer)
        .select_related("payer")
        .order_by("raw_name", "id")
    )


def payer_alias_get(*, customer: Customer, pk: int) -> PayerAlias:
    return payer_alias_list(customer=customer).select_related("customer").get(pk=pk)


def cpt_group_list(*, customer: Customer) -> QuerySet[CptGroupOverride]:
    """The customer's own CPT group overrides."""
    return CptGroupOverride.objects.filter(customer=customer).order_by("cpt", "id")


def cpt_group_get(*, customer: Customer, pk: int) -> CptGroupOverride:
    return cpt_group_list(customer=customer).select_related("customer").get(pk=pk)


def cpt_group_names(*, customer: Customer | None) -> list[str]:
    """Every group a claim of the customer can be in: the default sections plus the customer's
    own override groups. Read from the small overrides table, never by scanning the claims."""
    names = set(DEFAULT_GROUPS)
    if customer is not None:
        names.update(cpt_group_list(customer=customer).values_list("group", flat=True).distinct())
    return sorted(names, key=str.casefold)
