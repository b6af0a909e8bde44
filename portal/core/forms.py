"""Form widgets written in Python (README, "Pages and API under load").

Every ``<input>`` and ``<select>`` of a page — the filter forms above the tables hold up to a
dozen, a select one template include per option — went through Django's template engine:
about a fifth of the claims page's CPU. ``WidgetRenderer`` writes the markup of Django's own
``input.html``, ``select.html`` and ``select_option.html`` (with ``attrs.html``) directly,
character for character (stripped, as Django's renderer strips what a template writes), and
leaves every other template (forms, fields, error lists, other
widgets, a project's own widget templates) to the template engine as before. A test renders
every form of the demo's pages both ways and compares them.
"""

from __future__ import annotations

from django.forms.renderers import DjangoTemplates
from django.templatetags.l10n import localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, mark_safe
from django.utils.timezone import template_localtime

WIDGETS = "django/forms/widgets/"
# the templates that are ``{% include "django/forms/widgets/input.html" %}`` and nothing else
INPUTS = frozenset(
    f"{WIDGETS}{name}.html"
    for name in (
        "input", "text", "number", "email", "url", "password", "hidden", "date", "datetime",
        "time", "search", "tel", "color", "checkbox",
    )
)  # fmt: skip
SELECT = f"{WIDGETS}select.html"
OPTION = f"{WIDGETS}select_option.html"


def _text(value) -> str:
    """``{{ value }}``: localized, escaped unless safe."""
    return conditional_escape(localize(template_localtime(value)))


def _formatted(value) -> str:
    """``{{ value|stringformat:'s' }}``: ``str()``, escaped unless safe."""
    return str(value) if isinstance(value, SafeData) else conditional_escape(str(value))


def _attrs(attrs: dict) -> str:
    """``attrs.html``."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        parts.append(
            f" {_text(name)}" if value is True else f' {_text(name)}="{_formatted(value)}"'
        )
    return "".join(parts)


def _input(widget: dict) -> str:
    value = "" if widget["value"] is None else f' value="{_formatted(widget["value"])}"'
    return (
        f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"{value}'
        f"{_attrs(widget['attrs'])}>"
    )


def _option(option: dict) -> str:
    return (
        f'<option value="{_formatted(option["value"])}"{_attrs(option["attrs"])}>'
        f"{_text(option['label'])}</option>\n"
    )


def _select(widget: dict) -> str | None:
    parts = [f'<select name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_text(group_name)}">')
        for option in group_choices:
            if option.get("template_name") != OPTION:
                return None  # an option template of its own: the template engine's
            parts.append(f"\n  {_option(option)}")
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


class WidgetRenderer(DjangoTemplates):
    """Django's default form renderer, with the plain input and select widgets in Python."""

    def render(self, template_name, context, request=None):
        widget = context.get("widget") if isinstance(context, dict) else None
        if widget is not None:
            if template_name in INPUTS and "type" in widget:
                return mark_safe(_input(widget))
            if template_name == SELECT and "optgroups" in widget:
                html = _select(widget)
                if html is not None:
                    return mark_safe(html)
        return super().render(template_name, context, request)
