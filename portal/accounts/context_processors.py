from portal.accounts.selectors import customers_for_user


def navigation(request):
    """The customer switcher's entries (only the first 50; staff use the customers page)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"switcher_customers": customers_for_user(user=user).only("slug", "name")[:50]}
