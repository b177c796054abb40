"""Django settings. Everything that differs between machines comes from the environment.

- ``DATABASE_URL``: ``postgresql://user@host:port/name`` for PostgreSQL; unset means the embedded
  SQLite database at ``$REFUNDABLE_DATA_DIR/refundable.sqlite3`` (default ``./var``).
- ``SECRET_KEY``: required when ``DEBUG`` is off.
- ``EMAIL_HOST`` / ``EMAIL_PORT``: the SMTP server (default 127.0.0.1:1025).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parents[1]
DATA_DIR = Path(os.environ.get("REFUNDABLE_DATA_DIR", PROJECT_DIR / "var"))

DEBUG = os.environ.get("DEBUG", "1") == "1"
SECRET_KEY = os.environ.get("SECRET_KEY") or (
    "dev-only-insecure-key" if DEBUG else "")
if not SECRET_KEY:
    raise RuntimeError("SECRET_KEY must be set when DEBUG is off")
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "ninja",  # the API docs page (/api/v1/docs) uses its bundled Swagger UI, not a CDN
    "refundable.audit",
    "refundable.customers",
    "refundable.catalog",
    "refundable.subscriptions",
    "refundable.billing",
    "refundable.refunds",
    "refundable.desk",
    "refundable.notifications",
    "refundable.portal",
    "refundable.api",
    "refundable.payments",
    "refundable.webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "refundable.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [BASE_DIR / "templates"],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.template.context_processors.i18n",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
WSGI_APPLICATION = "refundable.wsgi.application"


def database_from_url(url: str | None) -> dict[str, object]:
    """``postgresql://user:pass@host:port/name`` → Django's DATABASES entry; None → SQLite."""
    if not url:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        # Kept open between requests: a new SQLite connection costs about 1 ms per request
        # (docs/benchmarks-api.md).
        return {"ENGINE": "django.db.backends.sqlite3",
                "NAME": str(DATA_DIR / "refundable.sqlite3"),
                "CONN_MAX_AGE": 600, "CONN_HEALTH_CHECKS": True,
                "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20,
                            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}}
    parsed = urlparse(url)
    if parsed.scheme not in ("postgres", "postgresql"):
        raise RuntimeError(f"DATABASE_URL: unsupported scheme {parsed.scheme!r} "
                           "(use postgresql://…)")
    # psycopg prepares a statement after this many runs on a connection. Only cursors that
    # bind on the server are concerned (the API's refund request read); the ORM's bind on
    # the client and never prepare. "off" behind a connection pooler in transaction mode.
    threshold = os.environ.get("REFUNDABLE_PG_PREPARE_THRESHOLD", "5").strip().lower()
    if threshold != "off" and not threshold.isdigit():
        raise RuntimeError("REFUNDABLE_PG_PREPARE_THRESHOLD must be a number or 'off', not "
                           f"{threshold!r}")
    return {"ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")) or "refundable",
            "USER": unquote(parsed.username or "postgres"),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "127.0.0.1", "PORT": str(parsed.port or 5432),
            "CONN_MAX_AGE": 60,
            "OPTIONS": {"prepare_threshold": None if threshold == "off" else int(threshold)}}


DATABASES = {"default": database_from_url(os.environ.get("DATABASE_URL"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:account"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("Français"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Europe/Paris"

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_ROOT = DATA_DIR / "uploads"  # outside the web root; served only through views

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_FILE_PATH = DATA_DIR / "mail"  # for the file backend (the demo writes e-mails there)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "1025"))
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "support@refundable.localhost")

REFUNDABLE_POLICY_DIR = Path(os.environ.get("REFUNDABLE_POLICY_DIR", PROJECT_DIR / "policies"))
REFUNDABLE_AUTO_APPROVE_LIMIT = int(os.environ.get("REFUNDABLE_AUTO_APPROVE_LIMIT", "10000"))
# How long a server process trusts an API key it verified (a revoked key is refused by every
# process within this time; 0: read the key on every request). docs/api.md.
REFUNDABLE_API_KEY_CACHE_SECONDS = float(os.environ.get("REFUNDABLE_API_KEY_CACHE_SECONDS", "2"))

# Money (payments app). The sandbox provider settles a refund this many seconds after accepting
# it; the reconciler leaves a refund that was just sent alone for the grace period (its
# sender may still be waiting for the answer) before asking the provider what happened.
REFUNDABLE_SANDBOX_SETTLE_SECONDS = int(os.environ.get("REFUNDABLE_SANDBOX_SETTLE_SECONDS", "60"))
REFUNDABLE_RECONCILE_GRACE_SECONDS = int(os.environ.get("REFUNDABLE_RECONCILE_GRACE_SECONDS",
                                                        "120"))
REFUNDABLE_STRIPE_API_KEY = os.environ.get("REFUNDABLE_STRIPE_API_KEY", "")
REFUNDABLE_STRIPE_WEBHOOK_SECRET = os.environ.get("REFUNDABLE_STRIPE_WEBHOOK_SECRET", "")
# Business days for a refund to reach the customer, by payment method, unless the product
# sets its own window (seed 003: 5–7 days; seed 004: 20–31).
REFUNDABLE_REFUND_ARRIVAL_DAYS: dict[str, tuple[int, int]] = {
    "card": (5, 10), "paypal": (1, 3), "bank": (3, 5), "other": (5, 10)}

# --- Customer portal (additions) -------------------------------------------------------------
# The cache holds the rate-limit counters. LocMemCache counts per process: behind several
# gunicorn workers each counts on its own (limits multiply by the workers); point CACHES at a
# shared cache (Redis, database) to count once.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                      "LOCATION": "refundable"}}
# (attempts, window in seconds) per client address; 429 with a clear message beyond that.
REFUNDABLE_RATE_LIMITS: dict[str, tuple[int, int]] = {
    "sign_in": (10, 15 * 60),           # password attempts
    "sign_in_link": (5, 60 * 60),       # e-mail link requests
    "public_cancel": (10, 60 * 60),     # "cancel my contract" submissions
    "activation_key": (5, 60 * 60),     # activation key re-sends
    "phone_check": (60, 60 * 60),       # "is this number official?" checks
}
REFUNDABLE_SIGN_IN_LINK_MAX_AGE = int(os.environ.get("REFUNDABLE_SIGN_IN_LINK_MAX_AGE", "900"))
# Absolute links in e-mails (sign-in link, request status) start with this.
REFUNDABLE_BASE_URL = os.environ.get("REFUNDABLE_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# The seller shown on invoices.
REFUNDABLE_MERCHANT = {
    "name": os.environ.get("REFUNDABLE_MERCHANT_NAME", "Refundable Demo SAS"),
    "address": os.environ.get("REFUNDABLE_MERCHANT_ADDRESS",
                              "10 rue de l'Exemple, 75010 Paris, France"),
    "vat_number": os.environ.get("REFUNDABLE_MERCHANT_VAT", "FR00 000000000"),
}
# Official support channels (seed 001) — what the contact page publishes and what the "verify
# a phone number" box checks against. Hours are local to ``timezone``; weekday 0 is Monday.
REFUNDABLE_SUPPORT = {
    "timezone": "Europe/Paris",
    "default_country_code": "33",  # for numbers typed nationally ("01 73 …")
    "phones": [{"number": "+33 (0)1 73 01 84 99",
                "label": {"en": "Customer service (price of a local call)",
                          "fr": "Service client (prix d'un appel local)"}}],
    "emails": [DEFAULT_FROM_EMAIL],
    "websites": ["127.0.0.1", "localhost", "refundable.localhost"],
    "hours": {0: [("09:00", "20:00")], 1: [("09:00", "20:00")], 2: [("09:00", "20:00")],
              3: [("09:00", "20:00")], 4: [("09:30", "20:00")]},
    # Numbers published by look-alike "support" pages (seed 003): flagged as known scams.
    "known_scams": ["+1 (888) 260-4942"],
}

# --- Replies by e-mail (desk) -----------------------------------------------------------------
# Ticket e-mails answer to "<mailbox>+t<ticket>-<signature>@<domain>" built on this address;
# `refundable mail-receive` accepts mail for this mailbox (and its +tags) at this domain only.
REFUNDABLE_INBOUND_ADDRESS = os.environ.get("REFUNDABLE_INBOUND_ADDRESS",
                                            "support@refundable.localhost").strip()
# Larger inbound messages are refused (the SMTP listener announces it as its SIZE limit).
REFUNDABLE_INBOUND_MAX_BYTES = int(os.environ.get("REFUNDABLE_INBOUND_MAX_BYTES",
                                                  str(25 * 1024 * 1024)))
