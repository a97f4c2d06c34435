"""Objections (质疑) to an award, from filing to their end.

During the objection period of an award (``PurchaseRequest.objection_deadline``) a bidder other
than the winner files an objection with its grounds and evidence. The enterprise answers within
``COMPLAINTS_ANSWER_DAYS`` working days (default 3, ending at 24:00 Beijing time). The objector
then accepts the answer or escalates it to a complaint before the regulator within
``COMPLAINTS_ESCALATION_DAYS`` working days (default 5); when that period ends in silence, the
job closes the objection as resolved: the answer stands.

An unanswered objection. Chinese procurement rules (政府采购质疑和投诉办法, arts. 13 and 17) let
the supplier complain to the supervising department when the purchaser does not answer in time;
the purchaser's silence must neither kill the objection nor hold the award back for ever. So
once the answer deadline has passed the enterprise can no longer answer here, the objector may
escalate at once, and the job escalates the objection automatically on its next run: the
regulator decides on the grounds as filed, and the complaint records that no answer came.

An open objection whose contested award no longer stands (passed on to another bidder, or the
request cancelled) is closed by the job.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from marketplace.accounts.models import Role, User
from marketplace.audit.services import record_event
from marketplace.complaints._common import (
    JOB,
    _attach,
    _file_refs,
    _link_complaint,
    _link_objection,
)
from marketplace.complaints.deadlines import _days, china_text, deadline_after
from marketplace.complaints.events import _emit_objection
from marketplace.complaints.handling import _new_complaint
from marketplace.complaints.models import (
    OPEN_OBJECTION_STATUSES,
    TEXT_MAX,
    Complaint,
    ComplaintCategory,
    ComplaintKind,
    Objection,
    ObjectionStatus,
)
from marketplace.complaints.states import OBJECTION_MACHINE
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, InvalidTransition, PermissionDenied
from marketplace.core.text import clean_text
from marketplace.extensions import db
from marketplace.notifications.services import notify_organisation
from marketplace.procurement.models import Bid, BidStatus, PurchaseRequest, RequestStatus


def _bidder_ids(req: PurchaseRequest) -> set[int]:
    return set(db.session.execute(
        sa.select(Bid.agency_id).where(Bid.request_id == req.id, Bid.status != BidStatus.WITHDRAWN)
    ).scalars())


def live_objection(req: PurchaseRequest, org_id: int) -> Objection | None:
    """The organisation's objection to ``req`` that is still a draft or open, if any."""
    return db.session.execute(
        sa.select(Objection).where(Objection.request_id == req.id, Objection.objector_org_id == org_id,
                                   Objection.status.in_((ObjectionStatus.DRAFT, *OPEN_OBJECTION_STATUSES)))
    ).scalar_one_or_none()


def objection_period_open(req: PurchaseRequest, now: datetime) -> bool:
    """Whether objections to the award may be filed now."""
    return (req.status is RequestStatus.AWARDED and req.award_finalised_at is None
            and req.objection_deadline is not None and now < req.objection_deadline)


def objection_problems(req: PurchaseRequest, user, now: datetime) -> list:
    """Why ``user``'s agency may not object to the award of ``req`` now (empty: it may)."""
    if getattr(user, "role", None) is not Role.AGENCY_STAFF:
        return [_l("Only a bidder can object to a result.")]
    if not objection_period_open(req, now):
        return [_l("The objection period of this result is over (or the result is not published).")]
    org_id = user.organisation_id
    if org_id == req.awarded_org_id:
        return [_l("The selected agency cannot object to its own award.")]
    if org_id not in _bidder_ids(req):
        return [_l("Only an agency that bid on this request can object to its result.")]
    if live_objection(req, org_id) is not None:
        return [_l("Your agency already has an objection to this result.")]
    return []


def _require_objector(obj: Objection, actor) -> None:
    if getattr(actor, "role", None) is not Role.AGENCY_STAFF or actor.organisation_id != obj.objector_org_id:
        raise PermissionDenied(_l("Only the agency that filed the objection may do this."))


def _lock_award_open(req: PurchaseRequest, now: datetime) -> None:
    """Take the request's row lock while the objection period is open, else refuse.

    ``finalise_award`` updates the same row, so an objection and the final award cannot both
    win: whichever commits second sees the other's change.

    Raises:
        DomainError: the objection period is over or the award is final.
    """
    db.session.flush()
    done = db.session.execute(
        sa.update(PurchaseRequest)
        .where(PurchaseRequest.id == req.id, PurchaseRequest.status == RequestStatus.AWARDED,
               PurchaseRequest.award_finalised_at.is_(None), PurchaseRequest.objection_deadline > now)
        .values(updated_at=PurchaseRequest.updated_at)
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        db.session.rollback()
        raise DomainError(_l("The objection period of this result is over."))


def file_objection(req: PurchaseRequest, *, grounds: str, files=(), actor: User, submit: bool = True,
                   now: datetime | None = None) -> Objection:
    """A bidder writes an objection with its grounds and evidence; submitted at once unless ``submit``
    is False (then it stays a draft the objector submits later).

    Raises:
        PermissionDenied / DomainError: not a bidder, the winner, the period is over, an objection
            exists already, the grounds are empty or too long, a file is refused.
    """
    now = now or utcnow()
    problems = objection_problems(req, actor, now)
    if problems:
        raise DomainError(problems[0])
    grounds = clean_text(grounds, max_len=TEXT_MAX, field="grounds", multiline=True)
    obj = Objection(request_id=req.id, objector_org_id=actor.organisation_id, award_org_id=req.awarded_org_id,
                    grounds=grounds, status=ObjectionStatus.DRAFT, created_by_id=actor.id, created_at=now)
    db.session.add(obj)
    try:
        db.session.flush()
    except IntegrityError as exc:
        # The unique index on live objections: a double click or a second tab filed one first.
        db.session.rollback()
        raise DomainError(_l("Your agency already has an objection to this result.")) from exc
    items = _attach(files, owner_org_id=actor.organisation_id, actor=actor, objection=obj)
    record_event("objection.drafted", obj, actor=actor, payload={
        "request": req.id, "against": req.awarded_org_id, "files": _file_refs(items),
    })
    if submit:
        submit_objection(obj, actor=actor, now=now)
    return obj


def submit_objection(obj: Objection, *, actor: User, now: datetime | None = None) -> Objection:
    """The objector submits its draft before the objection deadline; the enterprise's answer
    period starts.

    Raises:
        PermissionDenied: not the objector's staff.
        DomainError: the objection period is over.
        InvalidTransition / ConcurrentUpdate: not a draft any more.
    """
    now = now or utcnow()
    _require_objector(obj, actor)
    if obj.status is not ObjectionStatus.DRAFT:
        raise InvalidTransition(_l("This objection was submitted already."))
    req = obj.request
    _lock_award_open(req, now)
    if req.awarded_org_id != obj.award_org_id:
        raise DomainError(_l("The award has changed since you wrote this objection; write a new one."))
    days = _days("COMPLAINTS_ANSWER_DAYS", 3)
    obj.submitted_at = now
    obj.answer_deadline = deadline_after(now, days)
    OBJECTION_MACHINE.transition(obj, ObjectionStatus.SUBMITTED, actor=actor, payload={
        "answer_deadline": obj.answer_deadline.isoformat(), "working_days": days,
    })
    notify_organisation(req.enterprise, "complaints.objection_submitted",
                        params={"ref": obj.reference, "request": req.reference,
                                "deadline": china_text(obj.answer_deadline)},
                        link=_link_objection(obj), due_at=obj.answer_deadline,
                        dedupe_key=f"complaints.objection_submitted:{obj.id}")
    _emit_objection(obj, "objection.submitted")
    return obj


def can_answer(obj: Objection, user, now: datetime) -> bool:
    """Whether ``user`` may answer the objection now (the enterprise, before the deadline)."""
    return (obj.status is ObjectionStatus.SUBMITTED and getattr(user, "role", None) is Role.ENTERPRISE_STAFF
            and user.organisation_id == obj.request.enterprise_id and now <= obj.answer_deadline)


def answer_objection(obj: Objection, *, text: str, files=(), actor: User, now: datetime | None = None) -> Objection:
    """The enterprise answers the objection before its deadline; the objector's escalation period starts.

    Raises:
        PermissionDenied: not the enterprise's staff.
        DomainError: empty or too long, or the answer deadline has passed.
        InvalidTransition / ConcurrentUpdate: not waiting for an answer.
    """
    now = now or utcnow()
    req = obj.request
    if getattr(actor, "role", None) is not Role.ENTERPRISE_STAFF or actor.organisation_id != req.enterprise_id:
        raise PermissionDenied(_l("Only the enterprise that posted the request may answer."))
    text = clean_text(text, max_len=TEXT_MAX, field="text", multiline=True)
    if obj.status is not ObjectionStatus.SUBMITTED:
        raise InvalidTransition(_l("This objection is not waiting for an answer."))
    if now > obj.answer_deadline:
        raise DomainError(_l("The answer deadline has passed; the objection goes to the regulator."))
    items = _attach(files, owner_org_id=req.enterprise_id, actor=actor, objection=obj)
    days = _days("COMPLAINTS_ESCALATION_DAYS", 5)
    obj.answer_text = text
    obj.answered_at = now
    obj.answered_by_id = actor.id
    obj.escalation_deadline = deadline_after(now, days)
    OBJECTION_MACHINE.transition(obj, ObjectionStatus.ANSWERED, actor=actor, payload={
        "escalation_deadline": obj.escalation_deadline.isoformat(), "files": _file_refs(items),
    })
    notify_organisation(obj.objector, "complaints.objection_answered",
                        params={"ref": obj.reference, "deadline": china_text(obj.escalation_deadline)},
                        link=_link_objection(obj), due_at=obj.escalation_deadline,
                        dedupe_key=f"complaints.objection_answered:{obj.id}")
    _emit_objection(obj, "objection.answered")
    return obj


def accept_answer(obj: Objection, *, actor, now: datetime | None = None) -> Objection:
    """The objector accepts the answer (or, with ``actor`` the job, the escalation period ended).

    Raises:
        PermissionDenied: not the objector's staff.
        InvalidTransition / ConcurrentUpdate: not answered (or closed meanwhile).
    """
    now = now or utcnow()
    if actor != JOB:
        _require_objector(obj, actor)
    if obj.status is not ObjectionStatus.ANSWERED:
        raise InvalidTransition(_l("Only an answered objection can be closed this way."))
    obj.closed_at = now
    obj.closing_note = ("accepted by the objector" if actor != JOB
                        else "the escalation period ended without an escalation")
    OBJECTION_MACHINE.transition(obj, ObjectionStatus.RESOLVED, actor=actor, reason=obj.closing_note)
    for org in (obj.request.enterprise, obj.objector):
        notify_organisation(org, "complaints.objection_resolved", params={"ref": obj.reference},
                            link=_link_objection(obj), dedupe_key=f"complaints.objection_resolved:{obj.id}")
    _emit_objection(obj, "objection.resolved", closed_because="answer_accepted" if actor != JOB else "lapsed")
    return obj


def close_moot_objection(obj: Objection, *, now: datetime | None = None) -> Objection:
    """The job closes an open objection whose contested award no longer stands (the award passed
    on, or the request was cancelled or failed): there is nothing left to answer.

    Raises:
        DomainError: the contested award still stands.
        InvalidTransition / ConcurrentUpdate: not open (or moved meanwhile).
    """
    now = now or utcnow()
    req = obj.request
    if req.status is RequestStatus.AWARDED and req.awarded_org_id == obj.award_org_id:
        raise DomainError(_l("The contested award still stands."))
    obj.closed_at = now
    obj.closing_note = "the contested award no longer stands"
    OBJECTION_MACHINE.transition(obj, ObjectionStatus.RESOLVED, actor=JOB, reason=obj.closing_note)
    for org in (req.enterprise, obj.objector):
        notify_organisation(org, "complaints.objection_moot", params={"ref": obj.reference},
                            link=_link_objection(obj), dedupe_key=f"complaints.objection_moot:{obj.id}")
    _emit_objection(obj, "objection.resolved", closed_because="award_changed")
    return obj


def can_escalate(obj: Objection, now: datetime) -> bool:
    """Whether the objection may go to the regulator now (answered, or its answer is overdue)."""
    if obj.status is ObjectionStatus.ANSWERED:
        return now <= obj.escalation_deadline
    return obj.status is ObjectionStatus.SUBMITTED and now > obj.answer_deadline


def escalate_objection(obj: Objection, *, actor, reasons: str = "", now: datetime | None = None) -> Complaint:
    """The objection becomes a complaint before the regulator (by the objector, or by the job once
    the answer deadline passed unanswered). ``reasons``: why the answer does not satisfy.

    Raises:
        PermissionDenied: not the objector's staff.
        DomainError: the escalation period is over, or the answer period still runs.
        InvalidTransition / ConcurrentUpdate: not open (or escalated meanwhile).
    """
    now = now or utcnow()
    if actor != JOB:
        _require_objector(obj, actor)
    reasons = clean_text(reasons, max_len=TEXT_MAX, field="reasons", required=False, multiline=True)
    if obj.status not in OPEN_OBJECTION_STATUSES:
        raise InvalidTransition(_l("This objection is closed."))
    if not can_escalate(obj, now):
        if obj.status is ObjectionStatus.SUBMITTED:
            raise DomainError(_l("The enterprise may still answer until %(deadline)s.",
                                 deadline=china_text(obj.answer_deadline)))
        raise DomainError(_l("The period to escalate this objection is over."))
    unanswered = obj.status is ObjectionStatus.SUBMITTED
    obj.closed_at = now
    obj.closing_note = ("escalated: the enterprise did not answer in time" if unanswered
                        else "escalated by the objector")
    OBJECTION_MACHINE.transition(obj, ObjectionStatus.ESCALATED, actor=actor, reason=obj.closing_note)
    grounds = obj.grounds
    if reasons:
        grounds = f"{grounds}\n\n—— {reasons}"
    req = obj.request
    complaint = _new_complaint(
        kind=ComplaintKind.OBJECTION, category=ComplaintCategory.PROCUREMENT, req=req, objection=obj,
        complainant_org_id=obj.objector_org_id, agency_org_id=obj.award_org_id, grounds=grounds[:TEXT_MAX * 2],
        actor=actor, now=now, extra={"objection": obj.id, "unanswered": unanswered},
    )
    for org in (obj.objector, req.enterprise):
        notify_organisation(org, "complaints.objection_escalated",
                            params={"ref": obj.reference, "complaint": complaint.reference},
                            link=_link_complaint(complaint),
                            dedupe_key=f"complaints.objection_escalated:{obj.id}")
    _emit_objection(obj, "objection.escalated", unanswered=unanswered, complaint_id=complaint.id,
                    complaint_reference=complaint.reference)
    return complaint
