"""Login is rate limited: in memory, in Redis, and still (in memory) when Redis is down."""

import socket
import uuid

import pytest
import sqlalchemy as sa

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


# --- the limit every worker shares without Redis (accounts.throttle, counted in the database) ---


def _serve(port: int, database_url: str, storage: str, limit: str, ready) -> None:
    """A separate process serving the app, as one gunicorn worker with its own memory."""
    import logging
    import warnings

    from werkzeug.serving import make_server

    # A server process, not a test: pytest's warnings-as-errors and log capture stay behind.
    warnings.resetwarnings()
    logging.getLogger().handlers.clear()

    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = database_url
        RATELIMIT_STORAGE_URI = storage
        LOGIN_RATE_LIMIT = limit

    server = make_server("127.0.0.1", port, create_app(Config), threaded=True)
    ready.put(port)
    server.serve_forever()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _two_workers_attempts(database_url: str, storage: str, n: int, limit: str) -> list:
    """``n`` quick wrong-password attempts of one client, alternating between two processes."""
    import multiprocessing
    import re

    import requests

    # fork: the children start with the app's modules already imported (spawn would import them
    # again in each, seconds on a busy machine); each builds its own app, engine and limiter.
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Queue()
    ports = [_free_port(), _free_port()]
    procs = [ctx.Process(target=_serve, args=(port, database_url, storage, limit, ready), daemon=True)
             for port in ports]
    for p in procs:
        p.start()
    try:
        for _ in procs:
            ready.get(timeout=60)
        session = requests.Session()  # one session cookie for both (same SECRET_KEY)
        page = session.get(f"http://127.0.0.1:{ports[0]}/login", timeout=10).text
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
        return [
            session.post(f"http://127.0.0.1:{ports[i % 2]}/login", timeout=10,
                         data={"csrf_token": token, "email": "x@example.com", "password": "wrong-password"})
            for i in range(n)
        ]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.join(timeout=10)


def _check_shared_limit(responses, limit: int) -> None:
    codes = [r.status_code for r in responses]
    assert 500 not in codes
    assert codes.count(200) == limit, codes  # each process's memory alone would let 2 × limit through
    assert codes[limit:] == [429] * (len(codes) - limit)
    assert "尝试次数过多" in responses[-1].text  # the translated refusal (zh_CN by default)


def test_two_workers_on_sqlite_share_the_sign_in_limit_without_redis(tmp_path):
    """Redis down (nothing listens on port 1): the limit holds across two server processes,
    not once per process."""
    import marketplace.models  # noqa: F401 - every table in the metadata

    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    engine = sa.create_engine(url)
    _db.metadata.create_all(engine)
    engine.dispose()
    _check_shared_limit(_two_workers_attempts(url, "redis://127.0.0.1:1/0", 8, "3 per day"), 3)


@pytest.mark.postgres
def test_two_workers_on_postgresql_share_the_sign_in_limit_without_redis(db):
    """Two processes (as two gunicorn workers) on one PostgreSQL database, Redis unreachable."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("runs against the PostgreSQL test database (TEST_DATABASE_URL)")
    url = db.engine.url.render_as_string(hide_password=False)
    _check_shared_limit(_two_workers_attempts(url, "redis://127.0.0.1:1/0", 12, "5 per day"), 5)


@pytest.mark.parametrize("storage", ["memory://", "redis://127.0.0.1:1/0"],
                         ids=["embedded-no-redis", "redis-unreachable"])
def test_without_a_shared_store_sign_ins_are_counted_in_the_database(tmp_path, storage):
    """The embedded default (no Redis) counts like a Redis that is down: in the database."""
    assert _attempts(app := _app(tmp_path, storage), 2) == [200, 200]
    assert _database_hits(app) == 2


@pytest.mark.skipif(not _redis_up(), reason="Redis is not running on 127.0.0.1:6379")
def test_with_redis_up_the_database_is_not_written(tmp_path):
    app = _app(tmp_path, "redis://127.0.0.1:6379/0")
    browser = _browser(app)
    # An address of its own: Redis outlives the test, and other tests' attempts stay counted there.
    browser.client.environ_base["REMOTE_ADDR"] = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"
    codes = [browser.post("/login", {"email": "x@example.com", "password": "wrong-password"},
                          form_url="/login").status_code for _ in range(2)]
    assert codes == [200, 200]
    assert _database_hits(app) is None


def _database_hits(app):
    from marketplace.accounts.models import LoginAttempt

    with app.app_context():
        return _db.session.execute(sa.select(sa.func.sum(LoginAttempt.hits))).scalar()


def test_the_job_deletes_the_counts_of_ended_windows(tmp_path):
    from datetime import UTC, datetime

    from marketplace.accounts import throttle
    from marketplace.jobs.runner import run_once

    app = _app(tmp_path, "memory://")
    now = datetime(2026, 6, 1, 10, 30, 30, tzinfo=UTC)
    with app.app_context():
        throttle.hit("login:203.0.113.1", "3 per minute", now=now.timestamp() - 120)
        throttle.hit("login:203.0.113.2", "3 per minute", now=now.timestamp() - 120)
        assert throttle.hit("login:203.0.113.1", "3 per minute", now=now.timestamp())
        assert _database_hits(app) == 2  # the first client's old window went with its next attempt
        app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
        assert run_once(now=now, only="accounts.login_attempts") == {"accounts.login_attempts": 1}
        assert _database_hits(app) == 1


def test_a_store_found_down_is_not_asked_again_on_every_sign_in(tmp_path, monkeypatch):
    """While Redis is away each sign-in would wait for its connection timeout: the verdict is kept."""
    from marketplace.accounts import throttle
    from marketplace.extensions import limiter

    app = _app(tmp_path, "redis://127.0.0.1:1/0")
    monkeypatch.setattr(throttle, "_down_until", {})
    asked = []

    def down():
        asked.append(1)
        raise ConnectionError("refused")

    now = [1000.0]
    with app.app_context():
        monkeypatch.setattr(limiter.storage, "check", down)
        assert [throttle.shared_store_available(clock=lambda: now[0]) for _ in range(5)] == [False] * 5
        assert len(asked) == 1
        now[0] += throttle.RETRY_DOWN_AFTER + 0.1
        monkeypatch.setattr(limiter.storage, "check", lambda: asked.append(1) or True)
        assert throttle.shared_store_available(clock=lambda: now[0]) is True
        assert len(asked) == 2
