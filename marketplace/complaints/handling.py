"""Complaints before the regulator: a complaint is filed (an escalated objection or a service
complaint), accepted or rejected, decided (upheld or dismissed, with its consequences for the award
and the credit record) or withdrawn by the complainant.

An upheld complaint may cancel the award: it passes to the next valid bid of the ranking
(``pass_award_to_next``; with nobody left the request fails and may be published again) or the
request is cancelled for a new procurement. Upheld against an agency, it is a
``complaint_upheld`` credit input; the credit formula scores agencies only, so upheld against an
enterprise it is recorded (audit trail and the public outcome) but scores nothing.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from marketplace.accounts.models import Role, User
from marketplace.audit.services import record_event
from marketplace.complaints._common import _link_complaint, _org_id, is_official
from marketplace.complaints.deadlines import _days, china_text, deadline_after
from marketplace.complaints.events import _emit_complaint, _emit_outcome
from marketplace.complaints.models import (
    REASON_MAX,
    TEXT_MAX,
    Complaint,
    ComplaintCategory,
    ComplaintKind,
    ComplaintStatus,
    Objection,
    Remedy,
    UpheldAgainst,
)
from marketplace.complaints.routing import _tell_regulators, route_for
from marketplace.complaints.states import COMPLAINT_MACHINE
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, InvalidTransition, PermissionDenied
from marketplace.core.text import clean_text
from marketplace.credit import services as credit
from marketplace.credit.models import CreditInputKind
from marketplace.extensions import db
from marketplace.notifications.services import notify_organisation
from marketplace.procurement import services as procurement
from marketplace.procurement.models import PurchaseRequest, RequestStatus


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
