"""Reading sanction cases: a case by id (any, public, or the agency's own), a repair request, what
waits for regulators, an agency's cases and timeline, and the regulators' agency lookup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from marketplace.accounts.models import Organisation, OrgKind
from marketplace.core.errors import NotFound
from marketplace.core.text import clean_query, is_db_id
from marketplace.credit import services as credit
from marketplace.extensions import db
from marketplace.sanctions.models import (
    OPEN_STATUSES,
    PUBLIC_STATUSES,
    RepairRequest,
    RepairStatus,
    SanctionCase,
    SanctionStatus,
)

# --- reading ---------------------------------------------------------------------------------


def get_case(case_id: int) -> SanctionCase:
    """A case by id.

    Raises:
        NotFound: no such case.
    """
    case = db.session.get(SanctionCase, case_id) if is_db_id(case_id) else None
    if case is None:
        raise NotFound(_l("This sanction case does not exist."))
    return case


def get_public_case(case_id: int) -> SanctionCase:
    """A decided case, as the public may see it.

    Raises:
        NotFound: no such case, or not decided (proposals are not public).
    """
    case = get_case(case_id)
    if case.status not in PUBLIC_STATUSES:
        raise NotFound(_l("This sanction case does not exist."))
    return case


def get_own_case(case_id: int, org_id: int) -> SanctionCase:
    """A case of the agency ``org_id``.

    Raises:
        NotFound: no such case for this agency.
    """
    case = get_case(case_id)
    if case.organisation_id != org_id:
        raise NotFound(_l("This sanction case does not exist."))
    return case


def get_repair_request(request_id: int) -> RepairRequest:
    """A repair request by id.

    Raises:
        NotFound: no such request.
    """
    req = db.session.get(RepairRequest, request_id) if is_db_id(request_id) else None
    if req is None:
        raise NotFound(_l("This request does not exist."))
    return req


@dataclass(frozen=True)
class Queue:
    """What waits for regulators."""

    proposals: list[SanctionCase]
    appeals: list[SanctionCase]
    repairs: list[RepairRequest]


def regulator_queue(limit: int = 200) -> Queue:
    """Open proposals (earliest response deadline first), pending appeals and repair requests."""
    proposals = db.session.execute(
        sa.select(SanctionCase).where(SanctionCase.status.in_(OPEN_STATUSES))
        .options(selectinload(SanctionCase.organisation), selectinload(SanctionCase.proposer))
        .order_by(SanctionCase.response_deadline.is_(None), SanctionCase.response_deadline,
                  SanctionCase.proposed_at, SanctionCase.id).limit(limit)
    ).scalars().all()
    appeals = db.session.execute(
        sa.select(SanctionCase).where(SanctionCase.status == SanctionStatus.APPEALED)
        .options(selectinload(SanctionCase.organisation))
        .order_by(SanctionCase.appealed_at, SanctionCase.id).limit(limit)
    ).scalars().all()
    repairs = db.session.execute(
        sa.select(RepairRequest).where(RepairRequest.status == RepairStatus.PENDING)
        .options(selectinload(RepairRequest.case).selectinload(SanctionCase.organisation))
        .order_by(RepairRequest.requested_at, RepairRequest.id).limit(limit)
    ).scalars().all()
    return Queue(list(proposals), list(appeals), list(repairs))


def cases_for_agency(org_id: int) -> list[SanctionCase]:
    """Every case of an agency, newest first (the agency's own page and the regulator timeline)."""
    return list(db.session.execute(
        sa.select(SanctionCase).where(SanctionCase.organisation_id == org_id)
        .options(selectinload(SanctionCase.repair_requests))
        .order_by(SanctionCase.proposed_at.desc(), SanctionCase.id.desc())
    ).scalars())


def search_agencies(q: str, limit: int = 20) -> list[Organisation]:
    """Agencies whose name or USCC contains ``q`` (the regulator's lookup)."""
    q = clean_query(q)
    if not q:
        return []
    like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return list(db.session.execute(
        sa.select(Organisation)
        .where(Organisation.kind == OrgKind.AGENCY,
               sa.or_(Organisation.name.ilike(like, escape="\\"), Organisation.uscc.ilike(like, escape="\\")))
        .order_by(Organisation.name).limit(limit)
    ).scalars())


@dataclass(frozen=True)
class TimelineItem:
    """One dated line of an agency's timeline."""

    at: datetime
    what: str  # "sanction", "credit", "score"
    title: str
    detail: str
    case: SanctionCase | None = None
    input: object | None = None


def timeline(org_id: int, limit: int = 300) -> list[TimelineItem]:
    """Sanction milestones, credit inputs and score changes of one agency, newest first."""
    items: list[TimelineItem] = []
    for case in cases_for_agency(org_id):
        head = f"{case.reference} · {case.kind.label}"
        steps = [
            (case.proposed_at, _l("Proposed")), (case.notified_at, _l("Notified, response period open")),
            (case.responded_at, _l("The agency responded")), (case.decided_at, _l("Decided")),
            (case.appealed_at, _l("Appealed")), (case.appeal_decided_at, _l("Appeal decided")),
        ]
        if case.status is SanctionStatus.WITHDRAWN:
            steps.append((case.updated_at, _l("Withdrawn")))
        for req in case.repair_requests:
            steps.append((req.requested_at, _l("Credit repair requested")))
            if req.status is RepairStatus.APPROVED:
                steps.append((req.decided_at, _l("Left the public list by credit repair")))
            elif req.status is RepairStatus.REJECTED:
                steps.append((req.decided_at, _l("Credit repair rejected")))
        for at, title in steps:
            if at is not None:
                items.append(TimelineItem(at, "sanction", str(title), head, case=case))
    for entry in credit.inputs_for(org_id, limit=limit):
        items.append(TimelineItem(entry.occurred_at, "credit", str(entry.kind.label),
                                  str(entry.effect.label), input=entry))
    for row in credit.history_for(org_id, limit=limit):
        items.append(TimelineItem(row.created_at, "score", f"{row.score:.2f} · {row.grade}",
                                  str(row.reason.label)))
    items.sort(key=lambda i: i.at, reverse=True)
    return items[:limit]
