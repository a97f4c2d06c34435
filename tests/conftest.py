"""Test fixtures: app, database (schema once per session, rows cleared per test), client."""

from __future__ import annotations

import contextlib
import os
import re
import socket

import pytest
import sqlalchemy as sa
from flask import g, has_app_context
from flask.testing import FlaskClient

from config import TestingConfig
from marketplace import create_app
from marketplace.extensions import db as _db
from marketplace.extensions import limiter as _limiter

# Fuzz tests: in CI the same examples every run (a failure reproduces, nothing flickers);
# locally a fresh draw each run finds new cases. Each test sets its own example budget.
try:
    from hypothesis import settings as _hypothesis_settings

    _hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
    _hypothesis_settings.register_profile("dev", database=None)
    _hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))
except ImportError:  # pragma: no cover - hypothesis is a dev requirement
    pass

KEEP_TABLES = {"holiday_calendar", "calendar_years"}


def _forget_test_commits() -> None:
    """A real request has its own session: what the test itself committed is not the request's.

    Tests share one session with the requests they make, so the search queue's post-commit hook
    (run at request teardown) would otherwise index, and roll back, the test's own work.
    Tests call ``process_queue`` when they mean to index.
    """
    _db.session.info.pop("search_committed", None)


class IsolatedClient(FlaskClient):
    """A test client whose requests do not share ``g`` with the test's app context.

    The ``db`` fixture keeps an app context pushed, and Flask reuses it for requests, so the
    per-request caches kept on ``g`` (Flask-Login's user, Flask-Babel's locale, Flask-WTF's
    CSRF token) would leak between requests and clients. A real server never shares them.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            g.__dict__.clear()
            _forget_test_commits()
        try:
            return super().open(*args, **kwargs)
        finally:
            if has_app_context():
                g.__dict__.clear()

    def session_transaction(self, *args, **kwargs):
        if has_app_context():
            _forget_test_commits()
        return super().session_transaction(*args, **kwargs)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Fail any test that connects anywhere but this machine."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "localhost", "::1") and not host.startswith("/"):
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session", autouse=True)
def _jobs_registered():
    """The domains' jobs, as ``create_app`` registers them, for tests that list the jobs
    before any app is built."""
    from marketplace.setup import register_jobs

    register_jobs()


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing():
    """argon2id at its lowest cost: the suite signs in thousands of times, and the cost
    parameters are not what it tests."""
    from argon2 import PasswordHasher

    from marketplace.core import passwords

    real = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    yield
    passwords._hasher = real


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    """One application for the whole run; the schema is created once."""
    instance = tmp_path_factory.mktemp("instance")

    class Config(TestingConfig):
        INSTANCE_PATH = str(instance)
        UPLOAD_FOLDER = str(instance / "uploads")
        PLATFORM_KEY_PATH = str(instance / "platform_ed25519.pem")

    worker_db = None
    if TestingConfig.SQLALCHEMY_DATABASE_URI.startswith("sqlite"):
        Config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{instance / 'test.sqlite'}"
    elif os.environ.get("PYTEST_XDIST_WORKER"):
        # Under pytest-xdist each worker has a database of its own beside the given one.
        worker_db = _create_worker_database(TestingConfig.SQLALCHEMY_DATABASE_URI,
                                            os.environ["PYTEST_XDIST_WORKER"])
        Config.SQLALCHEMY_DATABASE_URI = worker_db.render_as_string(hide_password=False)
    app = create_app(Config)
    _LIMITER_STATE.update(vars(_limiter))
    app.test_client_class = IsolatedClient
    with app.app_context():
        with _db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Start from nothing, whatever an older schema left behind.
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
        _db.drop_all()
        with _db.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        _db.create_all()
        from marketplace.workdays.services import seed_from_chinesecalendar

        seed_from_chinesecalendar()
        _db.session.commit()
        # The seeding's own audit event would otherwise open the chain of the first test only.
        _db.session.execute(sa.text("DELETE FROM audit_events"))
        _db.session.execute(sa.text("DELETE FROM audit_head"))
        _db.session.commit()
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()
    if worker_db is not None:
        _drop_database(worker_db)


def _admin_engine(url: sa.URL) -> sa.Engine:
    return sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


def _create_worker_database(base: str, worker: str) -> sa.URL:
    """``<given database>_<worker>`` (e.g. ``zj_ci_test_gw1``), created empty for this run."""
    url = sa.make_url(base)
    if not re.fullmatch(r"gw\d+", worker):
        raise RuntimeError(f"unexpected pytest-xdist worker id {worker!r}")
    name = f"{url.database}_{worker}"
    engine = _admin_engine(url)
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0'))
    engine.dispose()
    return url.set(database=name)


def _drop_database(url: sa.URL) -> None:
    engine = _admin_engine(url)
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    engine.dispose()


def _clear_tables() -> None:
    _db.session.remove()
    with _db.engine.begin() as conn:
        from marketplace.workdays.models import CalendarSource, CalendarYear, HolidayDay

        # Years entered by a test go; the seeded official years stay.
        conn.execute(sa.delete(HolidayDay).where(HolidayDay.source == CalendarSource.ADMIN))
        conn.execute(sa.delete(CalendarYear).where(CalendarYear.source == CalendarSource.ADMIN))
        tables = [t for t in _db.metadata.sorted_tables if t.name not in KEEP_TABLES]
        if conn.dialect.name == "postgresql":
            # TRUNCATE of every table cost ~2.4 s a test (a new file per table); most tests
            # touch a handful of tables, so find those in one query and DELETE their rows.
            probe = " UNION ALL ".join(
                f"SELECT {i} FROM (SELECT 1 FROM \"{t.name}\" LIMIT 1) AS s{i}"
                for i, t in enumerate(tables)
            )
            used = {row[0] for row in conn.execute(sa.text(probe))}
            for i in sorted(used, reverse=True):
                conn.execute(tables[i].delete())
            for i in used:
                for column in tables[i].columns:
                    if column.primary_key and column.autoincrement is not False and isinstance(
                        column.type, sa.Integer
                    ):
                        conn.execute(sa.text(
                            "SELECT setval(pg_get_serial_sequence(:t, :c), 1, false)"
                            " WHERE pg_get_serial_sequence(:t, :c) IS NOT NULL"
                        ), {"t": f'"{tables[i].name}"', "c": column.name})
        else:
            for table in reversed(tables):
                conn.execute(table.delete())


# Flask-Limiter keeps one storage per Limiter object, not per app: a test that creates an app of its
# own (another storage URI, a Redis that is down) re-points the shared limiter of the session app
# too. Its state is put back after every test, whatever order the tests run in (pytest-xdist).
_LIMITER_STATE: dict = {}


@pytest.fixture(autouse=True)
def _session_app_keeps_its_limiter():
    yield
    if _LIMITER_STATE:
        for name in set(vars(_limiter)) - set(_LIMITER_STATE):
            delattr(_limiter, name)
        vars(_limiter).update(_LIMITER_STATE)


@pytest.fixture
def db(app):
    """The database, empty but for the seeded calendar; cleared after the test."""
    ctx = app.app_context()
    ctx.push()
    try:
        yield _db
    finally:
        _clear_tables()
        ctx.pop()


@pytest.fixture
def english(app, db, monkeypatch):
    """The English UI by default, for tests that read the English source strings.

    zh_CN stays the product's default (tests of the Chinese UI leave this fixture out); a
    user's own language setting or ``?lang=`` still wins, as in the product.
    """
    from flask_babel import refresh

    monkeypatch.setitem(app.config, "BABEL_DEFAULT_LOCALE", "en")
    refresh()
    yield
    refresh()


@pytest.fixture
def client(app, db):
    return app.test_client()


@contextlib.contextmanager
def count_statements(db):
    """The SQL statements run inside the block, as a list that fills while it runs."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)


def extract_csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


class Browser:
    """A test client that fills in CSRF tokens the way a browser form would."""

    def __init__(self, client):
        self.client = client

    def csrf(self, url: str = "/") -> str:
        return extract_csrf(self.client.get(url).get_data(as_text=True))

    def post(self, url: str, data: dict | None = None, *, form_url: str | None = None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf(form_url or url))
        return self.client.post(url, data=data, **kwargs)

    def get(self, url: str, **kwargs):
        return self.client.get(url, **kwargs)

    def login(self, email: str, password: str):
        return self.post("/login", {"email": email, "password": password})

    def logout(self):
        return self.post("/logout", form_url="/")


@pytest.fixture
def browser(client):
    return Browser(client)


@pytest.fixture
def login_as(client):
    """Sign ``user`` in on the test client without going through the form."""

    def _login(user):
        with client.session_transaction() as sess:
            sess["_user_id"] = user.get_id()
            sess["_fresh"] = True
        return user

    return _login
