"""Credit repair (信用修复): an agency on the public list asks to leave it, and a regulator approves
(the case leaves the list today) or rejects the request.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from marketplace.accounts.models import User
from marketplace.audit.services import record_event
from marketplace.core.db import utcnow
from marketplace.core.errors import ConcurrentUpdate, DomainError
from marketplace.core.text import clean_text
from marketplace.extensions import db
from marketplace.sanctions import signals
from marketplace.sanctions._common import (
    _require_own_agency,
    _require_regulator,
    _tell_agency,
    _tell_regulators,
    china_day,
)
from marketplace.sanctions.models import (
    IN_FORCE_STATUSES,
    REASON_MAX,
    TEXT_MAX,
    RepairRequest,
    RepairStatus,
    SanctionCase,
    SanctionStatus,
)
from marketplace.sanctions.states import REPAIR_MACHINE

# --- credit repair ---------------------------------------------------------------------------


def can_request_repair(case: SanctionCase, now: datetime) -> bool:
    """Whether the agency may ask for credit repair of ``case`` now."""
    return (case.status in (SanctionStatus.DECIDED, SanctionStatus.UPHELD, SanctionStatus.SHORTENED)
            and case.is_listed_on(china_day(now)))


def request_repair(case: SanctionCase, *, text: str, actor: User, now: datetime | None = None) -> RepairRequest:
    """The agency asks for credit repair (信用修复): what it corrected, and why it should leave the list.

    Raises:
        PermissionDenied: not staff of the agency concerned.
        DomainError: empty text, the case is not on the list (or under appeal), or a request
            is already waiting.
    """
    now = now or utcnow()
    _require_own_agency(actor, case)
    text = clean_text(text, max_len=TEXT_MAX, field="text", multiline=True)
    if case.status is SanctionStatus.APPEALED:
        raise DomainError(_l("Wait for the decision on your appeal before asking for credit repair."))
    if not can_request_repair(case, now):
        raise DomainError(_l("This sanction is not on the public list; there is nothing to repair."))
    req = RepairRequest(case_id=case.id, organisation_id=case.organisation_id, text=text,
                        status=RepairStatus.PENDING, requested_by_id=actor.id, requested_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(req)
            db.session.flush()
    except IntegrityError as exc:
        raise DomainError(_l("A credit-repair request for this case is already waiting for a regulator.")) from exc
    record_event("sanction_repair.requested", req, actor=actor, payload={"case_id": case.id})
    _tell_regulators(case, "sanctions.repair_requested")
    return req


def decide_repair(req: RepairRequest, *, actor: User, approve: bool, reason: str = "",
                  now: datetime | None = None) -> RepairRequest:
    """A regulator approves (the case leaves the public list today) or rejects a repair request.

    Raises:
        PermissionDenied: not a regulator.
        DomainError: a rejection without a reason.
        InvalidTransition / ConcurrentUpdate: already decided, or the case changed meanwhile.
    """
    now = now or utcnow()
    _require_regulator(actor)
    reason = clean_text(reason, max_len=REASON_MAX, field="reason", required=not approve, multiline=True)
    req.decided_by_id = actor.id
    req.decided_at = now
    req.decision_reason = reason
    target = RepairStatus.APPROVED if approve else RepairStatus.REJECTED
    REPAIR_MACHINE.transition(req, target, actor=actor, reason=reason or None)
    case = req.case
    if approve:
        today = china_day(now)
        done = db.session.execute(
            sa.update(SanctionCase)
            .where(SanctionCase.id == case.id, SanctionCase.repaired_on.is_(None),
                   SanctionCase.status.in_(IN_FORCE_STATUSES))
            .values(repaired_on=today, updated_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if done != 1:
            db.session.rollback()
            raise ConcurrentUpdate(_l("Someone else changed this record first. Please reload."))
        db.session.refresh(case)
        record_event("sanction_case.repaired", case, actor=actor,
                     payload={"repair_request": req.id, "repaired_on": today.isoformat()})
        signals.sanction_changed.send(case, outcome="repaired")
    _tell_agency(case, "sanctions.repair_decided", key=f"sanctions.repair_decided:{req.id}")
    return req
