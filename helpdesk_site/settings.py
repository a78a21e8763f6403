"""Settings for the help desk, read from the environment.

Every setting has a safe development default, so `make run` works with no configuration.
With DEBUG off, the settings that must not be guessed (SECRET_KEY, ALLOWED_HOSTS) stop start-up
with a message that names them. The README lists every variable.
"""

import importlib.util
import ipaddress
import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=True)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "django-insecure-development-key-only-for-local-use-0123456789"  # noqa: S105

# Where `make run` serves the development server (its HOST and PORT, passed on): in development,
# the default SITE_URL and ALLOWED_HOSTS follow them, so the demo's emails link to the running
# server. An address that listens everywhere (0.0.0.0, ::) is reached as 127.0.0.1.
RUN_HOST = env_str("HOST", "127.0.0.1").strip() or "127.0.0.1"
RUN_PORT = env_str("PORT", "8000").strip() or "8000"
_LINK_HOST = "127.0.0.1" if RUN_HOST in {"0.0.0.0", "::", "[::]"} else RUN_HOST  # noqa: S104

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS",
    sorted({"127.0.0.1", "localhost", "[::1]", _LINK_HOST}) if DEBUG else [],
)
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off (comma-separated).")

CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Where links in emails point to: in development, by default, the server `make run` started.
SITE_URL = env_str(
    "SITE_URL", f"http://{_LINK_HOST}:{RUN_PORT}" if DEBUG else "http://127.0.0.1:8000"
).rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "csp",
    "django_htmx",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    # Before the apps: messaging/admin.py replaces its Email admin with the outbox's.
    "post_office",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "tickets",
    "messaging",
    "reports",
    "api",
]

MIDDLEWARE = [
    "helpdesk_site.middleware.RequestLogMiddleware",
    # Outside every middleware that can refuse a request (a host not allowed, a body no page can
    # read, ...): the refusal is turned into a 400 page at the middleware that raised it, and
    # only the middleware outside that one add their headers to it.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language from the footer's cookie or Accept-Language (after the session, before
    # CommonMiddleware, as Django's documentation places it) ...
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # ... and a signed-in person's own language and time zone, once the user is known.
    "accounts.locale.UserLocaleMiddleware",
    # Cache-Control: private, no-store on everything answered to a signed-in person.
    "helpdesk_site.middleware.PrivatePagesMiddleware",
    "accounts.middleware.SessionIdleRefreshMiddleware",
    # A 400 saying why for input no page can read: not UTF-8, NUL, files, not a form, too long.
    "helpdesk_site.middleware.RequestInputMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # request.htmx: the staff ticket page's partial updates (polling, triage, take it).
    "django_htmx.middleware.HtmxMiddleware",
    # Last, so it sees the outcome of the login view and can replace it with the lock-out page.
    "axes.middleware.AxesMiddleware",
    # A login's place in the lock-out's count, given back whatever happened (accounts/lockout.py).
    "accounts.middleware.LoginCheckMiddleware",
]

if not DEBUG:
    # Static files, compressed and with cache-busting names, served by every app server
    # (in development, runserver serves them from the apps and static/).
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
        "whitenoise.middleware.WhiteNoiseMiddleware",
    )

ROOT_URLCONF = "helpdesk_site.urls"

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
            ],
        },
    },
]

WSGI_APPLICATION = "helpdesk_site.wsgi.application"

# Database: a SQLite file by default, PostgreSQL (psycopg 3) when DATABASE_URL points at it.
# Connections are kept between requests (DB_CONN_MAX_AGE seconds; 0 closes each at the end of its
# request) and checked before a request reuses one: a new PostgreSQL connection costs a process
# and its caches (bench/RESULTS.md, "Load").
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock when a transaction starts, so two writers queue up instead of
    # both reading a ticket and one failing with "database is locked" on its first write: this is
    # what makes select_for_update() mean something on SQLite.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
    DATABASES["default"]["TEST"] = {"NAME": None}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL's JIT compiler spends hundreds of milliseconds compiling the report queries,
    # which then run in tens: for a web application's short queries it only costs time.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"

# SQLite: how often (seconds) a request is followed by PRAGMA optimize, which re-analyzes the
# tables whose planner statistics went stale (tickets/db_statistics.py).
SQLITE_OPTIMIZE_EVERY = env_int("SQLITE_OPTIMIZE_EVERY", 3600)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# A covering index's INCLUDE columns are a PostgreSQL feature; SQLite builds the plain index.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses locked-out username+address pairs before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.UsernameOrEmailBackend",
]

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    # Kept so that older hashes still verify, and are upgraded to bcrypt at the next login.
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.validators.MaximumLengthValidator", "OPTIONS": {"max_length": 1024}},
    {"NAME": "accounts.validators.NotOnlyWhitespaceValidator"},
]

# Registration: "mandatory" (an account logs in only once its email address is confirmed, and
# the register page tells nobody which addresses have accounts) or "optional" (it logs in at
# once; the link is still sent). The link works for EMAIL_CONFIRMATION_DAYS.
REGISTRATION_EMAIL_VERIFICATION = env_str("REGISTRATION_EMAIL_VERIFICATION", "mandatory").lower()
if REGISTRATION_EMAIL_VERIFICATION not in {"mandatory", "optional"}:
    raise ImproperlyConfigured(
        "REGISTRATION_EMAIL_VERIFICATION must be mandatory or optional, "
        f"not {REGISTRATION_EMAIL_VERIFICATION!r}."
    )
EMAIL_CONFIRMATION_DAYS = 3
# Account emails (confirmation links, "someone tried to register", password resets): at most
# this many an hour to one address, more are not sent (the page answers the same); and at most
# this many registrations, link and reset requests an hour from one client address, more get a
# 429 page. Counted in the cache (accounts/ratelimits.py).
ACCOUNT_EMAILS_PER_ADDRESS = env_int("ACCOUNT_EMAILS_PER_ADDRESS", 3)
ACCOUNT_REQUESTS_PER_CLIENT = env_int("ACCOUNT_REQUESTS_PER_CLIENT", 20)

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "tickets:list"
LOGOUT_REDIRECT_URL = "accounts:login"

# The proxies whose X-Forwarded-For is believed (addresses or networks, or "*"): the same list,
# from the same variable, that gunicorn trusts for X-Forwarded-Proto. Behind them the client's
# address is the right-most one in the header that is not a listed proxy
# (accounts/client_address.py); from anyone else the header is ignored.
FORWARDED_ALLOW_IPS = env_list("FORWARDED_ALLOW_IPS", ["127.0.0.1", "::1"])
for _entry in FORWARDED_ALLOW_IPS:
    try:
        if _entry != "*":
            ipaddress.ip_network(_entry, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"FORWARDED_ALLOW_IPS: {_entry!r} is not an address or a network (10.0.0.5, "
            "10.0.0.0/8, ::1) or *."
        ) from None

# Brute-force protection: 5 failures for one username from one address lock that pair for 15 min.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# axes' handlers, with the count and the check made one step (accounts/lockout.py).
AXES_HANDLER = "accounts.lockout.DatabaseHandler"
AXES_USERNAME_CALLABLE = "accounts.backends.axes_username"
AXES_CLIENT_IP_CALLABLE = "accounts.client_address.client_address"
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# The pages and emails speak English, German and Spanish: a signed-in person's profile language,
# else the language chosen in the footer (a cookie), else the browser's Accept-Language, else
# English (accounts/locale.py). The catalogues are locale/<lang>/LC_MESSAGES/django.po,
# compiled by `manage.py compile_translations` (make run, make test); `make messages` updates them.
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("de", "Deutsch"),
    ("es", "Español"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
# The site's zone: the times of anyone who has not chosen their own on the profile page.
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_TZ = True

STATIC_URL = "static/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# plotly.js comes from the installed plotly package (no CDN): served as plotly/plotly.min.js.
PLOTLY_PACKAGE_DATA = (
    Path(importlib.util.find_spec("plotly").submodule_search_locations[0]) / "package_data"
)
STATICFILES_DIRS = [BASE_DIR / "static", ("plotly", PLOTLY_PACKAGE_DATA)]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))

# --- Attachments (messaging/attachments.py) ---------------------------------------------------
# A file may be at most ATTACHMENT_MAX_BYTES, and a message (or a new ticket) carry at most
# ATTACHMENT_MAX_FILES. Stored under random names in a private folder (ATTACHMENT_ROOT), never
# under the static files, or in S3-compatible object storage when ATTACHMENT_STORAGE_URL is set:
#   s3://ACCESS_KEY:SECRET_KEY@BUCKET/PREFIX?endpoint=https://s3.example.com&region=eu-west-1
# (without the keys, boto3 finds credentials itself: AWS_ACCESS_KEY_ID..., an instance role).
# ATTACHMENT_REDIRECT=true sends S3 downloads to a presigned URL valid for a minute instead of
# streaming them through the app server.
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
ATTACHMENT_MAX_FILES = env_int("ATTACHMENT_MAX_FILES", 10)
ATTACHMENT_ROOT = Path(env_str("ATTACHMENT_ROOT", str(BASE_DIR / "attachments"))).resolve()
ATTACHMENT_STORAGE_URL = env_str("ATTACHMENT_STORAGE_URL")
ATTACHMENT_REDIRECT = env_bool("ATTACHMENT_REDIRECT", False)
for _public in (STATIC_ROOT, BASE_DIR / "static"):
    if ATTACHMENT_ROOT.is_relative_to(Path(_public).resolve()):
        raise ImproperlyConfigured(
            f"ATTACHMENT_ROOT ({ATTACHMENT_ROOT}) is inside {_public}, which is served to anyone: "
            "choose a private folder."
        )


def s3_storage(url: str) -> dict:
    """The STORAGES entry for an ATTACHMENT_STORAGE_URL (see above): django-storages' S3."""
    from urllib.parse import parse_qs, unquote, urlsplit

    from boto3.s3.transfer import TransferConfig

    parts = urlsplit(url)
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    if parts.scheme != "s3" or not parts.hostname:
        raise ImproperlyConfigured(
            "ATTACHMENT_STORAGE_URL must look like s3://KEY:SECRET@BUCKET/PREFIX?endpoint=URL"
        )
    unknown = set(query) - {"endpoint", "region"}
    if unknown:
        raise ImproperlyConfigured(f"ATTACHMENT_STORAGE_URL: unknown option(s) {sorted(unknown)}")
    options = {
        # The netloc keeps the bucket's case (hostname would lower it).
        "bucket_name": parts.netloc.rpartition("@")[2],
        "location": parts.path.strip("/"),
        "region_name": query.get("region"),
        "endpoint_url": query.get("endpoint"),
        # Private objects; a download link, when there is one, is signed and lasts a minute.
        "default_acl": None,
        "querystring_auth": True,
        "querystring_expire": 60,
        "signature_version": "s3v4",
        # Names are random: no need to ask the server whether one is taken.
        "file_overwrite": True,
        # A download is spooled to a temporary file past 1 MB rather than held in memory, and an
        # upload streams from its temporary file in one request (no multipart parts in memory).
        "max_memory_size": 1024 * 1024,
        "transfer_config": TransferConfig(
            multipart_threshold=max(ATTACHMENT_MAX_BYTES + 1, 8 * 1024 * 1024), use_threads=False
        ),
    }
    if query.get("endpoint"):
        options["addressing_style"] = "path"  # MinIO, SeaweedFS, ...: one host for every bucket
    if parts.username:
        options["access_key"] = unquote(parts.username)
        options["secret_key"] = unquote(parts.password or "")
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


STORAGES["attachments"] = (
    s3_storage(ATTACHMENT_STORAGE_URL)
    if ATTACHMENT_STORAGE_URL
    else {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": ATTACHMENT_ROOT,
            # Readable by the app's own user only (django-helpdesk's CVE-2018-25111 was
            # world-readable uploads), and no URL: files are served by the ticket's view only.
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
            "base_url": "",
        },
    }
)

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Email: printed to the console by default; SMTP when EMAIL_HOST is set.
EMAIL_HOST = env_str("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
    EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
else:
    EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "helpdesk@localhost")
# Who is told about new tickets and about replies on unassigned ones; empty means every agent.
HELPDESK_STAFF_EMAILS = env_list("HELPDESK_STAFF_EMAILS")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The address customers write to (support@example.com). When set, every ticket email's Reply-To
# is its plus address (support+t12.<signature>@example.com), so a reply names its ticket.
HELPDESK_EMAIL = env_str("HELPDESK_EMAIL")

# The outbox (django-post-office): every email is a row written in the transaction of the change
# that caused it, sent by a task after the commit (accounts/outbox.py). A failed try is tried
# again after EMAIL_RETRY_INTERVAL seconds, then twice that, four times... (back-off), up to
# EMAIL_MAX_RETRIES more times; then the mail is "failed" and listed in the admin, which can send
# it again. Only failures are logged as rows (LOG_LEVEL 1).
POST_OFFICE = {
    "MAX_RETRIES": env_int("EMAIL_MAX_RETRIES", 8),
    "RETRY_INTERVAL": timedelta(seconds=env_int("EMAIL_RETRY_INTERVAL", 60)),
    "LOG_LEVEL": 1,
    "BATCH_SIZE": 50,
    # Its own Celery task would send every queued row from each worker at once; ours claim
    # each row before sending it (accounts/outbox.py).
    "CELERY_ENABLED": False,
}

# --- Request limits: a request over them gets the 400 page, which says which one --------------
# Django's defaults, stated: the largest form is a 20,000-character description (80 KB in UTF-8,
# 240 KB percent-encoded), and the admin's bulk actions send one field per ticket on a page (50).
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # 2.5 MB of request body, files excluded
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
# Longer query strings are refused (RequestInputMiddleware); gunicorn already refuses request
# lines over 4094 bytes, this also holds under other servers (and keeps SQLite's LIKE patterns,
# at most 50,000 bytes, within bounds for admin searches).
MAX_QUERY_STRING_LENGTH = 8192

# How many tickets a list page shows, and how many tickets a list counts and pages through at
# most (its most recently active; filters narrow it): counting all of a million is a full pass.
TICKETS_PER_PAGE = env_int("TICKETS_PER_PAGE", 25)
TICKET_LIST_LIMIT = env_int("TICKET_LIST_LIMIT", 10_000)
# The staff ticket page asks every TICKET_POLL_SECONDS who else has it open and whether a new
# message came; an agent counts as viewing for TICKET_PRESENCE_SECONDS after their page last
# asked (kept in the cache, not the database).
TICKET_POLL_SECONDS = env_int("TICKET_POLL_SECONDS", 20)
TICKET_PRESENCE_SECONDS = env_int("TICKET_PRESENCE_SECONDS", 50)

# Search (tickets/search.py). SEARCH_CONFIG is PostgreSQL's text search configuration for the
# tickets' and messages' search columns and for the queries: "simple" (words as written, lower
# case; see the README for why not "english"). It is read when the search columns are made: set
# it before the first migrate (the columns keep the configuration they were made with: changing
# it later takes a migration that makes them again).
SEARCH_CONFIG = env_str("SEARCH_CONFIG", "simple")
if not re.fullmatch(r"[a-z_][a-z0-9_]*", SEARCH_CONFIG):
    raise ImproperlyConfigured("SEARCH_CONFIG must be a text search configuration's name.")
# A search looks at this many of the newest matching tickets (by number) at most: it counts,
# sorts and ranks within them, so that a common word costs no more than a rare one (the page's
# cost grows with it: at a million tickets on PostgreSQL a common word took 50-60 ms with 1000,
# 17-25 ms with 200; bench/RESULTS.md).
SEARCH_MAX_HITS = env_int("SEARCH_MAX_HITS", 200)

# --- The REST API (/api/v1/, the api app) ---------------------------------------------------
# JSON in and out (multipart for files); the browser's session (with CSRF) or a personal token
# ("Authorization: Bearer hd_..."); one error shape (api/errors.py); cursor pagination.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First: its "Bearer" challenge makes a request without credentials a 401.
        "api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.ApiThrottle"],
    "DEFAULT_SCHEMA_CLASS": "api.errors.ApiSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_PAGINATION_CLASS": "api.pagination.NewestFirst",
    "PAGE_SIZE": env_int("API_PAGE_SIZE", 50),
}
# Requests per minute, counted in the shared cache (Redis when REDIS_URL is set): per token
# (or per signed-in user for the session), per client address when not signed in.
API_THROTTLE_RATES = {
    "user": env_str("API_THROTTLE_USER", "600/min"),
    "anon": env_str("API_THROTTLE_ANON", "60/min"),
    "search": env_str("API_THROTTLE_SEARCH", "60/min"),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Help desk API",
    "DESCRIPTION": (
        "Tickets, their conversation and files, for programs: the same rules as the pages. "
        "Authenticate with a personal token (Authorization: Bearer hd_...), made on your "
        "profile page, or with the browser's session (and its CSRF token)."
    ),
    "VERSION": "1",
    "OAS_VERSION": "3.1.0",
    "COMPONENT_SPLIT_REQUEST": True,
    # A change always names the version it is based on: PATCH bodies are not all-optional.
    "COMPONENT_SPLIT_PATCH": False,
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "tickets.models.Ticket.Status",
        "TicketPriorityEnum": "tickets.models.Ticket.Priority",
    },
}

# --- More than one machine: the cache (and the login lock-out's counts) in Redis ------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "helpdesk"),
            "TIMEOUT": 300,
        }
    }
    # Failed-login counts live where every app server sees them.
    AXES_HANDLER = "accounts.lockout.CacheHandler"
    # Sessions in the database, read through the shared cache.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.db"

# The rendered rows of the lists and conversations (tickets.templatetags.ticket_display.
# render_rows), kept by each process in its own memory: their keys are digests of what they show,
# so they are never stale, and a new release starts with new processes and an empty cache. With
# DEBUG (`make run`) a template edit shows at once, as Django's own template loader does.
CACHES["fragments"] = {
    "BACKEND": "django.core.cache.backends."
    + ("dummy.DummyCache" if DEBUG else "locmem.LocMemCache"),
    "LOCATION": "fragments",
    "TIMEOUT": 3600,
    "OPTIONS": {"MAX_ENTRIES": 20_000},
}

# --- Background work: Celery on the Redis broker ------------------------------------------------
# The Celery app is helpdesk_site/celery.py; tasks live in each app's tasks.py. Without a broker
# (`make run`) tasks run in the web process, after the commit that queued them.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    # Eager tasks still take a producer from Celery's pool: let it be an in-process transport,
    # never Celery's default guess (an AMQP server on localhost, which may be someone else's).
    CELERY_BROKER_URL = "memory://"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A request that queues mail while the broker is down waits at most about a second for it: the
# mail is in the outbox already, and the periodic task sends it once the broker is back.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 2,
    # Every key (queues, the workers' broadcasts) under one prefix, so deployments (and test
    # runs) can share one Redis database.
    "global_keyprefix": env_str("CELERY_KEY_PREFIX", "helpdesk-celery:"),
}
# The periodic task that sends whatever is due in the outbox (mail queued while the broker was
# down, retries after a failure), every OUTBOX_SEND_INTERVAL seconds. Beat runs it: in
# `make worker` (worker and beat in one), or once per deployment (README, "Workers").
CELERY_BEAT_SCHEDULE = {
    "send-outbox": {
        "task": "accounts.tasks.send_outbox",
        "schedule": float(env_int("OUTBOX_SEND_INTERVAL", 60)),
    },
}

# --- Inbound mail (messaging/inbound.py, messaging/mailbox.py) -----------------------------------
# The mailbox `manage.py fetch_mail` (and beat, every INBOUND_FETCH_INTERVAL seconds) reads:
# IMAP_SECURITY "ssl" (IMAPS, port 993 by default), "starttls" or "none" (143; loopback only).
# A processed mail is moved to IMAP_PROCESSED_FOLDER when set, else flagged \Seen (and only
# unseen mail is fetched). `manage.py ingest_email FILE|-` takes one mail from a mail server's
# pipe instead. Unset IMAP_HOST: nothing is fetched.
IMAP_HOST = env_str("IMAP_HOST")
IMAP_SECURITY = env_str("IMAP_SECURITY", "ssl").lower()
if IMAP_SECURITY not in {"ssl", "starttls", "none"}:
    raise ImproperlyConfigured(
        f"IMAP_SECURITY must be ssl, starttls or none, not {IMAP_SECURITY!r}."
    )
IMAP_PORT = env_int("IMAP_PORT", 993 if IMAP_SECURITY == "ssl" else 143)
IMAP_USER = env_str("IMAP_USER")
IMAP_PASSWORD = env_str("IMAP_PASSWORD")
IMAP_FOLDER = env_str("IMAP_FOLDER", "INBOX")
IMAP_PROCESSED_FOLDER = env_str("IMAP_PROCESSED_FOLDER")
IMAP_TIMEOUT = env_int("IMAP_TIMEOUT", 30)
INBOUND_FETCH_INTERVAL = env_int("INBOUND_FETCH_INTERVAL", 60)
# A mail larger than this is not downloaded (its size is asked first): its headers are kept.
INBOUND_MAX_BYTES = env_int("INBOUND_MAX_BYTES", 25 * 1024 * 1024)
# New tickets by mail from one sender in an hour; more are quarantined.
INBOUND_MAX_NEW_PER_HOUR = env_int("INBOUND_MAX_NEW_PER_HOUR", 10)
# A mail from an address no account has: "create" a customer account for it (no usable
# password: "forgot password" sets one), or "refuse" it (quarantined).
INBOUND_UNKNOWN_SENDERS = env_str("INBOUND_UNKNOWN_SENDERS", "create").lower()
if INBOUND_UNKNOWN_SENDERS not in {"create", "refuse"}:
    raise ImproperlyConfigured(
        f"INBOUND_UNKNOWN_SENDERS must be create or refuse, not {INBOUND_UNKNOWN_SENDERS!r}."
    )
if IMAP_HOST:
    CELERY_BEAT_SCHEDULE["fetch-mail"] = {
        "task": "messaging.tasks.fetch_mail",
        "schedule": float(INBOUND_FETCH_INTERVAL),
    }

# --- Sessions and cookies ---------------------------------------------------------------------
# Sessions end after this long without a request (kept alive by SessionIdleRefreshMiddleware),
# and when the browser closes if SESSION_EXPIRE_AT_BROWSER_CLOSE is set.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_TIMEOUT", 60 * 60 * 8)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", False)
SESSION_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "helpdesk_site.views.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# With DEBUG off the site is served over HTTPS (behind a proxy that terminates TLS, set
# SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto so Django knows the original scheme).
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
# The footer's language choice (django.views.i18n.set_language): a cookie like the session's.
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
_proxy_header = env_str("SECURE_PROXY_SSL_HEADER")
if _proxy_header:
    # "X-Forwarded-Proto" -> ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_header.upper().replace("-", "_"), "https")

# --- Content Security Policy: no inline scripts, nothing from other hosts ---------------------
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # Plotly and the admin set style attributes on elements; scripts stay strict.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
if ATTACHMENT_STORAGE_URL and ATTACHMENT_REDIRECT:
    # Image previews are then redirected to the object storage's signed URLs.
    from urllib.parse import urlsplit as _urlsplit

    _endpoint = STORAGES["attachments"]["OPTIONS"].get("endpoint_url")
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"].append(
        f"{_urlsplit(_endpoint).scheme}://{_urlsplit(_endpoint).netloc}"
        if _endpoint
        else "https://*.amazonaws.com"
    )

# --- Logging: to stdout, one line per request (helpdesk_site.middleware) ---------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        # One line per record: control characters a client sent are escaped (log_format.py).
        "line": {
            "()": "helpdesk_site.log_format.OneLineFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "line",
        }
    },
    "root": {"handlers": ["stdout"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        # The request middleware logs every request once; Django's own request log would
        # repeat the 4xx ones.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
    },
}
