"""Shared view plumbing: the customer mixin (tenant + permission) and the one table recipe."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404
from django.utils.cache import patch_vary_headers
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin
from django_tables2.rows import BoundRows

from portal.accounts.models import Customer
from portal.accounts.selectors import customer_for_user
from portal.core import keyset
from portal.core.exceptions import DomainError


def get_or_404(getter: Callable, **kwargs):
    """``getter(**kwargs)``, or a 404 when it finds nothing (another customer's object too)."""
    try:
        return getter(**kwargs)
    except ObjectDoesNotExist:
        raise Http404("Not found.") from None


def form_error(form: forms.Form, exc: DomainError) -> None:
    """A service's refusal as the form's error: on its field when the form has one."""
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


class CustomerMixin(LoginRequiredMixin):
    """Resolve ``<slug>`` to a customer the user may enter and check ``permission`` on it.

    Another customer's page is a 404 (its existence is never confirmed); a missing permission on
    your own customer is a 403.
    """

    permission = "accounts.view_customer_data"
    customer: Customer

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        try:
            self.customer = customer_for_user(user=request.user, slug=kwargs["slug"])
        except Customer.DoesNotExist:
            raise Http404("No such customer.") from None
        request.payerwatch_customer = self.customer  # for the request log line
        if not request.user.has_perm(self.permission, self.customer):
            raise PermissionDenied("Your role at this customer does not allow this.")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["customer"] = self.customer
        context["role"] = self.customer.user_role  # read with the customer
        return context


class ReadWriteMixin(CustomerMixin):
    """Every member reads the page; writing to it (POST) needs ``write_permission``."""

    write_permission: str

    @property
    def permission(self) -> str:
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return CustomerMixin.permission
        return self.write_permission


class StaffRequiredMixin(LoginRequiredMixin):
    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not request.user.is_staff:
            raise Http404("Not found.")
        return super().dispatch(request, *args, **kwargs)


class KeysetTablePaginator:
    """django-tables2's paginator for the big lists: one keyset page (``core.keyset``) of the
    table's ordered queryset. ``?cursor=`` wins over ``?page=``; a cursor made for another sort
    (the sort link changed it) or one we did not write starts again at page 1; a page number
    past the end shows the last page, as Django's paginator does."""

    keyset = True
    max_per_page = 200  # ``?per_page=`` is the reader's to choose, within PRODUCT §9's bound

    def __init__(self, rows, per_page, *args, cursor=None, **kwargs):
        self.rows, self.cursor = rows, cursor
        self.per_page = max(1, min(int(per_page), self.max_per_page))

    def page(self, number) -> keyset.Page:
        queryset = self.rows.data.data  # ordered by the table's sort
        try:
            page = keyset.page(queryset, per_page=self.per_page, cursor=self.cursor, number=number)
        except keyset.InvalidCursor:
            page = keyset.page(queryset, per_page=self.per_page)
        if not page.object_list and page.number > 1 and page.count_exact and not self.cursor:
            page = keyset.page(queryset, per_page=self.per_page, number=page.num_pages)
        self.count, self.count_exact, self.num_pages = page.count, page.count_exact, page.num_pages
        self.count_limit = keyset.COUNT_LIMIT
        page.object_list = BoundRows(page.object_list, self.rows.table)
        return page


class EvaluatedPaginator(Paginator):
    """Pages of a short list whose every row costs what a page costs — grouped aggregates
    ordered by an aggregate (the payer summary): ONE statement reads all its rows, and the count
    and the page come from them. Django's paginator would run the aggregate twice, once inside
    ``SELECT count(*) FROM (…)`` and again for the page (45 ms of 250 at 1,000,000 claims).
    The object list is a queryset, or django-tables2's rows over one."""

    def __init__(self, object_list, *args, **kwargs):
        data = getattr(getattr(object_list, "data", None), "data", object_list)
        if isinstance(data, QuerySet):
            len(data)  # evaluated: count() and slices answer from its result cache
        super().__init__(object_list, *args, **kwargs)


class TableView(SingleTableMixin, FilterView):
    """A django-tables2 table with a django-filter form, served whole or as the ``#table`` partial.

    The page template defines ``{% partialdef table %}``; htmx requests (sorting, paging,
    filtering) get only that partial, except history restores, which need the whole page.
    ``keyset = True`` for lists that can grow to millions of rows: next/previous links carry a
    cursor and the count stops at ``keyset.COUNT_LIMIT``, so a deep page costs what page 1 costs.
    """

    paginate_by = 25
    keyset = False

    def get_table_pagination(self, table):
        paginate = super().get_table_pagination(table)
        if self.keyset and paginate:
            paginate = {} if paginate is True else dict(paginate)
            paginate["paginator_class"] = KeysetTablePaginator
            paginate["cursor"] = self.request.GET.get("cursor") or None
        return paginate

    def paginate_queryset(self, queryset, page_size):
        """The table pages itself; ListView's own paginator would COUNT(*) every matching row
        (all the customer's claims) on every request for a ``page_obj`` nobody shows."""
        return None, None, queryset, False

    def page_number(self) -> str:
        """The page shown, for the audit log (a cursor page knows its number too)."""
        table = getattr(self, "_table", None)
        page = getattr(table, "page", None)
        return str(page.number) if page is not None else self.request.GET.get("page", "1")[:10]

    def get_template_names(self):
        names = super().get_template_names()
        htmx = getattr(self.request, "htmx", None)
        if htmx and not htmx.history_restore_request:
            return [f"{name}#table" for name in names]
        return names

    def render_to_response(self, context, **response_kwargs):
        # One URL answers with the page or the partial: caches must keep them apart, or Back
        # from another page shows a bare fragment.
        response = super().render_to_response(context, **response_kwargs)
        patch_vary_headers(response, ("HX-Request", "HX-History-Restore-Request"))
        return response

    def get_table(self, **kwargs):
        """Mark the table as filtered: its empty state says "nothing matches", not "nothing yet"."""
        table = super().get_table(**kwargs)
        self._table = table
        form = self.filterset.form
        table.is_filtered = form.is_bound and any(
            value not in (None, "", []) for value in getattr(form, "cleaned_data", {}).values()
        )
        return table
