"""The proposal of a sanction and the notice to the agency: a regulator proposes (or an automatic
trigger opens a proposal awaiting a regulator), the agency is notified and may respond once within
its response period, and a regulator may withdraw the proposal.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from marketplace.accounts.models import User
from marketplace.audit.services import record_event
from marketplace.core.db import utcnow
from marketplace.core.errors import ConcurrentUpdate, DomainError
from marketplace.core.text import clean_text
from marketplace.extensions import db
from marketplace.sanctions._common import (
    _agency,
    _check_ground,
    _check_period,
    _kind,
    _require_own_agency,
    _require_regulator,
    _tell_agency,
    _tell_regulators,
    china_day,
)
from marketplace.sanctions.evidence import _clean_evidence, resolve_evidence
from marketplace.sanctions.models import (
    FACTS_MAX,
    OPEN_STATUSES,
    REASON_MAX,
    TEXT_MAX,
    SanctionCase,
    SanctionKind,
    SanctionStatus,
)
from marketplace.sanctions.states import SANCTION_MACHINE
from marketplace.workdays.services import add_working_days

# --- proposal, notice, response ------------------------------------------------------------------


def propose_sanction(
    org,
    *,
    kind,
    ground_code: str,
    facts: str,
    start_date: date | None = None,
    end_date: date | None = None,
    evidence: Iterable = (),
    actor: User,
    now: datetime | None = None,
    supersedes: SanctionCase | None = None,
) -> SanctionCase:
    """A regulator proposes a sanction against an agency (the proposed period may change at decision).

    ``supersedes``: an open automatic proposal this one replaces (it is withdrawn).

    Raises:
        PermissionDenied: the actor is not a regulator.
        NotFound: not an agency.
        DomainError: kind, ground, facts, period or evidence not acceptable.
    """
    now = now or utcnow()
    _require_regulator(actor)
    agency = _agency(org)
    kind = _kind(kind)
    code = _check_ground(ground_code, kind)
    facts = clean_text(facts, max_len=FACTS_MAX, field="facts", multiline=True)
    today = china_day(now)
    start_date = start_date or today
    _check_period(kind, start_date, end_date, today=today)
    items = _clean_evidence(evidence)
    if supersedes is not None and (
        supersedes.organisation_id != agency.id or supersedes.status not in OPEN_STATUSES
    ):
        raise DomainError(_l("Only an open proposal against the same agency can be replaced."))
    case = SanctionCase(
        organisation_id=agency.id, kind=kind, ground_code=code, facts=facts,
        status=SanctionStatus.PROPOSED, proposer_id=actor.id, proposed_at=now,
        start_date=start_date, end_date=end_date, evidence=resolve_evidence(items, agency),
    )
    db.session.add(case)
    db.session.flush()
    record_event("sanction_case.proposed", case, actor=actor, payload={
        "organisation_id": agency.id, "kind": kind.value, "ground": code,
        "start": start_date.isoformat(), "end": end_date.isoformat() if end_date else None,
        "evidence": [f"{e.object_type.value}:{e.object_id}" for e in case.evidence],
    })
    if supersedes is not None:
        withdraw_sanction(supersedes, actor=actor, now=now,
                          reason=f"superseded by {case.reference}")
    _tell_agency(case, "sanctions.proposed")
    return case


def open_system_proposal(
    org_id: int,
    *,
    trigger_code: str,
    trigger_key: str,
    kind: SanctionKind,
    ground_code: str,
    params: dict,
    evidence: Iterable = (),
    period_days: int | None,
    now: datetime,
) -> SanctionCase | None:
    """An automatic trigger opens a proposal awaiting a regulator; None if this key exists already."""
    agency = _agency(org_id)
    today = china_day(now)
    items = _clean_evidence(evidence)
    case = SanctionCase(
        organisation_id=agency.id, kind=kind, ground_code=_check_ground(ground_code, kind),
        status=SanctionStatus.PROPOSED, proposer_id=None, proposed_at=now,
        trigger_code=trigger_code, trigger_key=trigger_key[:120],
        trigger_params=json.dumps(params, sort_keys=True, default=str),
        start_date=today, end_date=today + timedelta(days=period_days) if period_days else None,
        evidence=resolve_evidence(items, agency, strict=False),
    )
    try:
        with db.session.begin_nested():
            db.session.add(case)
            db.session.flush()
    except IntegrityError:
        return None  # another runner opened it first: the key is unique
    record_event("sanction_case.proposed", case, actor="sanctions.triggers", payload={
        "organisation_id": agency.id, "kind": kind.value, "ground": case.ground_code,
        "trigger": trigger_code, "params": params,
    })
    _tell_agency(case, "sanctions.proposed")
    _tell_regulators(case, "sanctions.system_proposal", agency=agency.name)
    return case


def notify_agency(case: SanctionCase, *, actor: User, now: datetime | None = None) -> SanctionCase:
    """Give the agency notice of the proposal and open its response period (working days).

    A regulator notifying an automatic proposal takes it up: they become its proposer, so a
    second regulator decides it.

    Raises:
        PermissionDenied: not a regulator.
        InvalidTransition / ConcurrentUpdate: the case is no longer a fresh proposal.
    """
    now = now or utcnow()
    _require_regulator(actor)
    days = int(current_app.config.get("SANCTION_RESPONSE_DAYS", 5))
    deadline = add_working_days(china_day(now), days)
    if case.proposer_id is None:
        case.proposer_id = actor.id
    case.notified_by_id = actor.id
    case.notified_at = now
    case.response_deadline = deadline
    SANCTION_MACHINE.transition(case, SanctionStatus.NOTIFIED, actor=actor,
                                payload={"response_deadline": deadline.isoformat(), "working_days": days})
    _tell_agency(case, "sanctions.notice", deadline=deadline.isoformat())
    return case


def response_open(case: SanctionCase, now: datetime) -> bool:
    """Whether the agency may still respond to the proposal."""
    if case.status not in OPEN_STATUSES or case.responded_at is not None:
        return False
    return case.response_deadline is None or china_day(now) <= case.response_deadline


def respond_to_proposal(case: SanctionCase, *, text: str, actor: User, now: datetime | None = None) -> SanctionCase:
    """The agency answers the proposal (once, before the response deadline).

    Raises:
        PermissionDenied: not staff of the agency concerned.
        DomainError: empty or too long, the period is over, or already answered.
    """
    now = now or utcnow()
    _require_own_agency(actor, case)
    text = clean_text(text, max_len=TEXT_MAX, field="text", multiline=True)
    if case.responded_at is not None:
        raise DomainError(_l("Your agency has already responded to this proposal."))
    if not response_open(case, now):
        raise DomainError(_l("The response period of this proposal is over."))
    done = db.session.execute(
        sa.update(SanctionCase)
        .where(SanctionCase.id == case.id, SanctionCase.responded_at.is_(None),
               SanctionCase.status.in_(OPEN_STATUSES))
        .values(response_text=text, responded_at=now, responded_by_id=actor.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        db.session.rollback()
        raise ConcurrentUpdate(_l("Someone else changed this record first. Please reload."))
    db.session.refresh(case)
    record_event("sanction_case.responded", case, actor=actor, payload={"length": len(text)})
    _tell_regulators(case, "sanctions.responded", only=(case.proposer_id, case.notified_by_id))
    return case


def withdraw_sanction(case: SanctionCase, *, actor, reason: str, now: datetime | None = None) -> SanctionCase:
    """A regulator withdraws a proposal (with a reason on the record).

    Raises:
        PermissionDenied: not a regulator.
        DomainError: no reason given.
        InvalidTransition / ConcurrentUpdate: no longer a proposal.
    """
    _require_regulator(actor)
    reason = clean_text(reason, max_len=REASON_MAX, field="reason", multiline=True)
    case.withdrawn_reason = reason
    SANCTION_MACHINE.transition(case, SanctionStatus.WITHDRAWN, actor=actor, reason=reason)
    _tell_agency(case, "sanctions.withdrawn")
    return case
