"""Pasar settings: one module, configured from the environment.

PASAR_ENV is `development` (the default; `make demo` names it, which also turns DEBUG on),
`test` or `production`. DEBUG is off unless PASAR_ENV=development is set or DEBUG=true.
Production refuses to start without SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL and REDIS_URL or
with DEBUG on, and turns on every transport security setting that `manage.py check --deploy`
asks for.
"""

import hashlib
import hmac
import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from pasar.core.logconfig import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PASAR_ENV = os.environ.get("PASAR_ENV", "development")
if PASAR_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured("PASAR_ENV must be development, test or production.")
PRODUCTION = PASAR_ENV == "production"

# Debug pages show settings and code: on only where someone asked for development by name
# (`make demo` does), never because PASAR_ENV was forgotten.
DEBUG = env_bool("DEBUG", default=os.environ.get("PASAR_ENV") == "development")
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production: unset DEBUG or set it to false.")


def _secret_key() -> str:
    if key := os.environ.get("SECRET_KEY"):
        return key
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set in production.")
    # Development and tests keep a random key under var/, never in the repository.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver")
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set in production.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# The platform's own host names: any other domain name a request arrives on may be a shop's
# own domain (Company.shop_domain), which must also be in ALLOWED_HOSTS.
PLATFORM_HOSTS = set(env_list("PLATFORM_HOSTS", "localhost,testserver"))
# Bumped when the storefront's shell changes, so installed shops drop their old copies.
STOREFRONT_CACHE_VERSION = "1"
# How long the storefront keeps a rendered product grid or product page body (seconds; 0: not
# at all). Prices and stock shown may be this old; the cart and checkout always read them
# fresh, and tell the shopper when a price moved.
STOREFRONT_CACHE_SECONDS = int(
    os.environ.get("STOREFRONT_CACHE_SECONDS", "0" if PASAR_ENV == "test" else "10")
)
# How many reverse proxies of our own stand in front of the app. Only their X-Forwarded-For
# entries are believed (client address in logs, audit, lockout and rate limits).
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "waffle",
    "pasar.core",
    "pasar.tenancy",
    "pasar.catalog",
    "pasar.inventory",
    "pasar.payments",
    "pasar.sales",
    "pasar.ledger",
    "pasar.gst",
    "pasar.storefront",
    "pasar.backoffice",
]

MIDDLEWARE = [
    "pasar.core.observability.RequestIdMiddleware",
    "pasar.core.observability.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before anything reads the database: a NUL in a parameter is a 400, never a 500.
    "pasar.core.text.ControlCharacterMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "pasar.storefront.middleware.ShopDomain",
    "pasar.tenancy.middleware.TenantMiddleware",
    "pasar.core.api.ApiTimesInUtcMiddleware",
    "waffle.middleware.WaffleMiddleware",
]

ROOT_URLCONF = "pasar.urls"
WSGI_APPLICATION = "pasar.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "pasar" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "pasar.tenancy.context_processors.active_company",
            ],
        },
    },
]

# Database. DATABASE_URL names the tables' owner; the app itself logs in as the role
# PASAR_DB_APP_ROLE, which owns nothing, so row-level security always applies. Migrations
# connect as the owner (see pasar/core/db and docs/tenancy.md).
if not os.environ.get("DATABASE_URL") and PRODUCTION:
    raise ImproperlyConfigured("DATABASE_URL must be set in production.")
# Outside production, manage.py works without DATABASE_URL against the embedded PostgreSQL
# that `make demo` / `make test` start (scripts/dev_database.py): its socket is in var/pg.
DATABASE_URL = os.environ.get("DATABASE_URL") or (
    f"postgres://postgres@{quote(str(VAR_DIR / 'pg'), safe='')}/pasar"
)
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60"))
    )
}
DATABASES["default"]["ENGINE"] = "pasar.core.db"
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DATABASE_NAME", "test_pasar")}
PASAR_DB_APP_ROLE = os.environ.get("PASAR_DB_APP_ROLE", "pasar_app")
PASAR_DB_APP_PASSWORD = os.environ.get("PASAR_DB_APP_PASSWORD", "")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Platform access (across companies) is proven to PostgreSQL with this key, which only the
# tables' owner can read there (see pasar/core/rls.py). It is written at each migrate: after
# changing it (or SECRET_KEY, from which it is derived when unset) run migrate before serving.
PASAR_PLATFORM_DB_KEY = (
    os.environ.get("PASAR_PLATFORM_DB_KEY")
    or hmac.new(SECRET_KEY.encode(), b"pasar.platform-access", hashlib.sha256).hexdigest()
)

REDIS_URL = os.environ.get("REDIS_URL", "")
if PRODUCTION and not REDIS_URL:
    # Without it each process keeps its own cache (rate limits, circuit breakers, lockouts)
    # and runs background work inside requests.
    raise ImproperlyConfigured("REDIS_URL must be set in production.")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "TIMEOUT": 300,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: eager without a broker, so the embedded default needs no Redis.
CELERY_BROKER_URL = REDIS_URL or "memory://"
# Tests run tasks in-process too: no worker runs beside them, even when Redis is there.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL or PASAR_ENV == "test"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Workers log through LOGGING below (JSON lines) instead of Celery's own handlers.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "Asia/Singapore"
CELERY_BEAT_SCHEDULE = {
    "relay-outbox": {"task": "pasar.core.tasks.relay_outbox", "schedule": 5.0},
    "release-expired-reservations": {
        "task": "pasar.inventory.tasks.release_expired_reservations",
        "schedule": 30.0,
    },
    "expire-overdue-payments": {
        "task": "pasar.payments.tasks.expire_overdue_payments",
        "schedule": 30.0,
    },
    "gst-return-reminders": {
        "task": "pasar.gst.tasks.send_f5_reminders",
        "schedule": crontab(hour=9, minute=0),  # CELERY_TIMEZONE: Singapore time
    },
}

# Payment gateways: how long one call may take before the next gateway is tried.
PAYMENT_GATEWAY_CONNECT_TIMEOUT = float(os.environ.get("PAYMENT_GATEWAY_CONNECT_TIMEOUT", "3"))
PAYMENT_GATEWAY_TIMEOUT = float(os.environ.get("PAYMENT_GATEWAY_TIMEOUT", "10"))
# Inbound webhooks per client address: at most this many calls per window (seconds); more
# answer 429 with Retry-After. Providers send from a few addresses, so keep it generous; 0
# turns the limit off.
PAYMENT_WEBHOOK_RATE_LIMIT = int(os.environ.get("PAYMENT_WEBHOOK_RATE_LIMIT", "300"))
PAYMENT_WEBHOOK_RATE_WINDOW = int(os.environ.get("PAYMENT_WEBHOOK_RATE_WINDOW", "60"))
# Gateway credentials are encrypted at rest with this key (Fernet; derived from SECRET_KEY
# when unset, which production should not rely on: rotating SECRET_KEY would lose them).
PAYMENT_CREDENTIALS_KEY = os.environ.get("PAYMENT_CREDENTIALS_KEY", "")
if PRODUCTION and not PAYMENT_CREDENTIALS_KEY:
    raise ImproperlyConfigured(
        "PAYMENT_CREDENTIALS_KEY must be set in production: a Fernet key, made with "
        "cryptography.fernet.Fernet.generate_key() (see docs/operations.md)."
    )

# Users and passwords
AUTH_USER_MODEL = "tenancy.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "tenancy:login"
LOGIN_REDIRECT_URL = "backoffice:home"
LOGOUT_REDIRECT_URL = "tenancy:login"
INVITATION_TTL = timedelta(days=7)

# Lockout after repeated failed logins (per account and address).
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "email"
AXES_USERNAME_CALLABLE = "pasar.core.security.lockout_username"
AXES_CLIENT_IP_CALLABLE = "pasar.core.observability.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "pasar.core.security.lockout_response"

# Internationalisation and time: stored in UTC, shown in Singapore time.
LANGUAGE_CODE = "en-sg"
TIME_ZONE = "Asia/Singapore"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "pasar" / "static"]
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Mail goes through Django's MAILERS (the EMAIL_* settings are deprecated since Django 6.1).
# Production sends by SMTP; development prints messages on the console.
_mail_backend = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
MAILERS: dict[str, dict[str, object]] = {"default": {"BACKEND": _mail_backend}}
if _mail_backend == "django.core.mail.backends.smtp.EmailBackend":
    _mail_ssl = env_bool("EMAIL_USE_SSL", default=False)
    MAILERS["default"]["OPTIONS"] = {
        "host": os.environ.get("EMAIL_HOST", "localhost"),
        "port": int(os.environ.get("EMAIL_PORT", "465" if _mail_ssl else "587")),
        "username": os.environ.get("EMAIL_HOST_USER", ""),
        "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
        "use_ssl": _mail_ssl,
        "use_tls": env_bool("EMAIL_USE_TLS", default=not _mail_ssl),
        "timeout": 10,
    }
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Pasar <no-reply@pasar.example>")
# Links in emails point here. Unset, it is the local server on PORT (`PORT=8202 make demo`).
PASAR_BASE_URL = os.environ.get("PASAR_BASE_URL") or (
    f"http://127.0.0.1:{os.environ.get('PORT') or '8000'}"
)
# Password reset links work once, for an hour; requests past these counts per hour (per
# email, per client address) are dropped without a word, so the answer never varies.
PASSWORD_RESET_TIMEOUT = 3600
PASSWORD_RESET_EMAIL_LIMIT = int(os.environ.get("PASSWORD_RESET_EMAIL_LIMIT", "3"))
PASSWORD_RESET_ADDRESS_LIMIT = int(os.environ.get("PASSWORD_RESET_ADDRESS_LIMIT", "20"))

# HTTP API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "pasar.tenancy.auth.CompanyJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["pasar.core.api.EnvelopeRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "pasar.core.api.PagePagination",
    "PAGE_SIZE": 25,
    "EXCEPTION_HANDLER": "pasar.core.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "pasar.core.api_schema.PasarAutoSchema",
    # Only views that name a throttle_scope are limited (the auth endpoints use "auth").
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.ScopedRateThrottle"],
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_THROTTLE_RATES": {
        "auth": os.environ.get("AUTH_RATE_LIMIT", "20/min"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=15),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=7),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "USER_ID_FIELD": "public_id",
    "USER_ID_CLAIM": "sub",
    "SIGNING_KEY": os.environ.get("JWT_SIGNING_KEY", SECRET_KEY),
}
API_QUICK_START = """
The API of a Singapore shop's back office: its company and team, catalog, stock
(levels, reservations, transfers, counts, goods receipts) and payments.

## Quick start

1. **Get a token.** `POST /api/v1/auth/token` with `{"email": "owner@kopikakis.example",
   "password": "pasar-demo"}` (the demo's owner) answers `{"status": "success", "data":
   {"access": "...", "refresh": "..."}}`. Add `"company": "<company id>"` to act for another
   of your companies; the token acts for one company at a time.
2. **Call with it.** Send `Authorization: Bearer <access>` on every request, e.g.
   `curl -H "Authorization: Bearer $ACCESS" http://127.0.0.1:8000/api/v1/me`.
3. **Renew it.** An access token lasts minutes: `POST /api/v1/auth/token/refresh` with
   `{"refresh": "..."}` gives a new pair (each refresh token works once).
   `POST /api/v1/auth/switch-company` gives a pair for another company you belong to.

## Conventions

- Every answer is an envelope: `{"status": "success", "data": ..., "meta": {...}}` or
  `{"status": "error", "error": {"code", "message", "details": [...]}}`. `code` is stable;
  `details` names each field that is wrong. Each operation below lists the errors it answers.
- Ids are UUIDs. Money is a string with two decimals in SGD (`"19.90"`). Times are UTC,
  ISO 8601 with `Z`.
- Lists take `page` and `per_page` (at most 200); `meta.pagination` has the totals.
- Writes that move money or stock take an `Idempotency-Key` header where noted: a retry with
  the same key is the same operation.
"""

SPECTACULAR_SETTINGS = {
    "TITLE": "Pasar API",
    "DESCRIPTION": API_QUICK_START,
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "pasar.core.api.envelope_schema_hook",
        "pasar.core.api_schema.examples_schema_hook",
    ],
    # The envelope's status of a paginated list.
    "ENUM_NAME_OVERRIDES": {
        "SuccessStatusEnum": ["success"],
        "ProductStatusEnum": "pasar.catalog.models.ProductStatus",
        "VariantStatusEnum": "pasar.catalog.models.VariantStatus",
        "ImportStatusEnum": "pasar.catalog.models.ImportStatus",
        "ReservationStatusEnum": "pasar.inventory.models.ReservationStatus",
        "LocationKindEnum": "pasar.inventory.models.LocationKind",
        "ChannelKindEnum": "pasar.inventory.models.ChannelKind",
        "TransferStatusEnum": "pasar.inventory.models.TransferStatus",
        "StockCountStatusEnum": "pasar.inventory.models.StockCountStatus",
    },
}

# Security. The CSP allows only our own scripts and styles: no inline code, no CDN.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
# Sessions are read from the cache and written through to the database: a shopper's every
# page reads theirs, and the database keeps it through a cache restart.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_SSL_REDIRECT = PRODUCTION and env_bool("SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None
SECURE_HSTS_SECONDS = 31_536_000 if PRODUCTION else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# Feature flags are switched per company in the admin.
WAFFLE_FLAG_MODEL = "tenancy.Flag"
WAFFLE_CREATE_MISSING_FLAGS = False
# The percent-rollout cookie is HTTPS-only where the site is (a Secure cookie set over plain
# HTTP never comes back, so each demo request would draw again).
WAFFLE_SECURE = PRODUCTION

# Logging: JSON lines through structlog, each carrying the request id.
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = logging_config(LOG_LEVEL)
# A Celery worker serves its task metrics on this port when set (see docs/operations.md).
WORKER_METRICS_PORT = int(os.environ.get("WORKER_METRICS_PORT", "0"))
