"""Helpers every procurement module shares: the day in China, the language of the public record,
ids from the address bar, normalised codes and names, the request's row lock and the owner check.

It imports none of its sibling modules, so any of them may import it.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import Role, User
from marketplace.core.errors import DomainError, NotFound, PermissionDenied
from marketplace.extensions import db
from marketplace.procurement.models import PurchaseRequest

SYSTEM = "system"
SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_ID = 2**31 - 1


def china_date(moment: datetime) -> date:
    """The calendar day of ``moment`` in China: working days are counted on these."""
    return moment.astimezone(SHANGHAI).date()


def china_end_of_day(day: date) -> datetime:
    """23:59:59 on ``day`` in China, as aware UTC."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=SHANGHAI).astimezone(UTC)


def china_local_to_utc(naive: datetime) -> datetime:
    """A wall-clock time typed in China (no zone) as aware UTC."""
    return naive.replace(tzinfo=SHANGHAI).astimezone(UTC)


def record_text(message) -> str:
    """A (lazy) message as stored on the public record: in the platform's default language."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return str(message)


def _config(key: str) -> int:
    return int(current_app.config[key])


def _is_official(actor) -> bool:
    return isinstance(actor, User) and actor.role in (Role.ADMIN, Role.REGULATOR)


def _norm_person(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name or "").split()).casefold()


def _norm_code(value) -> str:
    return "".join(unicodedata.normalize("NFKC", str(value or "")).split()).upper()


def _lock_request(req: PurchaseRequest, *conditions, message) -> None:
    """Take the request's row lock and check ``conditions`` still hold, changing nothing visible.

    Whoever changes the request's status takes the same lock, so a bid that passes this check is
    committed before bidding closes or not at all; on SQLite the write lock does the same.

    Raises:
        DomainError: the conditions no longer hold (``message``).
    """
    db.session.flush()
    result = db.session.execute(
        sa.update(PurchaseRequest)
        .where(PurchaseRequest.id == req.id, *conditions)
        .values(updated_at=PurchaseRequest.updated_at)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise DomainError(message)


def get_by_id(model, obj_id) -> object:
    """A row by id, or NotFound (ids out of the integer range are not found, never an error)."""
    try:
        obj_id = int(obj_id)
    except (TypeError, ValueError):
        obj_id = 0
    obj = db.session.get(model, obj_id) if 0 < obj_id <= MAX_ID else None
    if obj is None:
        raise NotFound(_l("This page does not exist."))
    return obj


def _check_owner(req_or_case_org_id: int, actor) -> None:
    # Duck-typed: a signed-in user or an API token acting for its organisation (never SYSTEM).
    if not (getattr(actor, "role", None) is Role.ENTERPRISE_STAFF
            and actor.organisation_id == req_or_case_org_id):
        raise PermissionDenied(_l("Only the enterprise that owns this request can do this."))
