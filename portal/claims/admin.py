"""Back office for the claims app (PRODUCT §8). Claims and row issues are read-only: they change
only through uploads, and the claims table holds millions of rows (no full counts)."""

from django.contrib import admin

from portal.claims import services
from portal.claims.cpt import DEFAULT_GROUPS
from portal.claims.models import Claim, CptGroupOverride, Payer, PayerAlias, RejectedRow, Upload


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CptGroupFilter(admin.SimpleListFilter):
    """The groups a claim can be in, from the small tables: never ``DISTINCT`` over the claims."""

    title = "CPT group"
    parameter_name = "cpt_group"

    def lookups(self, request, model_admin):
        groups = set(DEFAULT_GROUPS) | set(
            CptGroupOverride.objects.values_list("group", flat=True).distinct()
        )
        return [(group, group) for group in sorted(groups, key=str.casefold)]

    def queryset(self, request, queryset):
        return queryset.filter(cpt_group=self.value()) if self.value() else queryset


@admin.register(Payer)
class PayerAdmin(admin.ModelAdmin):
    list_display = ("name", "key", "customer", "created_at")
    list_filter = ("customer",)
    search_fields = ("name", "key", "customer__slug")
    date_hierarchy = "created_at"
    list_select_related = ("customer",)
    readonly_fields = ("customer", "key", "created_at", "updated_at")


@admin.register(PayerAlias)
class PayerAliasAdmin(admin.ModelAdmin):
    """Aliases are changed in the portal; deleting one here goes through the service, which
    re-normalises the customer's claims."""

    list_display = ("raw_name", "payer", "customer", "updated_at")
    list_filter = ("customer",)
    search_fields = ("raw_name", "payer__name", "customer__slug")
    date_hierarchy = "created_at"
    list_select_related = ("customer", "payer")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        services.payer_alias_delete(alias=obj, actor=None)

    def delete_queryset(self, request, queryset):
        for alias in queryset.select_related("customer", "payer"):
            services.payer_alias_delete(alias=alias, actor=None)


@admin.register(CptGroupOverride)
class CptGroupOverrideAdmin(admin.ModelAdmin):
    """Overrides are changed in the portal; deleting one here goes through the service, which
    re-groups the customer's claims."""

    list_display = ("cpt", "group", "customer", "updated_at")
    list_filter = ("customer", "group")  # a small table
    search_fields = ("cpt", "group", "customer__slug")
    date_hierarchy = "created_at"
    list_select_related = ("customer",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        services.cpt_group_delete(override=obj, actor=None)

    def delete_queryset(self, request, queryset):
        for override in queryset.select_related("customer"):
            services.cpt_group_delete(override=override, actor=None)


@admin.register(Upload)
class UploadAdmin(ReadOnlyAdmin):
    list_display = (
        "file_name",
        "customer",
        "status",
        "rows_total",
        "inserted",
        "updated",
        "unchanged",
        "rejected",
        "source",
        "uploaded_by",
        "created_at",
    )
    list_filter = ("status", "source", "customer")
    search_fields = ("file_name", "sha256", "customer__slug")
    date_hierarchy = "created_at"
    list_select_related = ("customer", "uploaded_by")


@admin.register(RejectedRow)
class RejectedRowAdmin(ReadOnlyAdmin):
    list_display = ("upload", "row_number", "kind", "column", "value", "reason", "customer")
    list_filter = ("kind", "customer")
    search_fields = ("reason", "column")
    list_select_related = ("upload", "customer")
    show_full_result_count = False
    raw_id_fields = ("upload",)


@admin.register(Claim)
class ClaimAdmin(ReadOnlyAdmin):
    list_display = (
        "claim_id",
        "customer",
        "payer",
        "cpt",
        "cpt_group",
        "submitted_date",
        "decided_date",
        "outcome",
        "billed_amount",
        "allowed_amount",
        "paid_amount",
        "denial_reason_code",
    )
    list_filter = ("outcome", CptGroupFilter, "customer")
    search_fields = ("=claim_id",)  # exact: answered by the claim_id index, not a scan
    date_hierarchy = "submitted_date"
    list_select_related = ("customer", "payer")
    show_full_result_count = False
    raw_id_fields = ("payer", "upload")
