"""The role vocabulary: which customer permissions each role holds (PRODUCT §2).

A role is a named set of django-guardian object permissions on the ``Customer``. Roles are
cumulative: every role holds the permissions of the roles below it.
"""

from django.db import models


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    ANALYST = "analyst", "Analyst"
    ADMIN = "admin", "Admin"
    OWNER = "owner", "Owner"


RANK = {Role.VIEWER: 0, Role.ANALYST: 1, Role.ADMIN: 2, Role.OWNER: 3}

# (codename, description, lowest role that holds it)
PERMISSIONS: list[tuple[str, str, Role]] = [
    ("view_customer_data", "See dashboard, claims, payers, drift, alerts and reports", Role.VIEWER),
    ("upload_claims", "Upload claims", Role.ANALYST),
    ("edit_mappings", "Edit payer aliases and CPT groups", Role.ANALYST),
    ("run_detection", "Run drift detection", Role.ANALYST),
    ("generate_reports", "Generate reports", Role.ANALYST),
    ("give_feedback", "Give alert feedback", Role.ANALYST),
    ("manage_alert_rules", "Manage alert rules", Role.ADMIN),
    ("manage_webhooks", "Manage webhook endpoints", Role.ADMIN),
    ("manage_api_tokens", "Manage API tokens", Role.ADMIN),
    ("manage_detection_settings", "Manage detection settings", Role.ADMIN),
    ("manage_members", "Manage members below owner", Role.ADMIN),
    ("view_audit_log", "See the customer's audit log", Role.ADMIN),
    ("manage_owners", "Manage owners", Role.OWNER),
]


def permissions_for(role: str | None) -> set[str]:
    """The permission codenames a role holds (empty for no role)."""
    if role is None:
        return set()
    rank = RANK[Role(role)]
    return {codename for codename, _, lowest in PERMISSIONS if RANK[lowest] <= rank}


def outranks_or_equals(role: str, other: str) -> bool:
    return RANK[Role(role)] >= RANK[Role(other)]
