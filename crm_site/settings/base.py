"""Settings read from the environment.

DATABASE_URL (PostgreSQL, the only database the site runs on) is required: `make demo`
and `make test` set it to an embedded server of their own. Without REDIS_URL, Celery
tasks run in-process (eager, exceptions propagate). DEBUG is on unless turned off.
Every variable is listed in .env.example.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=True)
DEV_SECRET_KEY = "dev-only-insecure-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz"
SECRET_KEY = env("DJANGO_SECRET_KEY", default=DEV_SECRET_KEY)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_celery_beat",
    "simple_history",
    "axes",
    "import_export",
    "csp",
    "crm_site",
    "customers",
    "followups",
    "complaints",
    "inspections",
    "satisfaction",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "crm_site.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "crm_site.middleware.DefaultLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "crm_site.middleware.AbsoluteSessionLimitMiddleware",
    "crm_site.middleware.NoStoreForSignedInMiddleware",
    "crm_site.validation.RefuseBadInputMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crm_site.urls"
WSGI_APPLICATION = "crm_site.wsgi.application"
ASGI_APPLICATION = "crm_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crm_site.context_processors.navigation",
            ],
        },
    },
]

# Database: PostgreSQL, always; no silent fallback to anything else.
DATABASE_URL = env("DATABASE_URL", default="")
if not DATABASE_URL.startswith(("postgres://", "postgresql://")):
    raise ImproperlyConfigured(
        "DATABASE_URL must name a PostgreSQL database, e.g. postgres://postgres@127.0.0.1:5432/crm"
        f" (it is {'unset' if not DATABASE_URL else 'not a postgres:// URL'}); `make demo` and"
        " `make test` start an embedded PostgreSQL themselves.")
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A streaming replica of that database (optional): dashboards, reports, customer analysis
# and exports read from it (crm_site.replica); writes and reads after a write stay on the
# primary. Unset: everything on the primary.
DATABASE_REPLICA_URL = env("DATABASE_REPLICA_URL", default="")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = {
        **env.db_url_config(DATABASE_REPLICA_URL),
        "ATOMIC_REQUESTS": False,
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": True,
        # Tests read the replica through the primary's test database.
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["crm_site.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "crm_site.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sessions: 30 minutes idle (renewed on every request), 12 hours at most.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_ABSOLUTE_SECONDS = env.int("SESSION_ABSOLUTE_SECONDS", default=12 * 60 * 60)
SESSION_COOKIE_HTTPONLY = True

# Login throttling (django-axes): 5 failures lock the user name from that address.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "crm_site.proxies.client_ip"

# The reverse proxies in front of the site (addresses or networks, comma separated, e.g.
# "172.16.0.0/12" for compose's network): X-Forwarded-For is believed only from them
# (crm_site.proxies.client_ip). Empty: the address the connection came from.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# Language and time: Simplified Chinese by default, English when chosen.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "crm_language"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# Behind nginx: the internal location that serves MEDIA_ROOT (e.g. /protected-media/);
# /media/ then answers with X-Accel-Redirect after its check. Empty: Django sends the file.
MEDIA_ACCEL_REDIRECT = env("MEDIA_ACCEL_REDIRECT", default="")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# REST API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "crm_site.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "crm_site.validation.FilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "crm_site.schema.AutoSchema",
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.NamespaceVersioning",
    "DEFAULT_VERSION": "v1",
    "ALLOWED_VERSIONS": ["v1"],
    "EXCEPTION_HANDLER": "crm_site.api.exception_handler",
    # crm_site.throttling: per user (session or token alike), before sign-in per address.
    "DEFAULT_THROTTLE_RATES": {
        "reveal": env("THROTTLE_REVEAL", default="120/hour"),
        "export": env("THROTTLE_EXPORT", default="30/hour"),
        "import": env("THROTTLE_IMPORT", default="30/hour"),
        "login": env("THROTTLE_LOGIN", default="30/minute"),
        "password_reset": env("THROTTLE_PASSWORD_RESET", default="10/hour"),
    },
}
# API tokens (issued in the admin) expire this many days after they were issued.
API_TOKEN_TTL_DAYS = env.int("API_TOKEN_TTL_DAYS", default=90)
SPECTACULAR_SETTINGS = {
    "TITLE": "Dealer CR API",
    "DESCRIPTION": "Customer-relations API of the dealership: customers, follow-ups, "
    "complaints, inspections and satisfaction. Session auth for the browser, "
    "token auth (Authorization: Token <key>) for integrations.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "crm_site.schema.local_times",
        "crm_site.schema.plausible_dates",
        "crm_site.schema.empty_query_means_absent",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ComplaintSeverityEnum": "complaints.models.Severity",
        "ComplaintChannelEnum": "complaints.models.Complaint.Channel",
        "ComplaintCategoryEnum": "complaints.models.Complaint.Category",
        "ComplaintDepartmentEnum": "complaints.models.Complaint.Department",
        "ComplaintStatusEnum": "complaints.models.Complaint.Status",
        "ComplaintContactChannelEnum": "complaints.services.CONTACT_CHANNEL_CHOICES",
        # The other "severity" field of the API, named so the two cannot collide.
        "InspectionSeverityEnum": "inspections.models.Severity",
        "LoungeVisitPurposeEnum": "followups.models.LoungeVisit.Purpose",
        "CustomerBandKindEnum": "satisfaction.models.CustomerBand.Kind",
        # Visit kinds: a visit's kind and the kinds that close a reminder programme.
        "RepairTypeEnum": "customers.models.ServiceVisit.RepairType",
    },
}

# Celery: over Redis when REDIS_URL is set, else in-process (eager).
REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Worker and beat wait out a broker outage of any length (retrying at most 30 s apart)
# instead of exiting after 100 tries; the jobs' state is in PostgreSQL meanwhile.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# Queues per job kind, so that workers scale out across machines and a long job never
# delays another kind: `celery -A crm_site worker -Q sweep` runs only the per-minute sweeps
# (README, "Scaling out"). Tasks not listed go to the default queue "celery". A worker
# started without -Q takes every queue below, as one worker did before.
CELERY_TASK_QUEUES = [Queue(name, Exchange(name), routing_key=name)
                      for name in ("celery", "planner", "sms", "sweep", "imports")]
CELERY_TASK_ROUTES = {
    "followups.tasks.plan_reminders": {"queue": "planner"},
    "crm_site.tasks.messages_*": {"queue": "sms"},
    "crm_site.tasks.robot_posts_*": {"queue": "sms"},
    "complaints.tasks.complaints_sweep": {"queue": "sweep"},
    "inspections.tasks.rectifications_mark_overdue": {"queue": "sweep"},
    "*.tasks.import*": {"queue": "imports"},
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The jobs beat runs are rows (django_celery_beat PeriodicTask), seeded once from
# crm_site/schedules.py by a data migration and changed on the schedules page; nothing
# here, so that a beat start never rewrites a changed schedule.
CELERY_BEAT_SCHEDULE = {}

# Personal data at rest (crm_site/crypto.py): Fernet keys, newest first (the first
# encrypts, all decrypt; rotate with `manage.py reencrypt_personal_data`), and the key of
# the keyed hash used to look identifiers up. The defaults are for development only;
# production settings require both from the environment.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS",
                                 default=["ZGV2LW9ubHktZmllbGQta2V5LWNoYW5nZS1tZS0wMDE="])
PERSONAL_DATA_HASH_KEY = env("PERSONAL_DATA_HASH_KEY",
                             default="dev-only-personal-data-hash-key-change-me")

# Imports (customers, manufacturer scores): bounded before a sheet is read
# (crm_site.spreadsheets): data rows, cells (rows x columns), an .xlsx's unzipped size.
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=20_000)
IMPORT_MAX_CELLS = env.int("IMPORT_MAX_CELLS", default=1_000_000)
IMPORT_MAX_UNZIPPED_MB = env.int("IMPORT_MAX_UNZIPPED_MB", default=100)

# Outbound SMS: China's SMS is template based (sign name, template code, parameters).
SMS_BACKEND = env("SMS_BACKEND", default="crm_site.sms.ConsoleBackend")
SMS_SIGN_NAME = env("SMS_SIGN_NAME", default="")
SMS_MAX_ATTEMPTS = env.int("SMS_MAX_ATTEMPTS", default=5)
SMS_TIMEOUT = env.float("SMS_TIMEOUT", default=10.0)
# The providers' default limits per number (one a minute, five an hour, ten a day) and
# the requests a second the account allows; 0 = no pacing.
SMS_RECIPIENT_INTERVAL_SECONDS = env.int("SMS_RECIPIENT_INTERVAL_SECONDS", default=60)
SMS_RECIPIENT_HOURLY_LIMIT = env.int("SMS_RECIPIENT_HOURLY_LIMIT", default=5)
SMS_RECIPIENT_DAILY_LIMIT = env.int("SMS_RECIPIENT_DAILY_LIMIT", default=10)
SMS_MAX_PER_SECOND = env.float("SMS_MAX_PER_SECOND", default=20)
# Receipts and replies: the secret last part of the callback URLs given to the provider
# (empty: callbacks refused), and/or polling every five minutes.
# Password reset by a code (SMS to the registered mobile, or e-mail through
# EMAIL_BACKEND): minutes a code is good for, codes a user may ask for an hour.
PASSWORD_RESET_CODE_MINUTES = env.int("PASSWORD_RESET_CODE_MINUTES", default=10)
PASSWORD_RESET_PER_HOUR = env.int("PASSWORD_RESET_PER_HOUR", default=3)
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="crm@localhost")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
# How often every page asks for the bell's unread count (htmx polling).
BELL_REFRESH_SECONDS = env.int("BELL_REFRESH_SECONDS", default=30)
# Where staff open the site, for links in robot messages (e.g. https://crm.example.com).
SITE_URL = env("SITE_URL", default="")
SMS_CALLBACK_TOKEN = env("SMS_CALLBACK_TOKEN", default="")
SMS_POLL = env.bool("SMS_POLL", default=False)
# Alibaba Cloud SMS (SMS_BACKEND=crm_site.sms.AliyunBackend)
ALIYUN_SMS_ENDPOINT = env("ALIYUN_SMS_ENDPOINT", default="https://dysmsapi.aliyuncs.com/")
ALIYUN_SMS_REGION = env("ALIYUN_SMS_REGION", default="cn-hangzhou")
ALIYUN_SMS_ACCESS_KEY_ID = env("ALIYUN_SMS_ACCESS_KEY_ID", default="")
ALIYUN_SMS_ACCESS_KEY_SECRET = env("ALIYUN_SMS_ACCESS_KEY_SECRET", default="")
# Tencent Cloud SMS (SMS_BACKEND=crm_site.sms.TencentBackend)
TENCENT_SMS_ENDPOINT = env("TENCENT_SMS_ENDPOINT", default="https://sms.tencentcloudapi.com/")
TENCENT_SMS_REGION = env("TENCENT_SMS_REGION", default="ap-guangzhou")
TENCENT_SMS_SECRET_ID = env("TENCENT_SMS_SECRET_ID", default="")
TENCENT_SMS_SECRET_KEY = env("TENCENT_SMS_SECRET_KEY", default="")
TENCENT_SMS_APP_ID = env("TENCENT_SMS_APP_ID", default="")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "crm_site.request_id.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

SIMPLE_HISTORY_HISTORY_ID_USE_UUID = False

# Content security policy: scripts only from our own static files, never inline.
# (Charts and JSON data use json_script blocks, which are data, not code.)
from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
