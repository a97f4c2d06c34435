"""Who may see which objection, complaint and evidence file, and the lists built from them: a
request's objections, complaints and public outcomes, an organisation's own cases, the
regulators' work list and the workbench tasks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from marketplace.accounts.models import Role
from marketplace.complaints._common import (
    _get,
    _link_complaint,
    _link_objection,
    _org_id,
    is_official,
)
from marketplace.complaints.models import (
    DECIDED_STATUSES,
    OPEN_COMPLAINT_STATUSES,
    Complaint,
    ComplaintStatus,
    Evidence,
    Objection,
    ObjectionStatus,
)
from marketplace.core.errors import NotFound
from marketplace.extensions import db
from marketplace.procurement.models import PurchaseRequest


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
