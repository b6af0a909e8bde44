from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "portal.api"
    label = "api"
    verbose_name = "JSON API"

    def ready(self) -> None:
        from portal.api import schema  # noqa: F401  (drf-spectacular extensions)
