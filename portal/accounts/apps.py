from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "portal.accounts"
    label = "accounts"
    verbose_name = "Customers and accounts"

    def ready(self):
        from portal.accounts import navigation  # noqa: F401  (the top bar's cache generation)
