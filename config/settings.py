"""OneGrid settings: one module, driven by environment variables.

Two shapes of the same service:

* **embedded** (the default): SQLite in WAL mode, media on local disk, a Celery
  broker on the filesystem (kombu's filesystem transport) served to a real,
  separate worker process, and the change feed carried from any process to the
  ASGI process through the database itself.  Nothing to install but Python.
* **production** (``ONEGRID_ENV=production``): ``DATABASE_URL`` (PostgreSQL) and
  ``REDIS_URL`` (channel layer, Celery broker, cache).  Refuses to start with the
  embedded secret key or with DEBUG on.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


ONEGRID_ENV = env_str("ONEGRID_ENV", "embedded")
PRODUCTION = ONEGRID_ENV == "production"
VAR_DIR = Path(env_str("ONEGRID_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

EMBEDDED_SECRET_KEY = "onegrid-embedded-mode-insecure-secret-key-do-not-use-in-production"
SECRET_KEY = env_str("SECRET_KEY", EMBEDDED_SECRET_KEY)
DEBUG = env_bool("DEBUG", not PRODUCTION)

if PRODUCTION:
    if SECRET_KEY == EMBEDDED_SECRET_KEY or len(SECRET_KEY) < 32:
        raise ImproperlyConfigured(
            "ONEGRID_ENV=production needs SECRET_KEY set to a secret of 32+ characters."
        )
    if DEBUG:
        raise ImproperlyConfigured("ONEGRID_ENV=production refuses to start with DEBUG on.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver", "[::1]"])
# Browser pages allowed to open the GraphQL websocket besides the same origin.
# Native mobile clients send no Origin and are authenticated by their token.
WEBSOCKET_ALLOWED_ORIGINS = env_list(
    "WEBSOCKET_ALLOWED_ORIGINS",
    [] if PRODUCTION else ["http://127.0.0.1:8000", "http://localhost:8000"],
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "guardian",
    "strawberry_django",
    "accounts",
    "core",
    "gridapp",
    "approvals",
    "parks",
    "vision",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.actor.ActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

# --- database ---------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'onegrid.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the ASGI server read while the Celery worker writes; IMMEDIATE
        # takes the write lock up front instead of failing half-way on upgrade.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-onegrid.sqlite3")}
else:
    # A database that refuses or does not answer costs a request seconds, not the kernel's TCP timeout or a
    # 10-second wait for the pool: the request is then answered 503 database_unavailable (api.errors).
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int("DB_CONNECT_TIMEOUT", 3)
    if env_bool("DB_POOL", True) and not DATABASES["default"].get("CONN_MAX_AGE"):
        # Under ASGI every request would otherwise open its own connection (several ms on each request);
        # psycopg's pool keeps a few per process.  A request waits at most DB_POOL_TIMEOUT for one.
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": 1, "max_size": env_int("DB_POOL_MAX", 10), "timeout": env_int("DB_POOL_TIMEOUT", 3)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Covering indexes (INCLUDE) are PostgreSQL's; on SQLite Django leaves such an index out, which is fine for the
# embedded mode's small data.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
GUARDIAN_RAISE_403 = False
ANONYMOUS_USER_NAME = None  # no guardian anonymous user: anonymous sees nothing

# --- language and time --------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True  # stored in UTC
TIME_ZONE = "Asia/Shanghai"  # shown in Asia/Shanghai

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# Stored files (photos, documents, videos) go through the "default" storage only (core.files), so production
# may put them in an object store: FILE_STORAGE_BACKEND names the class (e.g. django-storages' S3 backend,
# installed beside), FILE_STORAGE_OPTIONS its options as JSON.
STORAGES = {
    "default": {"BACKEND": env_str("FILE_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"),
                "OPTIONS": json.loads(env_str("FILE_STORAGE_OPTIONS", "{}"))},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# GraphQL documents travel in the body; file uploads are counted separately.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 256 * 1024)
#: How every ASGI process is started (run_stack, the test stack, bench/fanout.py, README's production command):
#: no lifespan; websocket frames no larger than a request body; no permessage-deflate, whose compressor per
#: connection made 10,000 idle subscriptions cost 108 KiB each instead of 64 (`bench/fanout.py --only idle`),
#: for messages of a few hundred bytes (the default of Node's `ws` for the same reason).
UVICORN_ARGS = ["--lifespan", "off", "--ws-max-size", str(DATA_UPLOAD_MAX_MEMORY_SIZE), "--ws-per-message-deflate", "false"]
#: Allocations between two collections of the youngest generation in an ASGI process (config/asgi.py).
GC_GEN0_THRESHOLD = env_int("GC_GEN0_THRESHOLD", 2_000)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- redis: channel layer, broker, cache ----------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if PRODUCTION and not REDIS_URL:
    raise ImproperlyConfigured("ONEGRID_ENV=production needs REDIS_URL (channel layer and broker).")

# redis-py's default socket timeout (5 s) equals channels-redis's blocking receive (5 s): every idle receive
# would end in TimeoutError and close the websockets of its process.  Reads wait longer than any blocking
# command of ours; connecting fails fast, and idle connections are checked before use (a restarted Redis).
REDIS_SOCKET_TIMEOUT = float(env_str("REDIS_SOCKET_TIMEOUT", "30"))
REDIS_CONNECT_TIMEOUT = float(env_str("REDIS_CONNECT_TIMEOUT", "3"))
_REDIS_CONNECTION = {"socket_timeout": REDIS_SOCKET_TIMEOUT, "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
                     "socket_keepalive": True, "health_check_interval": 15, "retry_on_timeout": True}

#: Names the deployment's keys and channels in a Redis it may share: the channel layer's, the change announcements.
CHANNEL_PREFIX = env_str("CHANNEL_PREFIX", "onegrid")

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL, **_REDIS_CONNECTION}],
                       "prefix": CHANNEL_PREFIX},
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "OPTIONS": {"socket_timeout": REDIS_CONNECT_TIMEOUT,
                                      "socket_connect_timeout": REDIS_CONNECT_TIMEOUT}}}
    CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
    # A task a dead worker had taken (acks_late) goes back to the queue once it has been unacknowledged this
    # long: a killed task runs again within two minutes.  Every task's hard time limit is below it (a test
    # holds them to it), so a task still running is never handed out a second time.  Idle workers look for
    # such tasks every restore interval.
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 100),
        "unacked_restore_interval": env_int("CELERY_UNACKED_RESTORE_INTERVAL", 10),
        "unacked_restore_throttle": env_int("CELERY_UNACKED_RESTORE_THROTTLE", 1),
        **_REDIS_CONNECTION,
        # kombu blocks on the broker 1 s at a time; a write handing its task over waits at most this long for a
        # broker that accepts connections but does not answer (then the outbox's relay sends it).
        "socket_timeout": float(env_str("REDIS_BROKER_SOCKET_TIMEOUT", "5")),
    }
else:
    # In-process layer; the change watcher (api/feed.py) polls the change log so a
    # change committed by the Celery worker process still reaches subscribers here.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    BROKER_DIR = VAR_DIR / "broker"
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        # Broadcast (pidbox) exchanges; kombu's default is ./control in the cwd.
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }

CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 80
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"vision.tasks.*": {"queue": "vision"},
                      # the barrier cameras' plates are read by the same workers as the cameras' snapshots
                      "parks.tasks.barrier_plate_read_task": {"queue": "vision"}}
# A worker rides out a broker outage of any length: it reconnects with backoff forever instead of exiting.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_CONNECTION_TIMEOUT = 3
# A connection lost under a running late-acked task cannot acknowledge it: the broker hands it out again.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Tasks decided by writes wait in the outbox (core.outbox) until the broker takes them; each worker's relay
# looks for them this often, and sent ones are forgotten after this many hours.
OUTBOX_RELAY_SECONDS = float(env_str("OUTBOX_RELAY_SECONDS", "5"))
OUTBOX_KEEP_HOURS = float(env_str("OUTBOX_KEEP_HOURS", "24"))
# /healthz: a worker not heard of for this long is dead; a task queued longer than this means the workers lag.
HEALTH_WORKER_SILENCE_SECONDS = float(env_str("HEALTH_WORKER_SILENCE_SECONDS", "30"))
HEALTH_QUEUE_MAX_AGE_SECONDS = float(env_str("HEALTH_QUEUE_MAX_AGE_SECONDS", "300"))
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"

# --- auth tokens and throttling ---------------------------------------------------
ACCESS_TOKEN_TTL_SECONDS = env_int("ACCESS_TOKEN_TTL_SECONDS", 15 * 60)
REFRESH_TOKEN_TTL_SECONDS = env_int("REFRESH_TOKEN_TTL_SECONDS", 30 * 24 * 3600)
# A refresh token presented again this soon after its rotation, by the client that rotated it (the same address
# and user agent), gets the same new pair instead of ending the login: a phone's parallel requests and a retry
# after a lost answer are not theft.
REFRESH_TOKEN_REUSE_GRACE_SECONDS = env_int("REFRESH_TOKEN_REUSE_GRACE_SECONDS", 30)
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60)
# A phone that logged in keeps a device token: with it, the right password gets in even while strangers' guesses
# have locked the account (it has a failure limit of its own).
LOGIN_DEVICE_TOKEN_MAX_AGE_SECONDS = env_int("LOGIN_DEVICE_TOKEN_MAX_AGE_SECONDS", 365 * 24 * 3600)
# Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For is believed; none by default,
# so a client cannot pick the address it is throttled and audited under.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])

# --- GraphQL protection -------------------------------------------------------------
GRAPHQL = {
    "MAX_DEPTH": env_int("GRAPHQL_MAX_DEPTH", 10),
    "MAX_ALIASES": env_int("GRAPHQL_MAX_ALIASES", 30),
    "MAX_TOKENS": env_int("GRAPHQL_MAX_TOKENS", 2000),
    "MAX_DOCUMENT_BYTES": env_int("GRAPHQL_MAX_DOCUMENT_BYTES", 20_000),
    "MAX_PAGE_SIZE": env_int("GRAPHQL_MAX_PAGE_SIZE", 100),
    # A connection asked without first/last returns this many.
    "DEFAULT_PAGE_SIZE": env_int("GRAPHQL_DEFAULT_PAGE_SIZE", 20),
    "CACHE_SIZE": env_int("GRAPHQL_CACHE_SIZE", 256),
    "MAX_SUBSCRIPTIONS_PER_CONNECTION": env_int("GRAPHQL_MAX_SUBSCRIPTIONS", 10),
    "INTROSPECTION": env_bool("GRAPHQL_INTROSPECTION", not PRODUCTION),
    "MASK_ERRORS": env_bool("GRAPHQL_MASK_ERRORS", PRODUCTION),
    "GRAPHIQL": DEBUG,
}

# --- change feed --------------------------------------------------------------------
# How often the ASGI process looks at the change log by itself: the only signal in
# embedded mode, a safety net behind the channel layer in production.
CHANGE_POLL_SECONDS = float(env_str("CHANGE_POLL_SECONDS", "5" if REDIS_URL else "0.2"))

if PRODUCTION:
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # fontTools reports every glyph it keeps when matplotlib embeds the Chinese font in a PDF (the ledgers)
    "loggers": {"django.db.backends": {"level": "WARNING"}, "fontTools": {"level": "WARNING"}},
}

CELERY_BEAT_SCHEDULE = {
    "tokens-prune": {"task": "core.tasks.tokens_prune", "schedule": 6 * 3600.0},
    "events-escalate": {"task": "gridapp.tasks.events_escalate_task",
                        "schedule": float(env_str("EVENT_ESCALATION_CHECK_SECONDS", "60"))},
}

# --- incidents ------------------------------------------------------------------------
# A report of the same category this close to an open case, this soon after it, is linked to it.
EVENT_DUPLICATE_RADIUS_M = float(env_str("EVENT_DUPLICATE_RADIUS_M", "50"))
EVENT_DUPLICATE_WINDOW_HOURS = float(env_str("EVENT_DUPLICATE_WINDOW_HOURS", "24"))
# An overdue event climbs one level (grid -> community -> street -> command centre) each time it
# stays overdue for this fraction of its stage's hours (but at least the minimum).
EVENT_ESCALATION_STEP_FRACTION = float(env_str("EVENT_ESCALATION_STEP_FRACTION", "0.5"))
EVENT_ESCALATION_MIN_STEP_MINUTES = float(env_str("EVENT_ESCALATION_MIN_STEP_MINUTES", "30"))
EVENT_MAX_PHOTOS = env_int("EVENT_MAX_PHOTOS", 6)
EVENT_MAX_EXTENSION_HOURS = env_int("EVENT_MAX_EXTENSION_HOURS", 720)
# A photo whose EXIF position is farther than this from the reported place is refused.
PHOTO_GPS_TOLERANCE_M = float(env_str("PHOTO_GPS_TOLERANCE_M", "1000"))
PHOTO_MAX_BYTES = env_int("PHOTO_MAX_BYTES", 10 * 1024 * 1024)
PHOTO_MAX_PIXELS = env_int("PHOTO_MAX_PIXELS", 40_000_000)
PHOTO_MAX_SIDE = env_int("PHOTO_MAX_SIDE", 2048)
# Decoding is what a photo costs, by its pixels, not its bytes: the photos of one request together may declare
# this many pixels (six 12-megapixel phone photos), judged from their headers before any is decoded.  Timed by
#   DJANGO_SETTINGS_MODULE=config.settings .venv/bin/python -m timeit -n 1 -r 3 -s "import django, io;
#   django.setup(); from PIL import Image; from core.files.images import image_ingest; b = io.BytesIO();
#   Image.new('RGB', (8000, 5000)).save(b, 'PNG'); png = b.getvalue()" "image_ingest(upload=png)"
# (a 40-megapixel PNG that weighs little).
UPLOAD_MAX_PIXELS_PER_REQUEST = env_int("UPLOAD_MAX_PIXELS_PER_REQUEST", 72_000_000)
# Reports one person may send a minute (rate_limited after that); a device's alarms come through tasks instead.
EVENT_REPORTS_PER_MINUTE = env_int("EVENT_REPORTS_PER_MINUTE", 10)
# A multipart request (photos) larger than this is refused before it is read.
UPLOAD_MAX_REQUEST_BYTES = env_int("UPLOAD_MAX_REQUEST_BYTES", 40 * 1024 * 1024)
# Photo links in API answers are signed and expire.
PHOTO_URL_TTL_SECONDS = env_int("PHOTO_URL_TTL_SECONDS", 3600)
# Every other stored file (core.files): links live this long; PDFs and videos are checked under these limits
# (images under the PHOTO_* ones).  A video larger than UPLOAD_MAX_REQUEST_BYTES cannot come through /graphql/.
FILE_URL_TTL_SECONDS = env_int("FILE_URL_TTL_SECONDS", 3600)
FILE_PDF_MAX_BYTES = env_int("FILE_PDF_MAX_BYTES", 20 * 1024 * 1024)
FILE_PDF_MAX_PAGES = env_int("FILE_PDF_MAX_PAGES", 500)
FILE_VIDEO_MAX_BYTES = env_int("FILE_VIDEO_MAX_BYTES", 200 * 1024 * 1024)

# How long a process trusts its grid locator before checking for a new boundary generation.
LOCATOR_CHECK_SECONDS = float(env_str("LOCATOR_CHECK_SECONDS", "2"))

# --- cameras and AI -------------------------------------------------------------------
# Detector files live outside the var folder so that the test suite shares what `make models` fetched.
VISION_MODEL_DIR = Path(env_str("ONEGRID_MODEL_DIR", str(BASE_DIR / "var" / "models")))
# Ultralytics' settings and font folder (it must never reach for the network: YOLO_OFFLINE is set too).
VISION_CONFIG_DIR = Path(env_str("YOLO_CONFIG_DIR", str(VAR_DIR / "ultralytics")))
# "cpu", "cuda:0", ...; empty: CUDA when present, else the CPU.
VISION_DEVICE = env_str("VISION_DEVICE", "")
# "pt", "onnx" or "openvino" to run that format of a model where it is registered; empty: the fastest here.
VISION_BACKEND = env_str("VISION_BACKEND", "")
# Load the detectors in the background when a process starts (the ASGI servers answering photo suggestions,
# the vision workers), not on the first request.
VISION_PRELOAD = env_bool("VISION_PRELOAD", False)
# How long a process trusts what it read of the model registry (a registration in the process itself is seen
# at once).
VISION_REGISTRY_TTL_SECONDS = float(env_str("VISION_REGISTRY_TTL_SECONDS", "30"))
# CPU threads an inference process uses; 0: every core it may run on (one vision worker per machine).
VISION_THREADS = env_int("VISION_THREADS", 0)
VISION_CONFIDENCE = float(env_str("VISION_CONFIDENCE", "0.25"))
# Snapshots one inference call takes at most (cameras due together are batched).
VISION_BATCH_SIZE = env_int("VISION_BATCH_SIZE", 8)
# Threads a vision worker asks its cameras with (the pictures of a batch are fetched and decoded at once).
VISION_FETCH_THREADS = env_int("VISION_FETCH_THREADS", 8)
# Pictures per inference call within a batch (0: one on the CPU, the whole batch on a GPU).
VISION_DETECT_CHUNK = env_int("VISION_DETECT_CHUNK", 0)
# A camera that fails this many snapshots in a row is marked offline and a maintenance task is raised.
VISION_OFFLINE_AFTER = env_int("VISION_OFFLINE_AFTER", 3)
# The app waits this long for a photo's category suggestions; slower ones come by the subscription
# photoSuggestions, whose answers are kept this long.
VISION_SUGGEST_WAIT_SECONDS = float(env_str("VISION_SUGGEST_WAIT_SECONDS", "1.5"))
VISION_SUGGEST_KEEP_SECONDS = float(env_str("VISION_SUGGEST_KEEP_SECONDS", "3600"))
# Photos a server process holds for its detection thread at most; more are refused as busy.
VISION_SUGGEST_QUEUE = env_int("VISION_SUGGEST_QUEUE", 16)
# An ongoing situation's evidence picture is redrawn at most this often (drawing costs a share of an inference:
# `bench/vision.py` times the batches that draw evidence against bare inference).
VISION_EVIDENCE_REFRESH_SECONDS = float(env_str("VISION_EVIDENCE_REFRESH_SECONDS", "60"))
# A camera's incident is verified only once the camera has shown the place clear this long after the
# resolution; the problem coming back within this many hours of closing reopens it.
VISION_VERIFY_CLEAR_SECONDS = float(env_str("VISION_VERIFY_CLEAR_SECONDS", "600"))
VISION_RECURRENCE_HOURS = float(env_str("VISION_RECURRENCE_HOURS", "72"))
VISION_FETCH_TIMEOUT_SECONDS = float(env_str("VISION_FETCH_TIMEOUT_SECONDS", "5"))
VISION_SNAPSHOT_MAX_BYTES = env_int("VISION_SNAPSHOT_MAX_BYTES", 8 * 1024 * 1024)
# Where demo cameras' files (images, videos) are looked up when their address is relative.
VISION_DEMO_MEDIA_DIR = Path(env_str("VISION_DEMO_MEDIA_DIR", str(BASE_DIR / "var" / "models" / "media")))
CELERY_BEAT_SCHEDULE["cameras-sample"] = {"task": "vision.tasks.cameras_sample_task",
                                          "schedule": float(env_str("VISION_SAMPLE_CHECK_SECONDS", "5"))}

# --- Electronic certificates (approvals/, certkit/) -----------------------------------------------------------
# The address people and verifier apps reach OneGrid at: QR codes carry `<PUBLIC_URL>/V/<code>`, status lists
# are named `<PUBLIC_URL>/status/<n>`.  Upper case keeps a QR code's URL in its compact alphanumeric mode.
PUBLIC_URL = env_str("PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# The issuer named in every certificate (the CWT's `iss`).
CERTIFICATE_ISSUER = env_str("CERTIFICATE_ISSUER", PUBLIC_URL)
# The private halves of the issuer keys, one PEM file per key id, readable by the server's user only: in
# production a mounted secret, never the database.  `manage.py certificate_keys` rotates and withdraws them.
CERTIFICATE_KEY_DIR = Path(env_str("CERTIFICATE_KEY_DIR", str(VAR_DIR / "keys")))
# The prefix of a certificate code (the EU certificates' is `HC1:`).
CERTIFICATE_CODE_PREFIX = env_str("CERTIFICATE_CODE_PREFIX", "OG1:")
# A fetched status list may be reused this long (its `ttl`); a signed list stops being usable after
# STATUS_LIST_VALID_SECONDS (its `exp`), after which offline verifiers say they cannot tell.
STATUS_LIST_TTL_SECONDS = env_int("STATUS_LIST_TTL_SECONDS", 300)
STATUS_LIST_VALID_SECONDS = env_int("STATUS_LIST_VALID_SECONDS", 86400)
# Entries per status list: 131,072 at least, so that fetching a list says nothing about which certificate is checked.
STATUS_LIST_SIZE = max(131072, env_int("STATUS_LIST_SIZE", 131072))
# The key that identity numbers are matched (HMAC) and sealed (Fernet) under; derived from SECRET_KEY when unset.
IDENTITY_KEY = env_str("IDENTITY_KEY", "identity:" + SECRET_KEY)
# The shared government data sources that prove an application's materials (approvals/sources.py): per source
# its adapter and options, as JSON in APPROVAL_SOURCES (e.g. {"enterprise_registry": {"adapter":
# "approvals.sources.HttpSource", "url": "https://...", "timeout": 2}}); the demo registries by default.
APPROVAL_SOURCES = json.loads(env_str("APPROVAL_SOURCES", "{}")) or {
    code: {"adapter": "approvals.sources.DemoSource"}
    for code in ("enterprise_registry", "population_registry", "social_org_registry", "school_records")}
APPROVAL_SOURCE_TIMEOUT_SECONDS = float(env_str("APPROVAL_SOURCE_TIMEOUT_SECONDS", "3"))
CELERY_BEAT_SCHEDULE["certificates-expire"] = {"task": "approvals.tasks.certificates_expire_task",
                                               "schedule": float(env_str("CERTIFICATE_EXPIRE_CHECK_SECONDS", "600"))}

# --- Business parks: one code through every gate (parks/, passkit/) ---
# The parks' signing keys (Ed25519), one PEM per key id: a mounted secret in production, like CERTIFICATE_KEY_DIR.
PARK_KEY_DIR = Path(env_str("PARK_KEY_DIR", str(VAR_DIR / "park-keys")))
# A phone's pass code changes every PASS_STEP_SECONDS (RFC 6238's time step); a gate tolerates PASS_DRIFT_STEPS
# of clock drift either way (said in the passage), never more.
PASS_STEP_SECONDS = env_int("PASS_STEP_SECONDS", 30)
PASS_DRIFT_STEPS = env_int("PASS_DRIFT_STEPS", 1)
# A provisioned phone's credential lasts this long; provisioning again (rotation) replaces it at once.
PASS_CREDENTIAL_DAYS = env_int("PASS_CREDENTIAL_DAYS", 30)
# Someone whose last passage was in, longer ago than this, no longer counts as in the park (they left by a way
# without a scanner).
PRESENCE_HOURS = env_int("PRESENCE_HOURS", 16)
# The MQTT broker gates talk to (mqtt://host:port); empty: gates use HTTP only.  `manage.py park_gate_bridge` is
# OneGrid's side of it, started with the stack.
PARK_MQTT_URL = env_str("PARK_MQTT_URL", "")
PARK_MQTT_PREFIX = env_str("PARK_MQTT_PREFIX", "onegrid/parks")
CELERY_BEAT_SCHEDULE["charging-sessions-close-silent"] = {
    "task": "parks.tasks.charging_sessions_close_silent", "schedule": 900.0}
# Parking: a plate read below this confidence goes to the operator's queue, never to the barrier as a guess
# (bench/plates.py measures what each threshold keeps and how often what it keeps is wrong).
PARK_PLATE_MIN_CONFIDENCE = float(env_str("PARK_PLATE_MIN_CONFIDENCE", "0.9"))
# A visitor's car is let in from this many minutes before the visit.
PARK_VISITOR_EARLY_MINUTES = env_int("PARK_VISITOR_EARLY_MINUTES", 60)
CELERY_BEAT_SCHEDULE["parking-overstays-flag"] = {"task": "parks.tasks.overstays_flag_task", "schedule": 300.0}

# --- the sensor watch (gridapp.sensors) ---------------------------------------------------------------------------
# The meters' gateway publishes readings to this broker (mqtt://host:port) under SENSOR_MQTT_PREFIX/<serial>/readings;
# `manage.py meter_bridge` takes them, started with the stack when this is set.  Empty: readings come by GraphQL or CSV.
SENSOR_MQTT_URL = env_str("SENSOR_MQTT_URL", "")
SENSOR_MQTT_PREFIX = env_str("SENSOR_MQTT_PREFIX", "onegrid/meters")
# Readings are taken in transactions of this many; a gateway's GraphQL batch holds at most SENSOR_BATCH_MAX.
SENSOR_INGEST_CHUNK = env_int("SENSOR_INGEST_CHUNK", 5000)
SENSOR_BATCH_MAX = env_int("SENSOR_BATCH_MAX", 2000)
# A reading later than now plus this is refused (future_timestamp): the meters' clocks drift a little.
SENSOR_CLOCK_SKEW_SECONDS = env_int("SENSOR_CLOCK_SKEW_SECONDS", 300)
# Water used over an interval longer than this cannot tell whether it ran all the time: a pause for the leak rule.
SENSOR_RUN_GAP_MINUTES = env_int("SENSOR_RUN_GAP_MINUTES", 60)
CELERY_BEAT_SCHEDULE["sensors-watch"] = {"task": "gridapp.tasks.sensors_watch_task",
                                         "schedule": float(env_str("SENSOR_WATCH_CHECK_SECONDS", "300"))}
