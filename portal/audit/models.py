"""The append-only audit log (PRODUCT §10).

The application only ever inserts; a database trigger (migration 0002) rejects UPDATE and DELETE.
Foreign keys carry no database constraint and cascade nothing: deleting a user or a customer must
not rewrite history, so the rows keep their ids and a snapshot of the actor's e-mail.
"""

from django.conf import settings
from django.db import models

from portal.audit.actions import Outcome


class AuditEvent(models.Model):
    # rows are only ever added (a database trigger refuses UPDATE and DELETE): a list's count
    # only grows, which ``core.keyset.capped_count`` relies on
    append_only = True

    created_at = models.DateTimeField(auto_now_add=True)
    customer = models.ForeignKey(
        "accounts.Customer",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_email = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=64)  # one of audit.actions.Action, checked by record()
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # the id too: a keyset page of the log, (created_at, id) < (…, …), is then an index
            # range that starts at the cursor, however deep (not a scan from the newest row)
            models.Index(
                fields=["customer", "-created_at", "-id"], name="audit_customer_created_id"
            ),
            models.Index(
                fields=["customer", "action", "-created_at"], name="audit_customer_action"
            ),
            models.Index(fields=["-created_at", "-id"], name="audit_created_id"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(outcome__in=Outcome.values), name="audit_outcome_known"
            )
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_email or 'system'} {self.action}"
