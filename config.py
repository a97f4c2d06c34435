"""Configuration classes, read from the environment (12-factor)."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_PATH", BASE_DIR / "instance"))


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database_url(default: str) -> str:
    url = os.environ.get("DATABASE_URL", default)
    # Heroku-style URLs and bare "postgresql://" both mean psycopg 3 here.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class Config:
    """Settings shared by every environment."""

    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    INSTANCE_PATH = str(INSTANCE_DIR)
    SQLALCHEMY_DATABASE_URI = _database_url(f"sqlite:///{INSTANCE_DIR / 'marketplace.sqlite'}")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SQLALCHEMY_RECORD_QUERIES = False

    # Sessions: short-lived, invalidated server-side through User.session_version.
    PERMANENT_SESSION_LIFETIME = 8 * 3600
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_DURATION = 0

    # Uploads and request bodies.
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", 16 * 1024 * 1024))
    UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER", str(INSTANCE_DIR / "uploads"))
    UPLOAD_MAX_BYTES = int(os.environ.get("UPLOAD_MAX_BYTES", 5 * 1024 * 1024))
    UPLOAD_ORG_QUOTA_BYTES = int(os.environ.get("UPLOAD_ORG_QUOTA_BYTES", 100 * 1024 * 1024))

    # AGPL-3.0 section 13: where users of this site can get its source code (shown in the footer).
    SOURCE_URL = os.environ.get("SOURCE_URL", "")

    # i18n
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = {"zh_CN": "简体中文", "en": "English"}

    # Rate limits: Redis when configured, memory otherwise (and as the fallback when Redis is down);
    # the sign-in limit is also counted in the database whenever Redis is not there.
    REDIS_URL = os.environ.get("REDIS_URL")
    RATELIMIT_STORAGE_URI = REDIS_URL or "memory://"
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_HEADERS_ENABLED = True
    # A Redis that hangs must not hang sign-ins: give up quickly and count in the database
    # (accounts.throttle), as when Redis refuses the connection.
    RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5} if REDIS_URL else {}
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are believed. 0
    # trusts none (a client could forge its address); behind one nginx, 1. The client address
    # keys the rate limits, so behind a proxy with 0 every visitor shares one limit.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", 0))

    # Security headers.
    FORCE_HTTPS = False

    # Platform signing key (Ed25519, PEM); generated under instance/ for development.
    PLATFORM_KEY_PATH = os.environ.get("PLATFORM_KEY_PATH", str(INSTANCE_DIR / "platform_ed25519.pem"))
    AUDIT_CHECKPOINT_EVERY = int(os.environ.get("AUDIT_CHECKPOINT_EVERY", 100))

    # Contract seal (PAdES) certificate: PEM key, certificate and issuing CA. None means a
    # self-signed development CA and seal certificate generated under instance/seal/.
    SEAL_KEY_PATH = os.environ.get("SEAL_KEY_PATH")
    SEAL_CERT_PATH = os.environ.get("SEAL_CERT_PATH")
    SEAL_CA_CERT_PATH = os.environ.get("SEAL_CA_CERT_PATH")
    SEAL_KEY_PASSPHRASE = os.environ.get("SEAL_KEY_PASSPHRASE")

    # Working-day calendar: years before this are not kept.
    CALENDAR_FIRST_YEAR = 2004

    # Procurement: bidding at least N working days; objection period; minimum valid bids;
    # abnormally low price = at least this % below the mean of the others or below the next bid.
    PROCUREMENT_MIN_BIDDING_DAYS = int(os.environ.get("PROCUREMENT_MIN_BIDDING_DAYS", 3))
    PROCUREMENT_OBJECTION_DAYS = int(os.environ.get("PROCUREMENT_OBJECTION_DAYS", 3))
    PROCUREMENT_MIN_VALID_BIDS = int(os.environ.get("PROCUREMENT_MIN_VALID_BIDS", 2))
    PROCUREMENT_MIN_VALID_BIDS_DIRECT = int(os.environ.get("PROCUREMENT_MIN_VALID_BIDS_DIRECT", 1))
    PROCUREMENT_ABNORMAL_MEAN_PCT = int(os.environ.get("PROCUREMENT_ABNORMAL_MEAN_PCT", 40))
    PROCUREMENT_ABNORMAL_NEXT_PCT = int(os.environ.get("PROCUREMENT_ABNORMAL_NEXT_PCT", 30))
    # Contracts: both parties sign within N working days of the final award.
    CONTRACT_SIGNING_DAYS = int(os.environ.get("CONTRACT_SIGNING_DAYS", 5))
    # Delivery: a revision request pauses the due-date clock until the resubmission (adds those days).
    DELIVERY_REVISION_PAUSES_CLOCK = _bool("DELIVERY_REVISION_PAUSES_CLOCK", True)
    # Termination: the enterprise may end a contract on its own once the result is overdue by
    # this many working days (or while the agency is suspended or blacklisted).
    CONTRACT_TERMINATION_OVERDUE_DAYS = int(os.environ.get("CONTRACT_TERMINATION_OVERDUE_DAYS", 10))

    # Payments: Stripe when STRIPE_SECRET_KEY is set, offline bank transfer otherwise. The
    # platform keeps PLATFORM_FEE_BASIS_POINTS (1/100 %) of each transfer to the agency.
    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY") or None
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET") or None
    STRIPE_CONNECT_RETURN_URL = os.environ.get("STRIPE_CONNECT_RETURN_URL") or (
        os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/") + "/payments/connect/return")
    PLATFORM_FEE_BASIS_POINTS = int(os.environ.get("PLATFORM_FEE_BASIS_POINTS", 0))

    # Ratings: the parties of a finished contract rate each other within N calendar days; the
    # ratings stay sealed until both have rated or the period ends.
    RATING_WINDOW_DAYS = int(os.environ.get("RATING_WINDOW_DAYS", 14))

    # Sanctions: the agency's response period before a decision and its appeal period (working
    # days); automatic triggers open a proposal for regulators (0 or "" switches a rule off).
    SANCTION_RESPONSE_DAYS = int(os.environ.get("SANCTION_RESPONSE_DAYS", 5))
    SANCTION_APPEAL_DAYS = int(os.environ.get("SANCTION_APPEAL_DAYS", 15))
    SANCTION_TRIGGER_GRADE = os.environ.get("SANCTION_TRIGGER_GRADE", "D")
    SANCTION_TRIGGER_COMPLAINTS = int(os.environ.get("SANCTION_TRIGGER_COMPLAINTS", 3))
    SANCTION_TRIGGER_REFUSALS = int(os.environ.get("SANCTION_TRIGGER_REFUSALS", 2))
    SANCTION_TRIGGER_WINDOW_DAYS = int(os.environ.get("SANCTION_TRIGGER_WINDOW_DAYS", 365))
    # Credit: regulators see agencies this many points above the lower bound of their grade.
    CREDIT_NEAR_THRESHOLD_POINTS = int(os.environ.get("CREDIT_NEAR_THRESHOLD_POINTS", 3))

    # Objections and complaints (working days): the enterprise answers an objection; the objector
    # escalates it after the answer; a regulator accepts or rejects a complaint, then decides it.
    COMPLAINTS_ANSWER_DAYS = int(os.environ.get("COMPLAINTS_ANSWER_DAYS", 3))
    COMPLAINTS_ESCALATION_DAYS = int(os.environ.get("COMPLAINTS_ESCALATION_DAYS", 5))
    COMPLAINTS_ACCEPTANCE_DAYS = int(os.environ.get("COMPLAINTS_ACCEPTANCE_DAYS", 5))
    COMPLAINTS_DECISION_DAYS = int(os.environ.get("COMPLAINTS_DECISION_DAYS", 30))

    # Full-text search: "whoosh" (embedded index under instance/) or "postgres" (several servers).
    SEARCH_BACKEND = os.environ.get("SEARCH_BACKEND", "whoosh")
    SEARCH_INDEX_DIR = os.environ.get("SEARCH_INDEX_DIR")  # default: <instance>/search_index
    # A damaged index this small is rebuilt during the request that finds it; bigger ones by the job.
    SEARCH_INLINE_REBUILD_MAX = int(os.environ.get("SEARCH_INLINE_REBUILD_MAX", 2000))
    # Matches the SQL back-ends (postgres, the LIKE fallback) read per search: counted, grouped for
    # the facets and ranked; a broader query shows "more than N results". Also the deepest page.
    SEARCH_MATCH_CAP = int(os.environ.get("SEARCH_MATCH_CAP", 1000))

    # The JSON API: requests per token (or per address without one).
    API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "120 per minute")

    # Event push: receivers must be public https:// addresses in production.
    WEBHOOK_ALLOW_HTTP = _bool("WEBHOOK_ALLOW_HTTP", False)
    WEBHOOK_ALLOW_PRIVATE = _bool("WEBHOOK_ALLOW_PRIVATE", False)

    # E-mail: off by default; notifications are always shown in the app.
    MAIL_ENABLED = _bool("MAIL_ENABLED", False)
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", 25))
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "noreply@zhongjie.invalid")
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")

    # Open Contracting (OCDS) export: the ocid prefix ("ocds-" + 6 characters). A deployment sets
    # the prefix it registered with the OCDS helpdesk; the default serves development and demos
    # (docs/ocds.md).
    OCDS_OCID_PREFIX = os.environ.get("OCDS_OCID_PREFIX", "ocds-zjm000-")

    DEMO_DATA = False
    TESTING = False


class DevelopmentConfig(Config):
    """Local development: SQLite under instance/, demo data loaded on first start."""

    DEBUG = True
    DEMO_DATA = True
    WEBHOOK_ALLOW_HTTP = True
    WEBHOOK_ALLOW_PRIVATE = True


class TestingConfig(Config):
    """The test suite: its own database (TEST_DATABASE_URL or a temporary SQLite file)."""

    TESTING = True
    SECRET_KEY = "testing-secret"  # noqa: S105 - the test suite only
    SQLALCHEMY_DATABASE_URI = _database_url(
        os.environ.get("TEST_DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'test.sqlite'}")
    )
    WTF_CSRF_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"
    LOGIN_RATE_LIMIT = "1000 per minute"
    WEBHOOK_ALLOW_HTTP = True
    WEBHOOK_ALLOW_PRIVATE = True
    SERVER_NAME = None


class ProductionConfig(Config):
    """Production: secrets from the environment, secure cookies, HTTPS only."""

    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    FORCE_HTTPS = _bool("FORCE_HTTPS", True)

    @classmethod
    def check(cls) -> None:
        """Refuse to start without the secrets production needs."""
        if not os.environ.get("SECRET_KEY"):
            raise RuntimeError("SECRET_KEY must be set in production")
        if not os.environ.get("DATABASE_URL"):
            raise RuntimeError("DATABASE_URL must be set in production")
        if not os.environ.get("REDIS_URL"):
            # Each gunicorn worker would count sign-ins on its own: 3 workers, 3 times the limit.
            raise RuntimeError("REDIS_URL must be set in production (a rate-limit store shared by all workers)")
        stripe_key = os.environ.get("STRIPE_SECRET_KEY") or ""
        if stripe_key and not os.environ.get("STRIPE_WEBHOOK_SECRET"):
            raise RuntimeError("STRIPE_WEBHOOK_SECRET must be set when STRIPE_SECRET_KEY is")
        if stripe_key.startswith(("sk_test_", "rk_test_")) and not _bool("STRIPE_ALLOW_TEST_KEY"):
            raise RuntimeError("a Stripe test key in production: set STRIPE_ALLOW_TEST_KEY=1 if meant")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    """Pick the configuration class named by APP_ENV (default: development)."""
    return CONFIGS[os.environ.get("APP_ENV", "development")]
