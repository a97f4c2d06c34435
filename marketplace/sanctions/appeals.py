"""The appeal of a decided sanction: the agency appeals once within the appeal period, and a third
regulator (neither the proposer nor the decider) upholds, shortens or revokes the sanction.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import current_app
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import User
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, PermissionDenied
from marketplace.core.text import clean_text
from marketplace.credit import services as credit
from marketplace.credit.models import CreditInputKind, RefType
from marketplace.sanctions import signals
from marketplace.sanctions._common import (
    _require_own_agency,
    _tell_agency,
    _tell_regulators,
    china_day,
    is_regulator,
)
from marketplace.sanctions.decisions import _emit
from marketplace.sanctions.models import REASON_MAX, TEXT_MAX, SanctionCase, SanctionStatus
from marketplace.sanctions.states import SANCTION_MACHINE
from marketplace.workdays.services import add_working_days

# --- appeal ----------------------------------------------------------------------------------


def appeal_deadline(case: SanctionCase) -> date | None:
    """The last day the agency may appeal the decision."""
    if case.decided_at is None:
        return None
    days = int(current_app.config.get("SANCTION_APPEAL_DAYS", 15))
    return add_working_days(china_day(case.decided_at), days)


def can_appeal(case: SanctionCase, now: datetime) -> bool:
    """Whether the agency may still appeal (once, within the appeal period, before any repair)."""
    deadline = appeal_deadline(case)
    return (case.status is SanctionStatus.DECIDED and case.repaired_on is None
            and deadline is not None and china_day(now) <= deadline)


def appeal_sanction(case: SanctionCase, *, text: str, actor: User, now: datetime | None = None) -> SanctionCase:
    """The agency appeals a decided sanction, once; a third regulator will decide the appeal.

    Raises:
        PermissionDenied: not staff of the agency concerned.
        DomainError: empty text, or the appeal period is over.
        InvalidTransition / ConcurrentUpdate: not decided, or already appealed.
    """
    now = now or utcnow()
    _require_own_agency(actor, case)
    text = clean_text(text, max_len=TEXT_MAX, field="text", multiline=True)
    if case.status is SanctionStatus.DECIDED and not can_appeal(case, now):
        raise DomainError(_l("The appeal period of this decision is over."))
    case.appeal_text = text
    case.appealed_at = now
    case.appealed_by_id = actor.id
    SANCTION_MACHINE.transition(case, SanctionStatus.APPEALED, actor=actor)
    _tell_regulators(case, "sanctions.appealed")
    return case


APPEAL_OUTCOMES = (SanctionStatus.UPHELD, SanctionStatus.SHORTENED, SanctionStatus.REVOKED)


def appeal_problem(case: SanctionCase, actor) -> object | None:
    """Why ``actor`` cannot decide the appeal of ``case`` (a message), or None."""
    if not is_regulator(actor):
        return _l("Only a regulator may do this.")
    if actor.id in (case.proposer_id, case.decider_id):
        return _l("An appeal is decided by a regulator who neither proposed nor decided the sanction.")
    return None


def decide_appeal(
    case: SanctionCase,
    *,
    actor: User,
    outcome,
    reason: str,
    new_end_date: date | None = None,
    now: datetime | None = None,
) -> SanctionCase:
    """A third regulator upholds, shortens (a new, earlier end date) or revokes the sanction.

    Revoking reverses the sanction's credit input.

    Raises:
        PermissionDenied: not a regulator, or the proposer / decider of the case.
        DomainError: no reason, or a bad new end date.
        InvalidTransition / ConcurrentUpdate: no appeal is waiting.
    """
    now = now or utcnow()
    problem = appeal_problem(case, actor)
    if problem is not None:
        raise PermissionDenied(problem)
    try:
        outcome = SanctionStatus(outcome)
    except ValueError:
        outcome = None
    if outcome not in APPEAL_OUTCOMES:
        raise DomainError(_l("Choose whether to uphold, shorten or revoke the sanction."), field="outcome")
    reason = clean_text(reason, max_len=REASON_MAX, field="reason", multiline=True)
    payload = {}
    if outcome is SanctionStatus.SHORTENED and case.status is SanctionStatus.APPEALED:
        if new_end_date is None:
            raise DomainError(_l("Give the new end date."), field="new_end_date")
        if new_end_date < case.start_date:
            raise DomainError(_l("The new end date cannot be before the start date."), field="new_end_date")
        if case.end_date is not None and new_end_date >= case.end_date:
            raise DomainError(_l("The new end date must be earlier than the current one."),
                              field="new_end_date")
        case.original_end_date = case.end_date
        case.end_date = new_end_date
        payload = {"end": new_end_date.isoformat(),
                   "previous_end": case.original_end_date.isoformat() if case.original_end_date else None}
    case.appeal_decider_id = actor.id
    case.appeal_decided_at = now
    case.appeal_reason = reason
    SANCTION_MACHINE.transition(case, outcome, actor=actor, reason=reason, payload=payload)
    if outcome is SanctionStatus.REVOKED:
        credit.reverse_inputs_for(RefType.SANCTION, case.id, kind=CreditInputKind.SANCTION,
                                  note=f"{case.reference} revoked on appeal", actor=actor, now=now)
    _emit(case, stage="appeal")
    signals.sanction_changed.send(case, outcome=outcome.value)
    _tell_agency(case, "sanctions.appeal_decided")
    return case
