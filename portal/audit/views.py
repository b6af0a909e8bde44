from portal.audit.filters import AuditEventFilter
from portal.audit.selectors import audit_events_all, audit_events_for_customer
from portal.audit.tables import AuditEventTable
from portal.core.views import CustomerMixin, StaffRequiredMixin, TableView


class CustomerAuditView(CustomerMixin, TableView):
    """A customer's audit log (admins and owners)."""

    permission = "accounts.view_audit_log"
    table_class = AuditEventTable
    filterset_class = AuditEventFilter
    template_name = "audit/event_list.html"
    paginate_by = 50
    keyset = True

    def get_queryset(self):
        return audit_events_for_customer(customer=self.customer)


class StaffAuditView(StaffRequiredMixin, TableView):
    """Every customer's audit log (staff)."""

    table_class = AuditEventTable
    filterset_class = AuditEventFilter
    template_name = "audit/event_list.html"
    paginate_by = 50
    keyset = True

    def get_queryset(self):
        return audit_events_all()
