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

    UPLOAD_CREATED = "upload.created", "Uploaded claims"
    UPLOAD_COMPLETED = "upload.completed", "Imported claims"
    UPLOAD_FAILED = "upload.failed", "Claims import failed"
    CLAIMS_VIEWED = "claims.viewed", "Viewed claims"
    CLAIMS_EXPORTED = "claims.exported", "Exported claims"
    REJECTED_ROWS_VIEWED = "upload.rejected_rows_viewed", "Viewed rejected rows"
    REJECTED_ROWS_EXPORTED = "upload.rejected_rows_exported", "Downloaded rejected rows"
    PAYER_ALIAS_SAVED = "payer_alias.saved", "Saved a payer alias"
    PAYER_ALIAS_DELETED = "payer_alias.deleted", "Deleted a payer alias"
    CPT_GROUP_SAVED = "cpt_group.saved", "Saved a CPT group"
    CPT_GROUP_DELETED = "cpt_group.deleted", "Deleted a CPT group"
    DRIFT_RUN_REQUESTED = "drift_run.requested", "Requested a drift run"
    DETECTION_SETTINGS_SAVED = "detection_settings.saved", "Changed detection settings"

    ALERT_RULE_CREATED = "alert_rule.created", "Created an alert rule"
    ALERT_RULE_UPDATED = "alert_rule.updated", "Changed an alert rule"
    ALERT_RULE_ENABLED = "alert_rule.enabled", "Enabled an alert rule"
    ALERT_RULE_DISABLED = "alert_rule.disabled", "Disabled an alert rule"
    ALERT_RULE_DELETED = "alert_rule.deleted", "Deleted an alert rule"
    ALERT_TRIGGERED = "alert.triggered", "Raised an alert"
    ALERT_SUPPRESSED = "alert.suppressed", "Raised a suppressed alert"
    ALERT_ACKNOWLEDGED = "alert.acknowledged", "Acknowledged an alert"
    ALERT_RESOLVED = "alert.resolved", "Resolved an alert"
    ALERT_REOPENED = "alert.reopened", "Reopened an alert"
    ALERT_FEEDBACK_GIVEN = "alert.feedback_given", "Gave alert feedback"
    ALERT_FEEDBACK_CHANGED = "alert.feedback_changed", "Changed alert feedback"
    ALERT_NOTIFIED = "alert.notified", "E-mailed an alert"
    ALERT_NOTIFY_FAILED = "alert.notify_failed", "Failed to e-mail an alert"
    WEBHOOK_ENDPOINT_CREATED = "webhook_endpoint.created", "Created a webhook endpoint"
    WEBHOOK_ENDPOINT_UPDATED = "webhook_endpoint.updated", "Changed a webhook endpoint"
    WEBHOOK_ENDPOINT_DELETED = "webhook_endpoint.deleted", "Deleted a webhook endpoint"
    WEBHOOK_ENDPOINT_ENABLED = "webhook_endpoint.enabled", "Enabled a webhook endpoint"
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint.disabled", "Disabled a webhook endpoint"
    WEBHOOK_SECRET_ROTATED = "webhook_endpoint.secret_rotated", "Rotated a webhook secret"
    WEBHOOK_TEST_REQUESTED = "webhook_endpoint.test_requested", "Sent a test webhook"
    WEBHOOK_REPLAYED = "webhook_message.replayed", "Replayed a webhook message"
    WEBHOOK_SENT = "webhook.sent", "Sent a webhook"

    REPORT_REQUESTED = "report.requested", "Requested a report"
    REPORT_COMPLETED = "report.completed", "Generated a report"
    REPORT_FAILED = "report.failed", "Report generation failed"
    REPORT_DOWNLOADED = "report.downloaded", "Downloaded a report"
    REPORT_SETTINGS_SAVED = "report_settings.saved", "Changed report settings"
    REPORT_EMAILED = "report.emailed", "E-mailed a report"


class Outcome(models.TextChoices):
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"
    DENIED = "denied", "Denied"
