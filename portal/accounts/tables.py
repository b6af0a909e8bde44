import django_tables2 as tables

from portal.accounts.models import Customer, Membership
from portal.core.tables import DateTimeColumn, TemplateColumn


class MembershipTable(tables.Table):
    email = tables.Column(accessor="user__email", verbose_name="E-mail", order_by=("user__email",))
    name = tables.Column(accessor="user__full_name", verbose_name="Name", default="—")
    role = tables.Column(order_by=("role_rank", "user__email"))
    created_at = DateTimeColumn(verbose_name="Member since", format="Y-m-d")
    actions = TemplateColumn(
        template_name="accounts/_member_actions.html", orderable=False, verbose_name=""
    )

    class Meta:
        model = Membership
        fields = ("email", "name", "role", "created_at", "actions")
        empty_text = "This customer has no members yet."
        attrs = {"class": "table", "id": "members-table"}
        row_attrs = {"data-member": lambda record: record.user.email}


class CustomerTable(tables.Table):
    name = tables.Column(linkify=("accounts:customer-home", {"slug": tables.A("slug")}))
    slug = tables.Column()
    member_count = tables.Column(verbose_name="Members")
    owner_count = tables.Column(verbose_name="Owners")
    created_at = DateTimeColumn(verbose_name="Created", format="Y-m-d")

    class Meta:
        model = Customer
        fields = ("name", "slug", "member_count", "owner_count", "created_at")
        empty_text = "No customers yet."
        attrs = {"class": "table", "id": "customers-table"}
        row_attrs = {"data-customer": lambda record: record.slug}


class ApiTokenTable(tables.Table):
    name = tables.Column()
    prefix = tables.Column(verbose_name="Starts with")
    user = tables.Column(accessor="user__email", verbose_name="Acts as", order_by=("user__email",))
    scope = tables.Column()
    created_at = DateTimeColumn(verbose_name="Created", format="Y-m-d")
    last_used_at = DateTimeColumn(verbose_name="Last used", format="Y-m-d H:i", default="never")
    expires_at = DateTimeColumn(verbose_name="Expires", format="Y-m-d", default="never")
    status = TemplateColumn(
        template_name="accounts/_token_status.html", orderable=False, verbose_name="Status"
    )

    class Meta:
        fields = (
            "name",
            "prefix",
            "user",
            "scope",
            "created_at",
            "last_used_at",
            "expires_at",
            "status",
        )
        empty_text = "No API tokens yet."
        attrs = {"class": "table", "id": "tokens-table"}
        row_attrs = {"data-token": lambda record: record.prefix}
