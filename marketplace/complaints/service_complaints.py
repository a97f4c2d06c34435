"""Service complaints. An enterprise, or anyone about a public fact, complains about the conduct of
the agency selected on a request (overcharging against its fee commitment, lateness, poor work,
being made to use a designated agency). The complaint goes to the regulator department routed
for the request's service item (``ComplaintRoute``; none routed: every regulator) and follows the
same states, deadlines and outcomes, without touching the award.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import User
from marketplace.audit.services import record_event
from marketplace.complaints._common import _attach, _file_refs
from marketplace.complaints.handling import _new_complaint
from marketplace.complaints.models import (
    SERVICE_CATEGORIES,
    TEXT_MAX,
    Complaint,
    ComplaintCategory,
    ComplaintKind,
)
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError
from marketplace.core.text import clean_text
from marketplace.extensions import db
from marketplace.procurement.models import PurchaseRequest


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
