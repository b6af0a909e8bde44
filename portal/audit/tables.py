import django_tables2 as tables
from django.utils.html import format_html

from portal.audit.actions import Action
from portal.audit.models import AuditEvent
from portal.core.tables import DateTimeColumn

# action → label, built once (``Action.values`` lists every member on every call)
_LABELS = dict(Action.choices)


class AuditEventTable(tables.Table):
    created_at = DateTimeColumn(
        verbose_name="When", format="Y-m-d H:i:s", attrs={"td": {"class": "nowrap"}}
    )
    actor_email = tables.Column(verbose_name="Who", default="system")
    action = tables.Column(verbose_name="What")
    outcome = tables.Column()
    target = tables.Column(
        verbose_name="On", accessor="object_type", orderable=False, empty_values=()
    )
    ip = tables.Column(verbose_name="From", default="—")
    request_id = tables.Column(verbose_name="Request", orderable=False, default="—")

    class Meta:
        model = AuditEvent
        fields = ("created_at", "actor_email", "action", "outcome", "target", "ip", "request_id")
        empty_text = "Nothing has been audited yet."
        attrs = {"class": "table", "id": "audit-table"}
        row_attrs = {"data-action": lambda record: record.action}

    def render_target(self, record):
        return f"{record.object_type} #{record.object_id}" if record.object_type else "—"

    def render_request_id(self, value):
        return format_html('<span title="{}">{}…</span>', value, value[:8])

    def render_action(self, record):
        return f"{_LABELS.get(record.action, record.action)} ({record.action})"
