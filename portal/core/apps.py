from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "portal.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from portal.core import (
            middleware,  # noqa: F401  (connects the login-time receiver)
            tables,
        )

        tables.install()  # django-tables2 remembers render methods' signatures
