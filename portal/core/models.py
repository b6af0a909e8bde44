"""Shared base models."""

from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class TenantModel(TimeStampedModel):
    """A row that belongs to exactly one customer.

    Every tenant table carries ``customer_id`` and every unique constraint and hot index on it
    starts with that column, so the tables can later be distributed by customer (PRODUCT §11:
    Citus).
    """

    customer = models.ForeignKey(
        "accounts.Customer",
        on_delete=models.CASCADE,
        related_name="%(class)s_set",
        related_query_name="%(class)s",
        db_index=False,  # covered by the composite indexes that start with customer_id
    )

    class Meta:
        abstract = True
