"""Login is rate limited: in memory, in Redis, and still (in memory) when Redis is down."""

import socket
import uuid

import pytest

from config import TestingConfig
from marketplace import create_app
from marketplace.extensions import db as _db
from tests.conftest import Browser, IsolatedClient


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def _app(tmp_path, storage: str, *, trusted_proxies: int = 0):
    class Config(TestingConfig):
        TRUSTED_PROXIES = trusted_proxies
        INSTANCE_PATH = str(tmp_path)
        PLATFORM_KEY_PATH = str(tmp_path / "key.pem")
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'rl.sqlite'}"
        RATELIMIT_STORAGE_URI = storage
        RATELIMIT_KEY_PREFIX = f"test-{uuid.uuid4().hex}"
        LOGIN_RATE_LIMIT = "3 per minute"

    app = create_app(Config)
    app.test_client_class = IsolatedClient
    with app.app_context():
        _db.create_all()
    return app


def _browser(app, forwarded_for: str | None = None) -> Browser:
    client = app.test_client()
    # Every client reaches the app through the same proxy address, as behind nginx.
    client.environ_base["REMOTE_ADDR"] = "10.0.0.1"
    if forwarded_for:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return Browser(client)


def _attempts(app, n, *, forwarded_for: str | None = None):
    browser = _browser(app, forwarded_for)
    return [
        browser.post("/login", {"email": "x@example.com", "password": "wrong-password"},
                     form_url="/login").status_code
        for _ in range(n)
    ]


def test_memory_storage_limits_logins(tmp_path):
    codes = _attempts(_app(tmp_path, "memory://"), 5)
    assert codes[:3] == [200, 200, 200]
    assert codes[3:] == [429, 429]


@pytest.mark.skipif(not _redis_up(), reason="Redis is not running on 127.0.0.1:6379")
def test_redis_storage_limits_logins(tmp_path):
    codes = _attempts(_app(tmp_path, "redis://127.0.0.1:6379/0"), 5)
    assert codes[3:] == [429, 429]


def test_redis_down_falls_back_to_memory_not_500(tmp_path):
    app = _app(tmp_path, "redis://127.0.0.1:1/0")  # nothing listens on port 1
    codes = _attempts(app, 5)
    assert 500 not in codes
    assert codes[3:] == [429, 429]


def test_429_page_is_friendly(tmp_path):
    app = _app(tmp_path, "memory://")
    _attempts(app, 3)
    browser = _browser(app)
    resp = browser.post("/login", {"email": "x@example.com", "password": "x"}, form_url="/login")
    assert resp.status_code == 429
    assert "请稍候" in resp.get_data(as_text=True) or "wait" in resp.get_data(as_text=True)


def test_forwarded_for_is_ignored_without_trusted_proxies(tmp_path):
    """With TRUSTED_PROXIES=0 a client cannot dodge the limit by forging X-Forwarded-For."""
    app = _app(tmp_path, "memory://")
    assert _attempts(app, 3, forwarded_for="203.0.113.1") == [200, 200, 200]
    assert _attempts(app, 1, forwarded_for="203.0.113.2") == [429]


def test_behind_one_trusted_proxy_clients_have_their_own_limits(tmp_path):
    app = _app(tmp_path, "memory://", trusted_proxies=1)
    assert _attempts(app, 4, forwarded_for="203.0.113.1") == [200, 200, 200, 429]
    # Another visitor behind the same proxy is not locked out by the first one.
    assert _attempts(app, 3, forwarded_for="203.0.113.2") == [200, 200, 200]
    # A forged address in front of the real one does not help: the proxy appends the real one.
    assert _attempts(app, 1, forwarded_for="198.51.100.9, 203.0.113.1") == [429]
