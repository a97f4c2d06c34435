"""The handling deadlines: periods of working days ending at 24:00 Beijing time, and what the
job (``jobs.run_complaint_deadlines``) asks for: objections whose answer or escalation period has
passed, objections made moot by a changed award, and overdue complaints to remind regulators of.

Regulators accept or reject (with a reason) a complaint within ``COMPLAINTS_ACCEPTANCE_DAYS``
working days (default 5) and decide an accepted one within ``COMPLAINTS_DECISION_DAYS`` (default
30). Past these deadlines a complaint shows as overdue on the regulators' work list and the job
tells the responsible regulators once.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from marketplace.complaints.models import (
    OPEN_OBJECTION_STATUSES,
    Complaint,
    ComplaintStatus,
    Objection,
    ObjectionStatus,
)
from marketplace.complaints.routing import _tell_regulators
from marketplace.extensions import db
from marketplace.procurement.models import PurchaseRequest, RequestStatus
from marketplace.workdays.services import add_working_days

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _days(key: str, default: int) -> int:
    return int(current_app.config.get(key, default))


def china_date(moment: datetime) -> date:
    """The calendar day of ``moment`` in China."""
    return moment.astimezone(SHANGHAI).date()


def deadline_after(moment: datetime, working_days: int) -> datetime:
    """24:00 Beijing time at the end of the ``working_days``-th working day after ``moment``."""
    day = add_working_days(china_date(moment), working_days)
    return datetime.combine(day, time(23, 59, 59), tzinfo=SHANGHAI).astimezone(UTC)


def china_text(moment: datetime | None) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else ""


# --- deadlines (the job) -----------------------------------------------------------------------


def unanswered_objection_ids(now: datetime) -> list[int]:
    """Submitted objections whose answer deadline has passed."""
    return list(db.session.execute(
        sa.select(Objection.id).where(Objection.status == ObjectionStatus.SUBMITTED,
                                      Objection.answer_deadline < now).order_by(Objection.id)
    ).scalars())


def moot_objection_ids() -> list[int]:
    """Open objections whose contested award no longer stands."""
    return list(db.session.execute(
        sa.select(Objection.id).join(PurchaseRequest, PurchaseRequest.id == Objection.request_id)
        .where(Objection.status.in_(OPEN_OBJECTION_STATUSES),
               sa.or_(PurchaseRequest.status != RequestStatus.AWARDED,
                      PurchaseRequest.awarded_org_id != Objection.award_org_id))
        .order_by(Objection.id)
    ).scalars())


def lapsed_objection_ids(now: datetime) -> list[int]:
    """Answered objections whose escalation period has ended."""
    return list(db.session.execute(
        sa.select(Objection.id).where(Objection.status == ObjectionStatus.ANSWERED,
                                      Objection.escalation_deadline < now).order_by(Objection.id)
    ).scalars())


def overdue_complaints(now: datetime) -> list[Complaint]:
    """Open complaints past their acceptance or decision deadline."""
    return list(db.session.execute(
        sa.select(Complaint).where(sa.or_(
            sa.and_(Complaint.status == ComplaintStatus.SUBMITTED, Complaint.acceptance_deadline < now),
            sa.and_(Complaint.status == ComplaintStatus.ACCEPTED, Complaint.decision_deadline < now),
        )).order_by(Complaint.id)
    ).scalars())


def remind_overdue(c: Complaint) -> int:
    """Tell the responsible regulators once per stage that ``c`` is overdue; returns how many."""
    return _tell_regulators(c, "complaints.complaint_overdue", key=f"complaints.overdue.{c.status.value}",
                            deadline=china_text(c.current_deadline))
