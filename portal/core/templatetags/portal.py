from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def can(context, codename: str, customer) -> bool:
    """``{% can "manage_members" customer as allowed %}``: the same question views ask."""
    user = context.get("user")
    return bool(user and customer and user.has_perm(f"accounts.{codename}", customer))


@register.simple_tag(takes_context=True)
def topbar(context) -> str:
    """``{% topbar %}``: the brand, main navigation and customer switcher, cached per user,
    customer and permissions (``accounts.navigation``)."""
    from portal.accounts.navigation import topbar_html

    return topbar_html(context)


@register.simple_tag(takes_context=True)
def table_rows(context, table):
    """``{% table_rows table as rows %}``: the table's body rows (``core.tables.render_rows``)."""
    from portal.core.tables import render_rows

    return render_rows(table, context)
