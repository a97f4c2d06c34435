"""The decision of a sanction, by a second regulator (never the one who proposed it), after the
notice and response period when the kind needs one; the credit input, the public data of a decided
sanction and its ``sanction.decided`` webhook.
"""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import User
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, InvalidTransition, PermissionDenied
from marketplace.core.text import clean_text
from marketplace.credit import services as credit
from marketplace.credit.models import CreditInputKind, RefType
from marketplace.sanctions import signals
from marketplace.sanctions._common import _check_period, _tell_agency, china_day, is_regulator
from marketplace.sanctions.evidence import _evidence_label, evidence_number
from marketplace.sanctions.exits import start_exit
from marketplace.sanctions.models import REASON_MAX, SanctionCase, SanctionStatus
from marketplace.sanctions.states import SANCTION_MACHINE

# --- decision --------------------------------------------------------------------------------


def decision_problem(case: SanctionCase, actor, now: datetime) -> DomainError | None:
    """Why ``actor`` cannot decide ``case`` now (the error to raise), or None."""
    if not is_regulator(actor):
        return PermissionDenied(_l("Only a regulator may do this."))
    if not SANCTION_MACHINE.can(case.status, SanctionStatus.DECIDED):
        return InvalidTransition(_l("This case is not waiting for a decision."))
    if case.proposer_id is not None and case.proposer_id == actor.id:
        return PermissionDenied(_l("You proposed this sanction: another regulator must decide it."))
    if case.status is SanctionStatus.PROPOSED and case.kind.needs_notice:
        return DomainError(_l("A suspension or blacklisting must first be notified to the agency, "
                              "which may respond before the decision."))
    if (case.status is SanctionStatus.NOTIFIED and case.responded_at is None
            and china_day(now) <= case.response_deadline):
        return DomainError(_l("The agency may respond until %(date)s; decide after that day or after "
                              "its response.", date=case.response_deadline.isoformat()))
    return None


def decide_sanction(
    case: SanctionCase,
    *,
    actor: User,
    start_date: date | None = None,
    end_date: date | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> SanctionCase:
    """A second regulator decides the sanction for the given period (``end_date`` None: indefinite).

    Records the credit input, queues the ``sanction.decided`` webhook, tells the agency and sends
    ``signals.sanction_decided`` in this transaction.

    Raises:
        PermissionDenied: not a regulator, or the actor proposed the case.
        DomainError: the response period is still open, a suspension or blacklisting was not
            notified, or the period is not acceptable.
        InvalidTransition / ConcurrentUpdate: the case was decided or withdrawn meanwhile.
    """
    now = now or utcnow()
    problem = decision_problem(case, actor, now)
    if problem is not None:
        raise problem
    today = china_day(now)
    start_date = start_date or today
    _check_period(case.kind, start_date, end_date, today=today)
    reason = clean_text(reason, max_len=REASON_MAX, field="reason", required=False, multiline=True)
    case.decider_id = actor.id
    case.decided_at = now
    case.start_date = start_date
    case.end_date = end_date
    case.decision_reason = reason
    SANCTION_MACHINE.transition(case, SanctionStatus.DECIDED, actor=actor, payload={
        "start": start_date.isoformat(), "end": end_date.isoformat() if end_date else None,
        "proposer_id": case.proposer_id, "decider_id": actor.id,
    })
    refs = [("sanction", case.id, case.reference)] + [
        (e.object_type.value, e.object_id, _evidence_label(e)) for e in case.evidence
        if e.object_type in (RefType.CONTRACT, RefType.APPROVAL_CASE, RefType.COMPLAINT, RefType.RATING)
    ][:9]
    credit.record_credit_input(case.organisation_id, CreditInputKind.SANCTION, level=case.kind.value,
                               occurred_at=now, refs=refs, actor=actor, now=now,
                               note=f"{case.reference} {case.ground_code}")
    _emit(case, stage="decision")
    signals.sanction_decided.send(case)
    start_exit(case, now=now)
    if end_date:
        _tell_agency(case, "sanctions.decided", start=start_date.isoformat(), end=end_date.isoformat())
    else:
        _tell_agency(case, "sanctions.decided_indefinite", key="sanctions.decided",
                     start=start_date.isoformat())
    return case


def public_data(case: SanctionCase) -> dict:
    """What the public (and webhook receivers) may know of a decided sanction."""
    decider = case.decider
    return {
        "case": case.reference, "id": case.id, "status": case.status.value, "kind": case.kind.value,
        "agency": {"id": case.organisation_id, "name": case.organisation.name, "uscc": case.organisation.uscc},
        "ground": case.ground_code,
        "start_date": case.start_date.isoformat() if case.start_date else None,
        "end_date": case.end_date.isoformat() if case.end_date else None,
        "decided_at": case.decided_at.isoformat() if case.decided_at else None,
        "department": decider.organisation.name if decider else None,
        "evidence": [{"type": e.object_type.value, "id": e.object_id, "number": evidence_number(e)}
                     for e in case.evidence],
    }


def _emit(case: SanctionCase, *, stage: str) -> None:
    from marketplace.webhooks.services import emit

    emit("sanction.decided", dict(public_data(case), stage=stage))
