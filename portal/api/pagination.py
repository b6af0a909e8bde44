from django.utils.encoding import force_str
from rest_framework.exceptions import NotFound
from rest_framework.pagination import BasePagination, CursorPagination, PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from portal.core import keyset
from portal.core.views import EvaluatedPaginator


class PagePagination(PageNumberPagination):
    """``?page=N&page_size=M`` (M ≤ 200) on every list, custom actions included."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class SummaryPagination(PagePagination):
    """For the payer summary: one statement for the rows, the count and the page
    (``core.views.EvaluatedPaginator``)."""

    django_paginator_class = EvaluatedPaginator


class KeysetPagination(BasePagination):
    """The big lists (claims, uploads, rejected rows, drift runs and events, audit events):
    ``?page=N&page_size=M`` as everywhere, plus ``?cursor=`` — the ``next`` and ``previous``
    links carry a keyset cursor (``core.keyset``), so following them costs the same on page
    5,000 as on page 1, in any ``ordering``. ``count`` is exact up to 10,000; beyond, it says
    10,000 and ``count_exact`` is false (nobody pays a COUNT(*) over a million claims)."""

    page_size = PagePagination.page_size
    max_page_size = PagePagination.max_page_size
    page_query_param = "page"
    page_size_query_param = "page_size"
    cursor_query_param = "cursor"

    def get_page_size(self, request) -> int:
        try:
            size = int(request.query_params[self.page_size_query_param])
        except (KeyError, ValueError):
            return self.page_size
        return min(size, self.max_page_size) if size > 0 else self.page_size

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        try:
            number = int(request.query_params.get(self.page_query_param, 1))
        except ValueError:
            raise NotFound("Invalid page.") from None
        if number < 1:
            raise NotFound("Invalid page.")
        cursor = request.query_params.get(self.cursor_query_param) or None
        try:
            self.page = keyset.page(
                queryset, per_page=self.get_page_size(request), cursor=cursor, number=number
            )
        except keyset.InvalidCursor:
            raise NotFound("Invalid cursor.") from None
        if not self.page.object_list and self.page.number > 1 and not cursor:
            raise NotFound("Invalid page.")
        return self.page.object_list

    def _url(self, cursor: str | None) -> str:
        url = remove_query_param(self.request.build_absolute_uri(), self.page_query_param)
        if cursor is None:
            return remove_query_param(url, self.cursor_query_param)
        return replace_query_param(url, self.cursor_query_param, cursor)

    def get_next_link(self) -> str | None:
        return self._url(self.page.next_cursor) if self.page.has_next else None

    def get_previous_link(self) -> str | None:
        return self._url(self.page.previous_cursor) if self.page.has_previous else None

    def get_paginated_response(self, data):
        return Response(
            {
                "count": self.page.count,
                "count_exact": self.page.count_exact,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["count", "count_exact", "next", "previous", "results"],
            "properties": {
                "count": {
                    "type": "integer",
                    "example": 123,
                    "description": f"Matching rows, exact up to {keyset.COUNT_LIMIT:,}; beyond "
                    f"that {keyset.COUNT_LIMIT} (see `count_exact`).",
                },
                "count_exact": {
                    "type": "boolean",
                    "example": True,
                    "description": f"False when more than {keyset.COUNT_LIMIT:,} rows match.",
                },
                "next": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "example": "http://api.example.org/accounts/?cursor=eyJvIjoi…",
                    "description": "The next page (a keyset cursor: as fast on page 5,000 as "
                    "on page 1).",
                },
                "previous": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "example": None,
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": force_str(
                    "A page number (an offset: fine for the first pages; follow `next` to go deep)."
                ),
                "schema": {"type": "integer"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Rows per page, at most {self.max_page_size}.",
                "schema": {"type": "integer"},
            },
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "An opaque cursor from a `next` or `previous` link (it belongs "
                "to that link's `ordering`; an invalid cursor is a 404).",
                "schema": {"type": "string"},
            },
        ]


class NewestFirstCursorPagination(CursorPagination):
    """Stable, offset-free paging for feeds: ``?cursor=…``."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = ("-created_at", "-id")
