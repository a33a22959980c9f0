"""Django settings, read from the environment (see ``trustfabric.config``).

No configuration = embedded mode (SQLite under var/, in-process channel layer and Celery broker with a
worker thread). ``DATABASE_URL`` + ``REDIS_URL`` = production mode (PostgreSQL, Redis channel layer,
Redis broker, separate worker processes).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

from trustfabric import config

BASE_DIR = Path(__file__).resolve().parent.parent
RUNTIME = config.load(os.environ, BASE_DIR)
VAR_DIR = RUNTIME.var_dir
VAR_DIR.mkdir(parents=True, exist_ok=True)
(VAR_DIR / "staticfiles").mkdir(exist_ok=True)

SECRET_KEY = RUNTIME.secret_key
DEBUG = RUNTIME.debug
ALLOWED_HOSTS = list(RUNTIME.allowed_hosts)
CSRF_TRUSTED_ORIGINS = list(RUNTIME.csrf_trusted_origins)
TF_MODE = RUNTIME.mode
TF_EMBEDDED = RUNTIME.embedded

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "trustfabric",
    "accounts",
    "witness",
    "oncall",
    "studio",
    "pcq",
    "zktx",
    "compliance",
]

MIDDLEWARE = [
    "trustfabric.observability.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "trustfabric.handlers.ServiceErrorMiddleware",
]

ROOT_URLCONF = "trustfabric.urls"
ASGI_APPLICATION = "trustfabric.asgi.application"

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
                "trustfabric.context_processors.shell",
            ],
        },
    }
]

# --- databases -------------------------------------------------------------------------------------
if RUNTIME.embedded:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "trustfabric.sqlite3",
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # A file, not ":memory:", so that live-server, worker and test threads share one database.
            "TEST": {"NAME": str(VAR_DIR / f"test-trustfabric-{os.getpid()}.sqlite3")},  # one per test run
        }
    }
else:
    DATABASES = {
        # no persistent connections: under ASGI every request runs in its own thread and would leave its
        # connection open until PostgreSQL refuses new ones (Django's deployment docs; seen in bench/lac.py)
        "default": dj_database_url.parse(RUNTIME.database_url, conn_max_age=0)
    }
    DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- caches, channels, celery ---------------------------------------------------------------------------
if RUNTIME.embedded:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "trustfabric.realtime.EmbeddedChannelLayer"}}
    CELERY_BROKER_URL = "memory://localhost/"
    CELERY_RESULT_BACKEND = "cache+memory://"
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": RUNTIME.redis_url}
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [RUNTIME.redis_url], "prefix": os.environ.get("TF_CHANNEL_PREFIX", "tf")},
        }
    }
    CELERY_BROKER_URL = RUNTIME.redis_url
    CELERY_RESULT_BACKEND = RUNTIME.redis_url

CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES_NAMES = ("default", "replay", "zktx")
CELERY_TASK_ROUTES = {
    "pcq.tasks.replay_*": {"queue": "replay"},
    "pcq.tasks.canary_*": {"queue": "replay"},
    "zktx.tasks.*": {"queue": "zktx"},
}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
from celery.schedules import crontab  # noqa: E402 - only the beat schedule needs it

CELERY_BEAT_SCHEDULE: dict = {
    "witness-sequence": {"task": "witness.tasks.sequence", "schedule": 10.0},
    "witness-self-audit": {"task": "witness.tasks.self_audit", "schedule": 3600.0},
    "witness-prune": {"task": "witness.tasks.prune", "schedule": 86400.0},
    "oncall-escalate": {"task": "oncall.tasks.escalate_due", "schedule": 15.0},
    "oncall-slo-evaluate": {"task": "oncall.tasks.slo_evaluate", "schedule": 60.0},
    # collect yesterday's evidence, refresh gaps, notify owners of overdue gaps (05:30 UTC)
    "compliance-daily": {"task": "compliance.tasks.daily", "schedule": crontab(hour=5, minute=30)},
}
TF_BASE_URL = os.environ.get("TF_BASE_URL", "http://127.0.0.1:8000")
# request bodies held in memory: a ZK-TX holder set of 100k blinded elements is about 4.5 MB of JSON
# (Django's default, 2.5 MB, would cap a set near 55k elements); uploads to the compliance workspace
# stream to disk and have their own 20 MB limit
DATA_UPLOAD_MAX_MEMORY_SIZE = 16 * 1024 * 1024
# Witness log: batch delay before sequencing (seconds), and payload retention per statement type (days).
TF_WITNESS_BATCH_DELAY = float(os.environ.get("TF_WITNESS_BATCH_DELAY", "0.5"))
TF_WITNESS_RETENTION_DAYS = {"audit.event": 730, "zktx.transcript": 365}

# --- auth and security ----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if RUNTIME.behind_tls:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True

# --- i18n ------------------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español"), ("fr", "Français")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- static ----------------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": VAR_DIR / "media"},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # serve straight from the app folders when collectstatic has not run
WHITENOISE_AUTOREFRESH = DEBUG

# --- API -------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "trustfabric.api_errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Trust Fabric API",
    "DESCRIPTION": "Verifiable analytics, lawful data access and safe cross-partner deconfliction.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
}

# --- e-mail (console in embedded/demo; SMTP settings from the environment in production) -----------------
EMAIL_BACKEND = os.environ.get("TF_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("TF_DEFAULT_FROM_EMAIL", "trust-fabric@localhost")

# --- logging: one JSON object per line ------------------------------------------------------------------
LOG_LEVEL = os.environ.get("TF_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "ts", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "celery": {"level": "WARNING"},
        "uvicorn.access": {"level": "WARNING"},
    },
}
