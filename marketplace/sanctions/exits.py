"""Exit from the market (清退): once a blacklisting is in force, ``signals.blacklist_in_force``
carries out the exit, once per case (at the decision, or by the job for a later start date).
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from marketplace.audit.services import record_event
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.sanctions import signals
from marketplace.sanctions._common import china_day
from marketplace.sanctions.models import SanctionCase, SanctionKind


def start_exit(case: SanctionCase, *, now: datetime | None = None) -> bool:
    """Carry out a blacklisting's exit once it is in force: send ``signals.blacklist_in_force``.

    Once per case (a conditional UPDATE on ``exit_started_at``), so the decision and the job, or
    two runners, never do it twice. Returns whether it was done now.
    """
    now = now or utcnow()
    if case.kind is not SanctionKind.BLACKLIST or case.exit_started_at is not None:
        return False
    if not case.is_in_force_on(china_day(now)):
        return False
    result = db.session.execute(
        sa.update(SanctionCase)
        .where(SanctionCase.id == case.id, SanctionCase.exit_started_at.is_(None))
        .values(exit_started_at=now).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    case.__dict__["exit_started_at"] = now
    record_event("sanction.exit_started", case, actor="system", payload={
        "case": case.reference, "agency": case.organisation_id, "start": case.start_date.isoformat(),
    })
    signals.blacklist_in_force.send(case, now=now)
    return True


def exits_due(now: datetime) -> list[int]:
    """Blacklistings in force today whose exit was not carried out yet (a later start date)."""
    from marketplace.sanctions.eligibility import in_force_sql

    return list(db.session.execute(
        sa.select(SanctionCase.id)
        .where(SanctionCase.kind == SanctionKind.BLACKLIST, SanctionCase.exit_started_at.is_(None),
               in_force_sql(SanctionCase, china_day(now)))
        .order_by(SanctionCase.id)
    ).scalars())


def exit_case_for(org_id: int, on: date | None = None) -> SanctionCase | None:
    """The blacklisting in force against an agency on ``on`` (default today), if any."""
    from marketplace.sanctions.eligibility import in_force_sql

    on = on or china_day(utcnow())
    return db.session.execute(
        sa.select(SanctionCase)
        .where(SanctionCase.organisation_id == org_id, SanctionCase.kind == SanctionKind.BLACKLIST,
               in_force_sql(SanctionCase, on))
        .order_by(SanctionCase.start_date).limit(1)
    ).scalar_one_or_none()
