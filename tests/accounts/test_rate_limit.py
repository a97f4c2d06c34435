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


def _app(tmp_path, storage: str):
    class Config(TestingConfig):
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


def _attempts(app, n):
    browser = Browser(app.test_client())
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
    browser = Browser(app.test_client())
    resp = browser.post("/login", {"email": "x@example.com", "password": "x"}, form_url="/login")
    assert resp.status_code == 429
    assert "请稍候" in resp.get_data(as_text=True) or "wait" in resp.get_data(as_text=True)
