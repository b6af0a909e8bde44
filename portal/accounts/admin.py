"""Back office for customers, users and memberships (PRODUCT §8).

Memberships edited here go through the membership service, so guardian permissions stay in step.
Customer object permissions are also visible and editable through guardian's admin integration.
"""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from guardian.admin import GuardedModelAdmin

from portal.accounts import services
from portal.accounts.models import (
    ApiToken,
    Customer,
    CustomerGroupObjectPermission,
    CustomerUserObjectPermission,
    Membership,
    User,
)
from portal.core.exceptions import DomainError


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("user", "role", "created_at")
    readonly_fields = ("user", "role", "created_at")
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Customer)
class CustomerAdmin(GuardedModelAdmin):
    list_display = ("name", "slug", "member_count", "created_at")
    search_fields = ("name", "slug")
    list_filter = ("created_at",)
    date_hierarchy = "created_at"
    readonly_fields = ("created_at",)
    inlines = [MembershipInline]

    @admin.display(description="Members")
    def member_count(self, obj):
        return obj.membership_set.count()


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "full_name", "is_staff", "is_superuser", "is_active", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active", "date_joined")
    search_fields = ("email", "full_name")
    date_hierarchy = "date_joined"
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("full_name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    filter_horizontal = ("groups",)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "customer", "role", "created_at")
    list_filter = ("role", "customer")
    search_fields = ("user__email", "customer__name", "customer__slug")
    date_hierarchy = "created_at"
    list_select_related = ("user", "customer")
    autocomplete_fields = ("user", "customer")

    def get_readonly_fields(self, request, obj=None):
        return ("customer", "user") if obj else ()

    def save_model(self, request, obj, form, change):
        """Route every change through the membership service (guardian stays in step)."""
        try:
            if change:
                services.membership_change_role(
                    membership=Membership.objects.get(pk=obj.pk), role=obj.role, actor=None
                )
            else:
                services.membership_add(
                    customer=obj.customer, email=obj.user.email, role=obj.role, actor=None
                )
        except DomainError as exc:
            self.message_user(request, exc.message, level=messages.ERROR)

    def delete_model(self, request, obj):
        try:
            services.membership_remove(membership=obj, actor=None)
        except DomainError as exc:
            self.message_user(request, exc.message, level=messages.ERROR)

    def delete_queryset(self, request, queryset):
        for membership in queryset.select_related("customer", "user"):
            self.delete_model(request, membership)


@admin.register(CustomerUserObjectPermission)
class CustomerUserObjectPermissionAdmin(admin.ModelAdmin):
    list_display = ("content_object", "user", "permission")
    list_filter = ("permission__codename",)
    search_fields = ("user__email", "content_object__slug")
    list_select_related = ("content_object", "user", "permission")
    readonly_fields = ("content_object", "user", "permission")

    def has_add_permission(self, request):
        return False


@admin.register(CustomerGroupObjectPermission)
class CustomerGroupObjectPermissionAdmin(admin.ModelAdmin):
    list_display = ("content_object", "group", "permission")
    list_filter = ("permission__codename",)
    search_fields = ("group__name", "content_object__slug")
    list_select_related = ("content_object", "group", "permission")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created in the portal or by command (the plain token is never stored)."""

    list_display = (
        "name",
        "prefix",
        "customer",
        "user",
        "scope",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    list_filter = ("scope", "customer", "revoked_at")
    search_fields = ("name", "prefix", "user__email", "customer__slug")
    date_hierarchy = "created_at"
    list_select_related = ("customer", "user")
    readonly_fields = (
        "customer",
        "user",
        "prefix",
        "key_hash",
        "scope",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    fields = ("name", *readonly_fields, "expires_at")
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset.select_related("customer"):
            services.api_token_revoke(token=token, actor=None)
        self.message_user(request, f"Revoked {queryset.count()} token(s).")
