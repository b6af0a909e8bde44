"""The one vocabulary of audit actions: dotted names, ``<object>.<verb>``.

Add a name here before recording it; ``record()`` refuses names it does not know, so the audit
table stays filterable by a closed list.
"""

from django.db import models


class Action(models.TextChoices):
    LOGIN = "auth.login", "Logged in"
    LOGIN_FAILED = "auth.login_failed", "Failed login"
    LOGOUT = "auth.logout", "Logged out"
    LOCKED_OUT = "auth.locked_out", "Locked out after failed logins"
    PASSWORD_CHANGED = "auth.password_changed", "Changed password"

    CUSTOMER_CREATED = "customer.created", "Created a customer"
    MEMBER_ADDED = "membership.added", "Added a member"
    MEMBER_ROLE_CHANGED = "membership.role_changed", "Changed a member's role"
    MEMBER_REMOVED = "membership.removed", "Removed a member"

    TOKEN_CREATED = "api_token.created", "Created an API token"
    TOKEN_REVOKED = "api_token.revoked", "Revoked an API token"
    TOKEN_USED = "api_token.used", "Used an API token"


class Outcome(models.TextChoices):
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"
    DENIED = "denied", "Denied"
