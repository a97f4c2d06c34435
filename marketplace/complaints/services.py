"""Objections (质疑), complaints (投诉) and service complaints: the rules and their deadlines.

Objections. During the objection period of an award (``PurchaseRequest.objection_deadline``) a
bidder other than the winner files an objection with its grounds and evidence. The enterprise
answers within ``COMPLAINTS_ANSWER_DAYS`` working days (default 3, ending at 24:00 Beijing time).
The objector then accepts the answer or escalates it to a complaint before the regulator within
``COMPLAINTS_ESCALATION_DAYS`` working days (default 5); when that period ends in silence, the
job closes the objection as resolved: the answer stands.

An unanswered objection. Chinese procurement rules (政府采购质疑和投诉办法, arts. 13 and 17) let
the supplier complain to the supervising department when the purchaser does not answer in time;
the purchaser's silence must neither kill the objection nor hold the award back for ever. So
once the answer deadline has passed the enterprise can no longer answer here, the objector may
escalate at once, and the job escalates the objection automatically on its next run: the
regulator decides on the grounds as filed, and the complaint records that no answer came.

While an objection is submitted or answered, or the complaint it became is submitted or
accepted, the award cannot become final (``objection_check``). An open objection whose contested
award no longer stands (passed on to another bidder, or the request cancelled) is closed by the job. An upheld complaint may cancel
the award: it passes to the next valid bid of the ranking (``pass_award_to_next``; with nobody
left the request fails and may be published again) or the request is cancelled for a new
procurement. Upheld against an agency, it is a ``complaint_upheld`` credit input; the credit
formula scores agencies only, so upheld against an enterprise it is recorded (audit trail and
the public outcome) but scores nothing.

Service complaints. An enterprise, or anyone about a public fact, complains about the conduct of
the agency selected on a request (overcharging against its fee commitment, lateness, poor work,
being made to use a designated agency). The complaint goes to the regulator department routed
for the request's service item (``ComplaintRoute``; none routed: every regulator) and follows the
same states, deadlines and outcomes, without touching the award.

Regulators accept or reject (with a reason) a complaint within ``COMPLAINTS_ACCEPTANCE_DAYS``
working days (default 5) and decide an accepted one within ``COMPLAINTS_DECISION_DAYS`` (default
30). Past these deadlines a complaint shows as overdue on the regulators' work list and the job
tells the responsible regulators once.

Services flush and never commit; every status change goes through ``states`` (a conditional
UPDATE plus the audit event).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from marketplace.accounts.models import Organisation, OrgKind, Role, User
from marketplace.audit.services import record_event
from marketplace.catalog.models import ServiceItem
from marketplace.complaints.models import (
    DECIDED_STATUSES,
    MAX_FILES,
    OPEN_COMPLAINT_STATUSES,
    OPEN_OBJECTION_STATUSES,
    REASON_MAX,
    SERVICE_CATEGORIES,
    TEXT_MAX,
    Complaint,
    ComplaintCategory,
    ComplaintKind,
    ComplaintRoute,
    ComplaintStatus,
    Evidence,
    Objection,
    ObjectionStatus,
    Remedy,
    UpheldAgainst,
)
from marketplace.complaints.states import COMPLAINT_MACHINE, OBJECTION_MACHINE
from marketplace.core import uploads
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, InvalidTransition, NotFound, PermissionDenied
from marketplace.core.text import clean_text, is_db_id
from marketplace.credit import services as credit
from marketplace.credit.models import CreditInputKind
from marketplace.extensions import db
from marketplace.notifications.kinds import register_kind
from marketplace.notifications.services import notify, notify_organisation
from marketplace.procurement import services as procurement
from marketplace.procurement.models import Bid, BidStatus, PurchaseRequest, RequestStatus
from marketplace.procurement.signals import objection_check
from marketplace.workdays.services import add_working_days

SHANGHAI = ZoneInfo("Asia/Shanghai")
JOB = "complaints.deadlines"
EVIDENCE_PURPOSE = "complaint_evidence"
OFFICIAL_ROLES = (Role.REGULATOR, Role.ADMIN)

register_kind("complaints.objection_submitted", _l(
    "Objection %(ref)s to the result of %(request)s was filed. Answer it by %(deadline)s."))
register_kind("complaints.objection_answered", _l(
    "The enterprise answered your objection %(ref)s. Accept the answer or escalate it to a complaint "
    "by %(deadline)s."))
register_kind("complaints.objection_escalated", _l(
    "Objection %(ref)s went to the regulator as complaint %(complaint)s."))
register_kind("complaints.objection_resolved", _l("Objection %(ref)s is resolved: the answer stands."))
register_kind("complaints.objection_moot", _l(
    "Objection %(ref)s is closed: the award it contested no longer stands."))
register_kind("complaints.complaint_submitted", _l(
    "Complaint %(ref)s waits for acceptance or rejection by %(deadline)s."))
register_kind("complaints.complaint_filed_against", _l(
    "Complaint %(ref)s concerns your organisation. Open it to see the grounds."))
register_kind("complaints.complaint_accepted", _l(
    "Complaint %(ref)s was accepted; the regulator decides by %(deadline)s."))
register_kind("complaints.complaint_rejected", _l("Complaint %(ref)s was not accepted. Open it for the reason."))
register_kind("complaints.complaint_decided", _l("Complaint %(ref)s was decided. Open it for the decision."))
register_kind("complaints.complaint_withdrawn", _l("Complaint %(ref)s was withdrawn by the complainant."))
register_kind("complaints.complaint_overdue", _l(
    "Complaint %(ref)s is overdue: it was due by %(deadline)s."))


# --- small helpers ------------------------------------------------------------------------------


def _days(key: str, default: int) -> int:
    return int(current_app.config.get(key, default))


def china_date(moment: datetime) -> date:
    """The calendar day of ``moment`` in China."""
    return moment.astimezone(SHANGHAI).date()


def deadline_after(moment: datetime, working_days: int) -> datetime:
    """24:00 Beijing time at the end of the ``working_days``-th working day after ``moment``."""
    day = add_working_days(china_date(moment), working_days)
    return datetime.combine(day, time(23, 59, 59), tzinfo=SHANGHAI).astimezone(UTC)


def is_official(user) -> bool:
    """Regulators and administrators see every objection and complaint."""
    return bool(getattr(user, "is_authenticated", True) and getattr(user, "role", None) in OFFICIAL_ROLES)


def _org_id(user) -> int | None:
    return getattr(user, "organisation_id", None) if getattr(user, "is_authenticated", True) else None


def china_text(moment: datetime | None) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else ""


def _link_objection(obj: Objection) -> str:
    return f"/objections/{obj.id}"


def _link_complaint(c: Complaint) -> str:
    return f"/complaints/{c.id}"


def _attach(files, *, owner_org_id: int, actor, objection: Objection | None = None,
            complaint: Complaint | None = None) -> list[Evidence]:
    """Store the uploaded evidence files (reusing the core upload checks).

    Raises:
        DomainError: too many files, or a file refused (type, size, quota).
    """
    files = [f for f in (files or []) if f is not None
             and (getattr(f, "filename", None) or isinstance(f, bytes | bytearray))]
    if len(files) > MAX_FILES:
        raise DomainError(_l("At most %(n)d files.", n=MAX_FILES), field="files")
    added = []
    for position, upload in enumerate(files):
        try:
            stored = uploads.store_upload(upload, owner_org_id=owner_org_id, purpose=EVIDENCE_PURPOSE,
                                          uploaded_by=actor)
        except DomainError as exc:
            name = uploads.clean_display_name(getattr(upload, "filename", "")) or str(position + 1)
            raise DomainError(_l("%(name)s: %(error)s", name=name, error=exc.message), field="files") from exc
        item = Evidence(objection=objection, complaint=complaint, stored_file_id=stored.id, stored=stored,
                        party_org_id=owner_org_id)
        db.session.add(item)
        added.append(item)
    db.session.flush()
    return added


def _file_refs(items: list[Evidence]) -> list[dict]:
    return [{"file": e.stored_file_id, "name": e.stored.original_name, "sha256": e.stored.sha256}
            for e in items]


# --- event push (webhooks): in the transaction of the change, to those who may see it on the site ---


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _emit_objection(obj: Objection, event_type: str, **extra) -> None:
    """Objections are seen by the objector and the enterprise only (``can_view_objection``)."""
    from marketplace.webhooks.events import web_url
    from marketplace.webhooks.services import emit

    req = obj.request
    emit(event_type, {
        "objection_id": obj.id, "reference": obj.reference, "status": obj.status.value,
        "request_id": req.id, "request_reference": req.reference, "objector_org_id": obj.objector_org_id,
        "enterprise_org_id": req.enterprise_id, "submitted_at": _iso(obj.submitted_at),
        "answer_deadline": _iso(obj.answer_deadline), "escalation_deadline": _iso(obj.escalation_deadline),
        "web_url": web_url(_link_objection(obj)), **extra,
    }, audience=[obj.objector_org_id, req.enterprise_id])


def _emit_complaint(c: Complaint, event_type: str, **extra) -> None:
    """An open or closed complaint is seen by its parties and the regulators who handle it; no text."""
    from marketplace.webhooks.events import web_url
    from marketplace.webhooks.services import emit

    audience = {c.complainant_org_id, c.agency_org_id, c.enterprise_org_id}
    audience.update(u.organisation_id for u in responsible_regulators(c))
    emit(event_type, {
        "complaint_id": c.id, "reference": c.reference, "kind": c.kind.value, "category": c.category.value,
        "status": c.status.value, "request_id": c.request_id, "request_reference": c.request.reference,
        "objection_id": c.objection_id, "contract_id": c.contract_id,
        "complainant_org_id": c.complainant_org_id, "agency_org_id": c.agency_org_id,
        "enterprise_org_id": c.enterprise_org_id, "regulator_org_id": c.regulator_org_id,
        "acceptance_deadline": _iso(c.acceptance_deadline), "decision_deadline": _iso(c.decision_deadline),
        "web_url": web_url(_link_complaint(c)), **extra,
    }, audience=sorted(audience))


def _emit_outcome(c: Complaint) -> None:
    """A decided complaint is public on the announcement page: what that page shows, to everyone."""
    from marketplace.webhooks.events import web_url
    from marketplace.webhooks.services import emit

    emit("complaint.decided", {
        "complaint_id": c.id, "reference": c.reference, "kind": c.kind.value, "status": c.status.value,
        "request_id": c.request_id, "request_reference": c.request.reference,
        "upheld_against": c.upheld_against.value if c.upheld_against else None,
        "remedy": c.remedy.value if c.remedy else None, "decided_at": _iso(c.decided_at),
        "decision_text": c.decision_text,
        "web_url": web_url(f"/announcements/{c.request_id}#complaint-outcomes"),
    })


# --- objections ---------------------------------------------------------------------------------


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


# --- complaints ---------------------------------------------------------------------------------


def route_for(service_item_id: int) -> int | None:
    """The regulator department routed for complaints about a service item, if any."""
    return db.session.execute(
        sa.select(ComplaintRoute.regulator_org_id).where(ComplaintRoute.service_item_id == service_item_id)
    ).scalar_one_or_none()


def responsible_regulators(c: Complaint) -> list[User]:
    """The regulators who handle ``c``: those of its department, or every regulator when unrouted."""
    stmt = sa.select(User).where(User.role == Role.REGULATOR, User.is_enabled.is_(True))
    if c.regulator_org_id is not None:
        stmt = stmt.where(User.organisation_id == c.regulator_org_id)
    people = list(db.session.execute(stmt.order_by(User.id)).scalars())
    if not people and c.regulator_org_id is not None:
        # A department without an enabled regulator must not swallow the complaint.
        people = list(db.session.execute(
            sa.select(User).where(User.role == Role.REGULATOR, User.is_enabled.is_(True)).order_by(User.id)
        ).scalars())
    return people


def _tell_regulators(c: Complaint, kind: str, *, key: str, **params) -> int:
    told = 0
    for user in responsible_regulators(c):
        if notify(user, kind, params={"ref": c.reference, **params}, link=_link_complaint(c),
                  due_at=c.current_deadline, dedupe_key=f"{key}:{c.id}") is not None:
            told += 1
    return told


def _tell_parties(c: Complaint, kind: str, *, key: str, include_complainant: bool = True, **params) -> None:
    orgs = {c.agency_org_id: c.agency, c.enterprise_org_id: c.enterprise}
    if include_complainant:
        orgs[c.complainant_org_id] = c.complainant
    for org in orgs.values():
        notify_organisation(org, kind, params={"ref": c.reference, **params}, link=_link_complaint(c),
                            dedupe_key=f"{key}:{c.id}")


def _new_complaint(*, kind: ComplaintKind, category: ComplaintCategory, req: PurchaseRequest,
                   complainant_org_id: int, agency_org_id: int, grounds: str, actor, now: datetime,
                   objection: Objection | None = None, contract_id: int | None = None,
                   extra: dict | None = None) -> Complaint:
    days = _days("COMPLAINTS_ACCEPTANCE_DAYS", 5)
    c = Complaint(
        kind=kind, category=category, objection=objection, request_id=req.id, contract_id=contract_id,
        complainant_org_id=complainant_org_id, agency_org_id=agency_org_id, enterprise_org_id=req.enterprise_id,
        regulator_org_id=route_for(req.service_item_id), grounds=grounds, status=ComplaintStatus.SUBMITTED,
        filed_by_id=getattr(actor, "id", None), submitted_at=now, acceptance_deadline=deadline_after(now, days),
    )
    db.session.add(c)
    try:
        db.session.flush()
    except IntegrityError as exc:
        # Unique keys: one complaint per objection, one open service complaint per complainant.
        db.session.rollback()
        raise DomainError(_l("Your organisation already has an open complaint about this request.")) from exc
    record_event("complaint.submitted", c, actor=actor, payload={
        "kind": kind.value, "category": category.value, "request": req.id, "contract": contract_id,
        "complainant": complainant_org_id, "agency": agency_org_id, "regulator_org": c.regulator_org_id,
        "acceptance_deadline": c.acceptance_deadline.isoformat(), **(extra or {}),
    })
    _tell_regulators(c, "complaints.complaint_submitted", key="complaints.complaint_submitted",
                     deadline=china_text(c.acceptance_deadline))
    notify_organisation(c.agency, "complaints.complaint_filed_against", params={"ref": c.reference},
                        link=_link_complaint(c), dedupe_key=f"complaints.complaint_filed_against:{c.id}")
    _emit_complaint(c, "complaint.submitted")
    return c


def service_complaint_problems(req: PurchaseRequest, user) -> list:
    """Why ``user`` may not complain about the service of ``req``'s agency (empty: they may)."""
    if not getattr(user, "is_authenticated", False):
        return [_l("Sign in to file a complaint.")]
    if not req.has_winner or req.awarded_org_id is None:
        return [_l("No agency has been selected on this request yet.")]
    if user.organisation_id == req.awarded_org_id:
        return [_l("An agency cannot complain about itself.")]
    return []


def _contract_id_for(req: PurchaseRequest) -> int | None:
    from marketplace.contracts.models import Contract

    return db.session.execute(
        sa.select(Contract.id).where(Contract.request_id == req.id, Contract.agency_org_id == req.awarded_org_id)
        .order_by(Contract.id.desc()).limit(1)
    ).scalar_one_or_none()


def file_service_complaint(req: PurchaseRequest, *, category, grounds: str, files=(), actor: User,
                           now: datetime | None = None) -> Complaint:
    """Complain about the conduct of the agency selected on ``req``; routed to the regulator of the
    service item.

    Raises:
        DomainError: no agency selected, the agency complains about itself, an unknown category,
            empty grounds, a refused file, or an open complaint of the same organisation exists.
    """
    now = now or utcnow()
    problems = service_complaint_problems(req, actor)
    if problems:
        raise DomainError(problems[0])
    try:
        category = ComplaintCategory(category)
    except ValueError:
        category = None
    if category not in SERVICE_CATEGORIES:
        raise DomainError(_l("Choose what the complaint is about."), field="category")
    grounds = clean_text(grounds, max_len=TEXT_MAX, field="grounds", multiline=True)
    c = _new_complaint(kind=ComplaintKind.SERVICE, category=category, req=req,
                       complainant_org_id=actor.organisation_id, agency_org_id=req.awarded_org_id,
                       grounds=grounds, actor=actor, now=now, contract_id=_contract_id_for(req))
    items = _attach(files, owner_org_id=actor.organisation_id, actor=actor, complaint=c)
    if items:
        record_event("complaint.evidence_added", c, actor=actor, payload={"files": _file_refs(items)})
    return c


def may_handle(c: Complaint, user) -> bool:
    """Whether ``user`` is a regulator who handles ``c`` (its department's, or any when unrouted)."""
    if getattr(user, "role", None) is not Role.REGULATOR:
        return False
    return c.regulator_org_id is None or user.organisation_id == c.regulator_org_id


def _require_handler(c: Complaint, actor) -> None:
    if not may_handle(c, actor):
        raise PermissionDenied(_l("Only a regulator of the responsible department may do this."))


def accept_complaint(c: Complaint, *, actor: User, now: datetime | None = None) -> Complaint:
    """A regulator accepts the complaint for handling; the decision period starts.

    Raises:
        PermissionDenied: not a regulator of the responsible department.
        InvalidTransition / ConcurrentUpdate: not waiting for acceptance.
    """
    now = now or utcnow()
    _require_handler(c, actor)
    days = _days("COMPLAINTS_DECISION_DAYS", 30)
    c.accepted_at = now
    c.accepted_by_id = actor.id
    c.decision_deadline = deadline_after(now, days)
    COMPLAINT_MACHINE.transition(c, ComplaintStatus.ACCEPTED, actor=actor, payload={
        "decision_deadline": c.decision_deadline.isoformat(), "working_days": days,
    })
    _tell_parties(c, "complaints.complaint_accepted", key="complaints.complaint_accepted",
                  deadline=china_text(c.decision_deadline))
    _emit_complaint(c, "complaint.accepted")
    return c


def reject_complaint(c: Complaint, *, reason: str, actor: User, now: datetime | None = None) -> Complaint:
    """A regulator does not accept the complaint, with a reason on the record.

    Raises:
        PermissionDenied: not a regulator of the responsible department.
        DomainError: no reason.
        InvalidTransition / ConcurrentUpdate: not waiting for acceptance.
    """
    now = now or utcnow()
    _require_handler(c, actor)
    reason = clean_text(reason, max_len=REASON_MAX, field="reason", multiline=True)
    c.rejection_reason = reason
    c.decided_at = now
    c.decided_by_id = actor.id
    COMPLAINT_MACHINE.transition(c, ComplaintStatus.REJECTED, actor=actor, reason=reason)
    _tell_parties(c, "complaints.complaint_rejected", key="complaints.complaint_rejected")
    _emit_complaint(c, "complaint.rejected")
    return c


def _check_remedy(c: Complaint, remedy: Remedy) -> None:
    if remedy is Remedy.NONE:
        return
    req = c.request
    if req.status is not RequestStatus.AWARDED or req.awarded_org_id != c.agency_org_id:
        raise DomainError(_l("The contested award is no longer in place; decide with “the award stands”."),
                          field="remedy")


def decide_complaint(c: Complaint, *, upheld: bool, text: str, actor: User, against=None, remedy=None,
                     now: datetime | None = None) -> Complaint:
    """A regulator decides an accepted complaint: upheld (against the agency or the enterprise, with
    the remedy for the award) or dismissed, with the decision text, which becomes public.

    An upheld complaint about an award with a remedy cancels it: the award passes to the next
    valid bid, or the request is cancelled for a new procurement. Upheld against an agency it is a
    credit input.

    Raises:
        PermissionDenied: not a regulator of the responsible department.
        DomainError: no decision text, no party or remedy for an upheld complaint, or a remedy
            while the contested award is no longer in place.
        InvalidTransition / ConcurrentUpdate: not accepted (or decided meanwhile).
    """
    now = now or utcnow()
    _require_handler(c, actor)
    text = clean_text(text, max_len=TEXT_MAX, field="text", multiline=True)
    if c.status is not ComplaintStatus.ACCEPTED:
        raise InvalidTransition(_l("Only an accepted complaint can be decided."))
    payload: dict = {}
    if upheld:
        if c.kind is ComplaintKind.SERVICE:
            against, remedy = UpheldAgainst.AGENCY, Remedy.NONE
        try:
            against = UpheldAgainst(against)
        except ValueError as exc:
            raise DomainError(_l("Say whom the complaint is upheld against."), field="against") from exc
        try:
            remedy = Remedy(remedy)
        except ValueError as exc:
            raise DomainError(_l("Choose what happens to the award."), field="remedy") from exc
        _check_remedy(c, remedy)
        c.upheld_against = against
        c.remedy = remedy
        payload = {"against": against.value, "remedy": remedy.value}
    c.decided_at = now
    c.decided_by_id = actor.id
    c.decision_text = text
    target = ComplaintStatus.UPHELD if upheld else ComplaintStatus.DISMISSED
    COMPLAINT_MACHINE.transition(c, target, actor=actor, payload=payload)
    if upheld:
        _apply_upheld(c, actor=actor, now=now)
    _tell_parties(c, "complaints.complaint_decided", key="complaints.complaint_decided")
    _emit_outcome(c)
    return c


def _apply_upheld(c: Complaint, *, actor, now: datetime) -> None:
    req = c.request
    note = procurement.record_text(_l("Complaint %(ref)s upheld by the regulator.", ref=c.reference))
    if c.upheld_against is UpheldAgainst.AGENCY:
        refs = [("complaint", c.id, c.reference), ("purchase_request", req.id, req.reference)]
        if c.contract_id:
            refs.append(("contract", c.contract_id, ""))
        credit.record_credit_input(c.agency_org_id, CreditInputKind.COMPLAINT_UPHELD, occurred_at=now,
                                   refs=refs, note=f"{c.reference} {c.category.value}", actor=actor, now=now)
    else:
        record_event("complaint.upheld_against_enterprise", c, actor=actor, payload={
            "enterprise": c.enterprise_org_id, "request": req.id,
            "credit": "recorded only: the credit formula scores agencies",
        })
    if c.remedy is Remedy.NEXT_BIDDER:
        procurement.pass_award_to_next(req, note, actor, now=now)
    elif c.remedy is Remedy.NEW_ROUND:
        procurement.cancel_request(req, note, actor=actor, now=now)


def withdraw_complaint(c: Complaint, *, reason: str, actor: User, now: datetime | None = None) -> Complaint:
    """The complainant withdraws its complaint before the decision.

    Raises:
        PermissionDenied: not the complainant's staff.
        DomainError: no reason.
        InvalidTransition / ConcurrentUpdate: already decided.
    """
    now = now or utcnow()
    if _org_id(actor) != c.complainant_org_id or is_official(actor):
        raise PermissionDenied(_l("Only the complainant may withdraw the complaint."))
    reason = clean_text(reason, max_len=REASON_MAX, field="reason", multiline=True)
    c.withdrawn_at = now
    c.withdrawal_reason = reason
    COMPLAINT_MACHINE.transition(c, ComplaintStatus.WITHDRAWN, actor=actor, reason=reason)
    _tell_regulators(c, "complaints.complaint_withdrawn", key="complaints.complaint_withdrawn")
    _tell_parties(c, "complaints.complaint_withdrawn", key="complaints.complaint_withdrawn",
                  include_complainant=False)
    _emit_complaint(c, "complaint.withdrawn")
    return c


# --- the award's hook ---------------------------------------------------------------------------


def has_open_case(req: PurchaseRequest) -> bool:
    """Whether an objection or an escalated complaint against ``req``'s award is still open."""
    objection = db.session.execute(
        sa.select(Objection.id).where(Objection.request_id == req.id,
                                      Objection.status.in_(OPEN_OBJECTION_STATUSES)).limit(1)
    ).first()
    if objection:
        return True
    return db.session.execute(
        sa.select(Complaint.id).where(Complaint.request_id == req.id, Complaint.kind == ComplaintKind.OBJECTION,
                                      Complaint.status.in_(OPEN_COMPLAINT_STATUSES)).limit(1)
    ).first() is not None


def _on_objection_check(sender, **_extra) -> bool:
    """``finalise_award`` asks before it writes. Take the request's row lock first (as
    ``submit_objection`` does), so an objection being submitted at this moment is either committed
    and seen by the read below, or refused after the award is final; never both.
    """
    db.session.flush()
    db.session.execute(
        sa.update(PurchaseRequest).where(PurchaseRequest.id == sender.id)
        .values(updated_at=PurchaseRequest.updated_at).execution_options(synchronize_session=False)
    )
    return has_open_case(sender)


objection_check.connect(_on_objection_check)


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


# --- reading ------------------------------------------------------------------------------------


def _get(model, obj_id, message):
    found = db.session.get(model, obj_id) if is_db_id(obj_id) else None
    if found is None:
        raise NotFound(message)
    return found


def can_view_objection(user, obj: Objection) -> bool:
    """The objector, the enterprise and officials see an objection and its answer."""
    if is_official(user):
        return True
    org_id = _org_id(user)
    if obj.status is ObjectionStatus.DRAFT:
        return org_id == obj.objector_org_id
    return org_id is not None and org_id in (obj.objector_org_id, obj.request.enterprise_id)


def get_objection_for(user, objection_id) -> Objection:
    """An objection ``user`` may see.

    Raises:
        NotFound: none, or not visible to ``user``.
    """
    obj = _get(Objection, objection_id, _l("This objection does not exist."))
    if not can_view_objection(user, obj):
        raise NotFound(_l("This objection does not exist."))
    return obj


def can_view_complaint(user, c: Complaint) -> bool:
    """The complainant, the agency and the enterprise concerned, and officials see a complaint."""
    if is_official(user):
        return True
    org_id = _org_id(user)
    return org_id is not None and org_id in (c.complainant_org_id, c.agency_org_id, c.enterprise_org_id)


def get_complaint_for(user, complaint_id) -> Complaint:
    """A complaint ``user`` may see.

    Raises:
        NotFound: none, or not visible to ``user``.
    """
    c = _get(Complaint, complaint_id, _l("This complaint does not exist."))
    if not can_view_complaint(user, c):
        raise NotFound(_l("This complaint does not exist."))
    return c


def get_evidence_for(user, evidence_id) -> Evidence:
    """An evidence file ``user`` may see (as its objection or complaint).

    Raises:
        NotFound: none, or not visible to ``user``.
    """
    item = _get(Evidence, evidence_id, _l("This file does not exist."))
    visible = (can_view_objection(user, item.objection) if item.objection is not None
               else can_view_complaint(user, item.complaint))
    if not visible:
        raise NotFound(_l("This file does not exist."))
    return item


def objections_of_request(req: PurchaseRequest, user) -> list[Objection]:
    """The objections to ``req`` that ``user`` may see (none for the public)."""
    if not getattr(user, "is_authenticated", False):
        return []
    stmt = sa.select(Objection).where(Objection.request_id == req.id).order_by(Objection.id)
    if not is_official(user):
        if user.organisation_id == req.enterprise_id:
            stmt = stmt.where(Objection.status != ObjectionStatus.DRAFT)
        else:
            stmt = stmt.where(Objection.objector_org_id == user.organisation_id)
    return list(db.session.execute(stmt).scalars())


def complaints_of_request(req: PurchaseRequest, user) -> list[Complaint]:
    """The complaints about ``req`` that ``user`` may open."""
    if not getattr(user, "is_authenticated", False):
        return []
    rows = db.session.execute(
        sa.select(Complaint).where(Complaint.request_id == req.id).order_by(Complaint.id)
    ).scalars()
    return [c for c in rows if can_view_complaint(user, c)]


def public_outcomes(req: PurchaseRequest) -> list[Complaint]:
    """Decided complaints about ``req`` (upheld or dismissed): public with their decision text."""
    return list(db.session.execute(
        sa.select(Complaint).where(Complaint.request_id == req.id, Complaint.status.in_(DECIDED_STATUSES))
        .order_by(Complaint.decided_at, Complaint.id)
    ).scalars())


def mine(user) -> tuple[list[Objection], list[Complaint]]:
    """The objections and complaints of ``user``'s organisation, filed by it or concerning it."""
    org_id = user.organisation_id
    objections = db.session.execute(
        sa.select(Objection).join(PurchaseRequest, PurchaseRequest.id == Objection.request_id)
        .where(sa.or_(Objection.objector_org_id == org_id,
                      sa.and_(PurchaseRequest.enterprise_id == org_id, Objection.status != ObjectionStatus.DRAFT)))
        .order_by(Objection.id.desc()).limit(200)
    ).scalars().all()
    complaints = db.session.execute(
        sa.select(Complaint).where(sa.or_(Complaint.complainant_org_id == org_id, Complaint.agency_org_id == org_id,
                                          Complaint.enterprise_org_id == org_id))
        .order_by(Complaint.id.desc()).limit(200)
    ).scalars().all()
    return list(objections), list(complaints)


@dataclass(frozen=True)
class WorkItem:
    """One open complaint on a regulator's list, with the deadline that applies now."""

    complaint: Complaint
    deadline: datetime | None
    overdue: bool
    mine: bool  # routed to the regulator's department (or unrouted)


def worklist(user, now: datetime, *, everything: bool = False) -> list[WorkItem]:
    """Open complaints, earliest deadline first; a regulator sees its department's (and unrouted)
    ones unless ``everything``."""
    rows = db.session.execute(
        sa.select(Complaint).where(Complaint.status.in_(OPEN_COMPLAINT_STATUSES))
        .options(selectinload(Complaint.request), selectinload(Complaint.agency),
                 selectinload(Complaint.complainant), selectinload(Complaint.regulator))
        .order_by(Complaint.id)
    ).scalars().all()
    items = []
    for c in rows:
        routed_here = c.regulator_org_id is None or c.regulator_org_id == _org_id(user)
        if not everything and not routed_here and getattr(user, "role", None) is Role.REGULATOR:
            continue
        items.append(WorkItem(c, c.current_deadline, c.is_overdue(now), routed_here))
    far = datetime.max.replace(tzinfo=UTC)
    items.sort(key=lambda i: (i.deadline or far, i.complaint.id))
    return items


@dataclass(frozen=True)
class Task:
    """Something the user's organisation must do on an objection or a complaint, and by when."""

    reference: str
    what: object  # a lazy, translated text
    link: str
    deadline: datetime | None
    overdue: bool


def tasks_for(user, now: datetime) -> list[Task]:
    """The objections and complaints waiting for ``user`` (the workbench panel), earliest first."""
    role = getattr(user, "role", None)
    tasks: list[Task] = []
    if role is Role.ENTERPRISE_STAFF:
        rows = db.session.execute(
            sa.select(Objection).join(PurchaseRequest, PurchaseRequest.id == Objection.request_id)
            .where(PurchaseRequest.enterprise_id == user.organisation_id,
                   Objection.status == ObjectionStatus.SUBMITTED)
        ).scalars()
        tasks += [Task(o.reference, _l("Answer the objection"), _link_objection(o), o.answer_deadline,
                       now > o.answer_deadline) for o in rows]
    elif role is Role.AGENCY_STAFF:
        rows = db.session.execute(
            sa.select(Objection).where(Objection.objector_org_id == user.organisation_id,
                                       Objection.status.in_((ObjectionStatus.DRAFT, ObjectionStatus.ANSWERED)))
        ).scalars()
        for o in rows:
            if o.status is ObjectionStatus.DRAFT:
                tasks.append(Task(o.reference, _l("Submit the draft objection before the deadline"), _link_objection(o),
                                  o.request.objection_deadline, False))
            else:
                tasks.append(Task(o.reference, _l("Accept the answer or escalate it"), _link_objection(o),
                                  o.escalation_deadline, now > o.escalation_deadline))
    elif role is Role.REGULATOR:
        for item in worklist(user, now):
            what = (_l("Accept or reject the complaint") if item.complaint.status is ComplaintStatus.SUBMITTED
                    else _l("Decide the complaint"))
            tasks.append(Task(item.complaint.reference, what, _link_complaint(item.complaint), item.deadline,
                              item.overdue))
    far = datetime.max.replace(tzinfo=UTC)
    tasks.sort(key=lambda t: (t.deadline or far, t.reference))
    return tasks


def recent_decisions(limit: int = 30) -> list[Complaint]:
    """The latest closed complaints (decided, rejected or withdrawn)."""
    return list(db.session.execute(
        sa.select(Complaint).where(Complaint.status.not_in(OPEN_COMPLAINT_STATUSES))
        .order_by(Complaint.updated_at.desc(), Complaint.id.desc()).limit(limit)
    ).scalars())


# --- routes (which department handles which service item) -------------------------------------


def routes() -> list[ComplaintRoute]:
    """Every routed service item."""
    return list(db.session.execute(
        sa.select(ComplaintRoute).options(selectinload(ComplaintRoute.service_item),
                                          selectinload(ComplaintRoute.regulator))
        .order_by(ComplaintRoute.service_item_id)
    ).scalars())


def regulator_departments() -> list[Organisation]:
    """Government departments with at least one regulator (the possible routes)."""
    return list(db.session.execute(
        sa.select(Organisation).where(Organisation.kind == OrgKind.GOVERNMENT,
                                      Organisation.id.in_(sa.select(User.organisation_id)
                                                          .where(User.role == Role.REGULATOR)))
        .order_by(Organisation.name)
    ).scalars())


def set_route(service_item_id, regulator_org_id, *, actor: User) -> ComplaintRoute | None:
    """An administrator routes complaints about a service item to a department (None: unroute).

    Raises:
        PermissionDenied: not an administrator.
        NotFound: no such service item or regulator department.
    """
    if getattr(actor, "role", None) is not Role.ADMIN:
        raise PermissionDenied(_l("Only an administrator may do this."))
    item = _get(ServiceItem, service_item_id, _l("This service item does not exist."))
    existing = db.session.execute(
        sa.select(ComplaintRoute).where(ComplaintRoute.service_item_id == item.id)
    ).scalar_one_or_none()
    if regulator_org_id in (None, 0, ""):
        if existing is not None:
            db.session.delete(existing)
            db.session.flush()
        record_event("complaint_route.cleared", ("service_items", item.id), actor=actor, payload={"service_item": item.id})
        return None
    dept = _get(Organisation, regulator_org_id, _l("This department does not exist."))
    if dept.id not in {d.id for d in regulator_departments()}:
        raise NotFound(_l("This department does not exist."))
    if existing is None:
        existing = ComplaintRoute(service_item_id=item.id, regulator_org_id=dept.id)
        db.session.add(existing)
    else:
        existing.regulator_org_id = dept.id
    db.session.flush()
    record_event("complaint_route.set", existing, actor=actor,
                 payload={"service_item": item.id, "regulator_org": dept.id})
    return existing


