"""Staff hold every customer permission on every customer (PRODUCT §2)."""

from portal.accounts.models import Customer
from portal.accounts.roles import PERMISSIONS

CUSTOMER_PERMISSIONS = frozenset(f"accounts.{codename}" for codename, _, _ in PERMISSIONS)


class StaffCustomerBackend:
    """Answers object-permission questions about a ``Customer`` for active staff users only.

    Everyone else is answered by guardian's ``ObjectPermissionBackend`` from the permissions the
    membership service keeps in step with their role.
    """

    def authenticate(self, request, **credentials):
        return None

    def has_perm(self, user_obj, perm: str, obj=None) -> bool:
        return (
            isinstance(obj, Customer)
            and user_obj.is_active
            and user_obj.is_staff
            and perm in CUSTOMER_PERMISSIONS
        )
