"""Django-level error pages: JSON in the API's format under /api/, HTML elsewhere."""

from django.views import defaults

from portal.api.exceptions import json_error


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request, exception=None):
    if _is_api(request):
        return json_error(404, "not_found", "Not found.")
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return json_error(500, "error", "A server error occurred.")
    return defaults.server_error(request)


def permission_denied(request, exception=None):
    if _is_api(request):
        return json_error(403, "permission_denied", "You do not have permission to do this.")
    return defaults.permission_denied(request, exception)


def bad_request(request, exception=None):
    if _is_api(request):
        return json_error(400, "bad_request", "Bad request.")
    return defaults.bad_request(request, exception)
