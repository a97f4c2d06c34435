"""The sign-in limit when no shared rate-limit store answers: counted in the database.

Flask-Limiter keeps the limit in Redis, shared by every worker. Without Redis (the embedded
SQLite default) or while Redis is down, its fallback counts in each process's memory, so three
gunicorn workers let three times the limit through. The database is the one store every worker
has: this module counts the attempts there, per client address and fixed window, whenever the
shared store is not available; there is never "no limit".

The count is written in its own short transaction, so it holds whatever the sign-in does with
the request's session (a failed sign-in rolls that back).
"""

from __future__ import annotations

import logging
import time

import sqlalchemy as sa
from flask import current_app
from limits import parse

from marketplace.extensions import db, limiter

log = logging.getLogger(__name__)

# A store found down is not asked again for this long: each sign-in would otherwise wait for
# the connection timeout (0.5 s) while Redis is away. Its attempts are counted in the database.
RETRY_DOWN_AFTER = 5.0
_down_until: dict[str, float] = {}


def shared_store_available(*, clock=time.monotonic) -> bool:
    """Whether Flask-Limiter's store is one all workers share and it answers now."""
    uri = current_app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
    if uri.startswith("memory://"):
        return False
    if clock() < _down_until.get(uri, 0.0):
        return False
    try:
        up = bool(limiter.storage.check())
    except Exception:  # noqa: BLE001 - any failure of the store means "not available"
        up = False
    if not up:
        _down_until[uri] = clock() + RETRY_DOWN_AFTER
        log.warning(
            "rate-limit store %s does not answer; counting sign-ins in the database for %.0f s",
            uri.split("@")[-1], RETRY_DOWN_AFTER,
        )
    return up


def _upsert(key: str, window_start: int):
    from marketplace.accounts.models import LoginAttempt

    dialect = db.engine.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the app runs on SQLite and PostgreSQL only
        raise RuntimeError(f"no upsert for {dialect}")
    stmt = insert(LoginAttempt).values(key=key, window_start=window_start, hits=1)
    return stmt.on_conflict_do_update(
        index_elements=[LoginAttempt.key, LoginAttempt.window_start],
        set_={"hits": LoginAttempt.hits + 1},
    ).returning(LoginAttempt.hits)


def _window(limit: str, now: float) -> tuple[int, int]:
    item = parse(limit)
    period = item.get_expiry()
    return item.amount, int(now // period * period)


def hit(key: str, limit: str, *, now: float | None = None) -> bool:
    """Count one attempt of ``key`` against ``limit`` (e.g. "10 per minute"); False when over it."""
    from marketplace.accounts.models import LoginAttempt

    amount, window_start = _window(limit, time.time() if now is None else now)
    key = key[:100]
    # Its own connection and transaction: committed at once, whatever the request then does.
    # Only this key's past windows go here (no lock on other clients' rows); the job prunes the rest.
    with db.engine.begin() as conn:
        hits = conn.execute(_upsert(key, window_start)).scalar_one()
        conn.execute(
            sa.delete(LoginAttempt).where(
                LoginAttempt.key == key, LoginAttempt.window_start < window_start
            )
        )
    return hits <= amount


def prune_login_attempts(now) -> int:
    """Delete the counts of windows that have ended (the ``accounts.login_attempts`` job)."""
    from marketplace.accounts.models import LoginAttempt

    _, window_start = _window(current_app.config["LOGIN_RATE_LIMIT"], now.timestamp())
    result = db.session.execute(
        sa.delete(LoginAttempt).where(LoginAttempt.window_start < window_start)
    )
    return result.rowcount


def login_allowed(key: str) -> bool:
    """One sign-in attempt by ``key`` (the client address): False when it is over the limit.

    Only counted here when the shared store is not available; otherwise Flask-Limiter has
    counted it already.
    """
    if shared_store_available():
        return True
    return hit(f"login:{key}", current_app.config["LOGIN_RATE_LIMIT"])
