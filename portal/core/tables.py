"""django-tables2 without its per-cell costs (README, "Pages and API under load").

A 50-row page of django-tables2 spent most of its CPU on work repeated for every cell: parsing a
``TemplateColumn``'s template again, running every context processor again for a
``template_name`` column, ``inspect.signature`` of the same render method, recomputing the same
``<td>`` attributes, and the template engine's loop over rows × columns. What is here renders the
same HTML once per page:

1. ``TemplateColumn``, ``DateColumn``, ``DateTimeColumn`` (a template column too): the template
   is compiled once per process (``template_code``) or taken from the cached loader
   (``template_name``) and rendered inside the page's own context, as an ``{% include %}`` is —
   not a flattened copy of it run through the context processors again.
2. ``cached_signature``: django-tables2 asks ``inspect.signature`` which arguments a render
   method takes on every cell; the answer depends on the function only (``CoreConfig.ready``
   installs it).
3. ``render_rows``: the ``<tr>``/``<td>`` markup of ``templates/core/table.html``'s body, in
   Python, and a column's ``<td>`` attributes are computed once unless they depend on the row
   (a callable).
4. ``_fast_cell``: most cells are a model attribute shown as it is (a field of the row with
   choices as its ``get_<name>_display()``), or through a table's ``render_<name>(value[,
   record])``, or ``render_<name>(record)`` of a column where nothing is empty, or a date. For
   those columns the cell is computed directly — the same value, empty test, default and
   render call as django-tables2's ``BoundRow.get_cell``, without its per-cell accessor
   parsing, field look-ups and signature matching. Everything else (links, choices of related
   rows, callables, other column types, non-model rows) goes through ``get_cell`` unchanged.
"""

from __future__ import annotations

import functools
import weakref
from datetime import date, datetime
from html import escape as html_escape

import django_tables2 as tables
from django.db import models
from django.template import engines
from django.template.base import render_value_in_context
from django.template.defaultfilters import date as date_filter
from django.template.loader import get_template
from django.templatetags.l10n import localize, unlocalize
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime
from django_tables2 import utils


@functools.lru_cache(maxsize=256)
def _compiled(code: str):
    return engines["django"].engine.from_string(code)


class _RenderedInPage:
    """A ``TemplateColumn``'s ``render``, like an ``{% include %}`` (see the module)."""

    def render(self, record, table, value, bound_column, **kwargs):
        parent_context = getattr(table, "context", None)
        if parent_context is None:  # not rendered by {% render_table %}: no page context
            return super().render(record, table, value, bound_column, **kwargs)
        context = self.get_context_data(
            record=record, table=table, value=value, bound_column=bound_column, **kwargs
        )
        with parent_context.update(context):
            if self.template_code:
                parent_context["request"] = getattr(table, "request", None)
                return _compiled(self.template_code).render(parent_context)
            return get_template(self.template_name).template.render(parent_context)


class TemplateColumn(_RenderedInPage, tables.TemplateColumn):
    pass


class DateColumn(_RenderedInPage, tables.DateColumn):
    """django-tables2's ``DateColumn`` is a ``TemplateColumn`` (``{{ value|date:… }}``); the
    format is kept for ``_fast_cell``."""

    def __init__(self, format=None, short=True, *args, **kwargs):
        super().__init__(format, short, *args, **kwargs)
        self.date_format = format or ("SHORT_DATE_FORMAT" if short else "DATE_FORMAT")


class DateTimeColumn(_RenderedInPage, tables.DateTimeColumn):
    def __init__(self, format=None, short=True, *args, **kwargs):
        super().__init__(format, short, *args, **kwargs)
        self.date_format = format or ("SHORT_DATETIME_FORMAT" if short else "DATETIME_FORMAT")


_plain_signature = utils.signature
_signatures: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def cached_signature(fn):
    """``django_tables2.utils.signature``, remembered per function (a bound method's answer is
    its function's, without ``self``, whichever instance it is bound to)."""
    function = getattr(fn, "__func__", fn)
    try:
        key = (function, hasattr(fn, "__self__"))
        per_function = _signatures.get(function)
    except TypeError:  # not weakly referenceable: ask every time
        return _plain_signature(fn)
    if per_function is None:
        per_function = _signatures[function] = {}
    if key[1] not in per_function:
        per_function[key[1]] = _plain_signature(fn)
    return per_function[key[1]]


def install() -> None:
    utils.signature = cached_signature


def _has_callable(attrs) -> bool:
    if callable(attrs):
        return True
    if isinstance(attrs, dict):
        return any(_has_callable(value) for value in attrs.values())
    return False


def _row_dependent(bound_column) -> bool:
    """Whether a column's ``<td>`` attributes can differ between rows (a callable in them)."""
    merged = {**bound_column._table.attrs, **bound_column.column.attrs}
    return _has_callable(merged.get("td", merged.get("cell", {})))


def _cell_text(column, cell, context) -> str:
    """``{% if column.localize == None %}{{ cell }}{% else %}…|localize / |unlocalize``. Text
    (most cells) is escaped directly; the template engine's general path would localize it
    first, which leaves a string as it is."""
    if column.localize is None:
        kind = type(cell)
        if kind is SafeString:
            return cell
        if kind is str and context.autoescape:
            return html_escape(cell)
        return render_value_in_context(cell, context)
    return render_value_in_context(localize(cell) if column.localize else unlocalize(cell), context)


# Format characters of Django's ``date`` filter that are plain numbers of the value
_NUMBERS = {
    "Y": ("year", 4),
    "m": ("month", 2),
    "d": ("day", 2),
    "H": ("hour", 2),
    "i": ("minute", 2),
    "s": ("second", 2),
}
_TIME_PARTS = frozenset("His")


def _date_render(fmt: str, default):
    """``{{ value|date:fmt|default:default }}`` (django-tables2's date columns). Numeric
    formats (``Y-m-d H:i``) are written from the value's fields; any other format, or a time
    format for a date, goes through the ``date`` filter."""
    letters = [char for char in fmt if char.isalpha()]
    if not letters or "\\" in fmt or any(char not in _NUMBERS for char in letters):
        parts = None
    else:
        parts = [_NUMBERS.get(char, char) for char in fmt]
    needs_time = _TIME_PARTS.intersection(letters)

    def render_date(value):
        value = template_localtime(value)
        if (
            parts is None
            or not isinstance(value, date)
            or (needs_time and not isinstance(value, datetime))
        ):
            return date_filter(value, fmt) or default
        return "".join(
            part if isinstance(part, str) else f"{getattr(value, part[0]):0{part[1]}d}"
            for part in parts
        )

    return render_date


_PLAIN_RENDER = tables.Column.render
_CELL_ARGUMENTS = frozenset({"value", "record"})


def _cell_render(bound_column):
    """How a fast cell is rendered from its value: ``None`` for the value itself, a function of
    ``value`` and/or ``record``, or ``False`` when only django-tables2 knows."""
    column, render = bound_column.column, bound_column.render
    if render == column.render:  # no render_<name> on the table: the column type's own
        if type(column) is tables.Column and getattr(render, "__func__", None) is _PLAIN_RENDER:
            return None
        if type(column) in (DateColumn, DateTimeColumn):
            return _date_render(column.date_format, bound_column.default)
        return False
    names, catch_all = cached_signature(render)  # the table's render_<name>
    if type(column) is not tables.Column or catch_all or not set(names) <= _CELL_ARGUMENTS:
        return False
    return render


def _fast_cell(bound_column, record):
    """``record → cell`` for a column whose cell can be computed directly (module docstring,
    4), or None. ``record`` is the page's first row, to look the accessor's field up once."""
    if bound_column.link or not isinstance(record, models.Model):
        return None
    render = _cell_render(bound_column)
    if render is False:
        return None
    accessor = utils.Accessor(bound_column.accessor)
    bits = accessor.bits
    if (
        render is not None
        and tuple(cached_signature(render)[0]) == ("record",)
        and bound_column.column.empty_values == ()
        and len(bits) == 1
    ):
        # a cell of the whole row (``render_<name>(record)``, nothing counts as empty): its
        # value is never looked at, whatever the accessor finds
        return lambda row_record: render(record=row_record)
    try:
        field = accessor.get_field(record)
    except Exception:  # not a field path: leave it to django-tables2
        return None
    if field is None and (  # an annotation or a plain attribute of the row itself is fine
        len(bits) != 1 or bits[0] not in vars(record) or callable(vars(record)[bits[0]])
    ):
        return None
    display = None
    if field is not None and getattr(field, "choices", None):
        # django-tables2 shows get_FOO_display() of the model that holds the field; here only
        # for a field of the row itself
        display = f"get_{bits[0]}_display"
        if len(bits) != 1 or not callable(getattr(record, display, None)):
            return None
    empty, default = bound_column.column.empty_values, bound_column.default
    arguments = set() if render is None else set(cached_signature(render)[0])

    def cell(row_record):
        if display is not None:
            value = getattr(row_record, display)()
        else:
            value = row_record
            for bit in bits:
                value = getattr(value, bit, None)
                if value is None:
                    break
        if value in empty:
            return default
        if render is None:
            return value
        kwargs = {"value": value, "record": row_record}
        return render(**{name: kwargs[name] for name in arguments})

    return cell


def render_rows(table, context) -> SafeString:
    """The body rows of ``table`` (its page), exactly as django-tables2's template writes them
    (without the template's indentation). Empty when there are no rows."""
    columns = list(table.columns)
    fixed = {
        column.name: None if _row_dependent(column) else column.attrs["td"].as_html()
        for column in columns
    }
    parts: list[str] = []
    fast: dict[str, object] | None = None
    for row in table.paginated_rows:
        if fast is None:
            fast = {column.name: _fast_cell(column, row.record) for column in columns}
        parts.append(format_html("<tr {}>", row.attrs.as_html()))
        for column in columns:
            compute = fast[column.name]
            cell = compute(row.record) if compute else row.get_cell(column.name)
            # what BoundRow.items() leaves for callable attrs that take the value or the record
            column.current_value, column.current_record = cell, row.record
            attrs = fixed[column.name]
            if attrs is None:
                attrs = column.attrs["td"].as_html()
            parts.append(f"<td {attrs}>{_cell_text(column, cell, context)}</td>")
        parts.append("</tr>\n")
    return mark_safe("".join(parts))
