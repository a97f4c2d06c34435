"""Whether an agency is excluded (suspended or blacklisted) on a day: SQL first, Python from it.

A sanction is in force on day ``d`` when it is decided (and not revoked), ``start_date <= d``,
``d <= end_date`` (or no end), and it was not lifted by credit repair on or before ``d``.
Nothing is stored about it, so a suspension ends at midnight (Asia/Shanghai) by itself.

Other domains use:
- ``is_sanctioned(org_id, on)`` in Python checks (publishing, bidding, award);
- ``sanctioned_org_ids_sql(on)`` inside their queries: ``Org.id.not_in(sanctioned_org_ids_sql(d))``;
- ``sanctioned_sql(org_id_column, on)``: a correlated EXISTS for ``sa.not_(...)`` filters.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from marketplace.extensions import db
from marketplace.sanctions.models import EXCLUDING_KINDS, IN_FORCE_STATUSES, SanctionCase

SHANGHAI = ZoneInfo("Asia/Shanghai")


def today() -> date:
    """Today's date in China (Asia/Shanghai): the day sanctions are judged on."""
    return datetime.now(SHANGHAI).date()


def in_force_sql(case, on: date):
    """SQL over ``case`` (SanctionCase or an alias): the sanction applies on ``on``."""
    return sa.and_(
        case.status.in_(IN_FORCE_STATUSES),
        case.start_date <= on,
        sa.or_(case.end_date.is_(None), case.end_date >= on),
        sa.or_(case.repaired_on.is_(None), case.repaired_on > on),
    )


def listed_sql(case, on: date):
    """SQL over ``case``: on the public list on ``on`` (in force, or decided to start later)."""
    return sa.and_(
        case.status.in_(IN_FORCE_STATUSES),
        sa.or_(case.end_date.is_(None), case.end_date >= on),
        sa.or_(case.repaired_on.is_(None), case.repaired_on > on),
    )


def sanctioned_org_ids_sql(on: date) -> sa.Select:
    """SQL subquery: ids of the agencies suspended or blacklisted on ``on``."""
    case = aliased(SanctionCase, name="sanction_excluding")
    return (
        sa.select(case.organisation_id)
        .where(case.kind.in_(EXCLUDING_KINDS), in_force_sql(case, on))
        .distinct()
    )


def sanctioned_sql(org_id, on: date):
    """SQL: true when the agency in ``org_id`` (a column or expression) is excluded on ``on``."""
    case = aliased(SanctionCase, name="sanction_exists")
    return (
        sa.select(case.id)
        .where(case.organisation_id == org_id, case.kind.in_(EXCLUDING_KINDS), in_force_sql(case, on))
        .correlate_except(case)
        .exists()
    )


def is_sanctioned(org_id: int, on: date | None = None) -> bool:
    """Whether the agency is suspended or blacklisted on ``on`` (default: today in China)."""
    on = on or today()
    org_id = getattr(org_id, "id", org_id)
    return bool(db.session.execute(sa.select(sanctioned_sql(sa.literal(org_id), on))).scalar())


def sanctioned_ids(org_ids, on: date | None = None) -> set[int]:
    """Which of ``org_ids`` are excluded on ``on``, in one query."""
    ids = list({int(i) for i in org_ids})
    if not ids:
        return set()
    on = on or today()
    case = aliased(SanctionCase, name="sanction_batch")
    return set(db.session.execute(
        sa.select(case.organisation_id)
        .where(case.organisation_id.in_(ids), case.kind.in_(EXCLUDING_KINDS), in_force_sql(case, on))
    ).scalars())
