"""Sanction cases: proposal, notice and response, decision, appeal, credit repair; public lists.

Every status change goes through ``states.SANCTION_MACHINE`` / ``REPAIR_MACHINE`` (a conditional
UPDATE plus an audit event). Services flush and never commit; notifications, the webhook and
the credit input are written in the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from marketplace.accounts.models import Organisation, OrgKind, Role, User
from marketplace.audit.services import record_event
from marketplace.core.db import utcnow
from marketplace.core.errors import (
    ConcurrentUpdate,
    DomainError,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from marketplace.core.text import clean_query, clean_text, has_control_chars, is_db_id
from marketplace.credit import services as credit
from marketplace.credit.models import REF_ID_MAX, CreditInputKind, RefType
from marketplace.extensions import db
from marketplace.notifications.kinds import register_kind
from marketplace.notifications.services import notify, notify_organisation
from marketplace.sanctions import signals
from marketplace.sanctions.eligibility import SHANGHAI, listed_sql
from marketplace.sanctions.grounds import get_ground, ground_title
from marketplace.sanctions.models import (
    EVIDENCE_NOTE_MAX,
    FACTS_MAX,
    IN_FORCE_STATUSES,
    MAX_EVIDENCE,
    OPEN_STATUSES,
    PUBLIC_STATUSES,
    REASON_MAX,
    TEXT_MAX,
    RepairRequest,
    RepairStatus,
    SanctionCase,
    SanctionEvidence,
    SanctionKind,
    SanctionStatus,
)
from marketplace.sanctions.states import REPAIR_MACHINE, SANCTION_MACHINE
from marketplace.workdays.services import add_working_days

MAX_PERIOD_DAYS = 3653  # a fixed-term sanction lasts at most ten years
MAX_START_AHEAD_DAYS = 366
REGULATOR_ROLES = (Role.REGULATOR, Role.ADMIN)

register_kind("sanctions.proposed", _l(
    "A sanction was proposed against your agency (case %(ref)s). Open it to see the grounds and the evidence."))
register_kind("sanctions.notice", _l(
    "Case %(ref)s: you may respond to the proposed sanction until %(deadline)s."))
register_kind("sanctions.decided", _l(
    "Case %(ref)s: the sanction was decided. It applies from %(start)s until %(end)s."))
register_kind("sanctions.decided_indefinite", _l(
    "Case %(ref)s: the sanction was decided. It applies from %(start)s without an end date."))
register_kind("sanctions.withdrawn", _l("Case %(ref)s: the proposed sanction was withdrawn."))
register_kind("sanctions.appeal_decided", _l(
    "Case %(ref)s: your appeal was decided. Open the case to see the outcome."))
register_kind("sanctions.repair_decided", _l(
    "Case %(ref)s: your credit-repair request was decided. Open the case to see the outcome."))
register_kind("sanctions.responded", _l("Case %(ref)s: the agency responded to the proposed sanction."))
register_kind("sanctions.appealed", _l("Case %(ref)s: the agency appealed the decision."))
register_kind("sanctions.repair_requested", _l("Case %(ref)s: the agency requests credit repair."))
register_kind("sanctions.system_proposal", _l(
    "An automatic trigger opened case %(ref)s against %(agency)s; it waits for a regulator."))


def china_day(now: datetime) -> date:
    """The calendar day of ``now`` in China."""
    return now.astimezone(SHANGHAI).date()


def is_regulator(user) -> bool:
    """Whether ``user`` may act on sanctions (regulators, and administrators)."""
    return bool(getattr(user, "is_authenticated", True) and getattr(user, "role", None) in REGULATOR_ROLES)


def _require_regulator(actor) -> None:
    if not is_regulator(actor):
        raise PermissionDenied(_l("Only a regulator may do this."))


def _require_own_agency(actor, case: SanctionCase) -> None:
    if getattr(actor, "role", None) is not Role.AGENCY_STAFF or actor.organisation_id != case.organisation_id:
        raise PermissionDenied(_l("Only the agency concerned may do this."))


def _agency_link(case: SanctionCase) -> str:
    return f"/agency/sanctions/{case.id}"


def _regulator_link(case: SanctionCase) -> str:
    return f"/regulator/sanctions/{case.id}"


def regulators() -> list[User]:
    """Every enabled regulator (told about automatic proposals, responses and appeals)."""
    return list(db.session.execute(
        sa.select(User).where(User.role == Role.REGULATOR, User.is_enabled.is_(True)).order_by(User.id)
    ).scalars())


def _tell_regulators(case: SanctionCase, kind: str, *, only: Iterable[int | None] = (), **params) -> None:
    """Tell the regulators ``only`` (ids), or every regulator when none is named."""
    wanted = {i for i in only if i}
    people = [db.session.get(User, i) for i in sorted(wanted)] if wanted else regulators()
    for user in people:
        if user is not None and user.is_enabled:
            notify(user, kind, params={"ref": case.reference, **params}, link=_regulator_link(case),
                   dedupe_key=f"{kind}:{case.id}")


def _tell_agency(case: SanctionCase, kind: str, *, key: str | None = None, **params) -> None:
    notify_organisation(case.organisation, kind, params={"ref": case.reference, **params},
                        link=_agency_link(case), dedupe_key=f"{key or kind}:{case.id}")


# --- input checks ------------------------------------------------------------------------------


def _agency(org) -> Organisation:
    org_id = getattr(org, "id", org)
    found = db.session.get(Organisation, org_id) if is_db_id(org_id) else None
    if found is None or found.kind is not OrgKind.AGENCY:
        raise NotFound(_l("This agency does not exist."))
    return found


def _kind(value) -> SanctionKind:
    try:
        return SanctionKind(value)
    except ValueError as exc:
        raise DomainError(_l("Choose a kind of sanction."), field="kind") from exc


def _check_ground(code: str, kind: SanctionKind) -> str:
    ground = get_ground(str(code or ""))
    if ground is None or not ground.is_active:
        raise DomainError(_l("Choose a ground from the published list."), field="ground_code")
    if kind not in ground.kinds:
        raise DomainError(_l("This ground does not support this kind of sanction."), field="ground_code")
    return ground.code


def _check_period(kind: SanctionKind, start: date, end: date | None, *, today: date,
                  start_field: str = "start_date", end_field: str = "end_date") -> None:
    if start < today:
        raise DomainError(_l("A sanction cannot start before today."), field=start_field)
    if start > today + timedelta(days=MAX_START_AHEAD_DAYS):
        raise DomainError(_l("A sanction must start within a year."), field=start_field)
    if end is None:
        if kind is SanctionKind.SUSPENSION:
            raise DomainError(_l("A suspension needs an end date."), field=end_field)
        return
    if end < start:
        raise DomainError(_l("The end date cannot be before the start date."), field=end_field)
    if (end - start).days > MAX_PERIOD_DAYS:
        raise DomainError(_l("A fixed period may last at most ten years."), field=end_field)


@dataclass(frozen=True)
class Evidence:
    """One piece of evidence as entered: what it is, its id, a note."""

    object_type: RefType
    object_id: str
    note: str = ""


def _evidence_label(evidence) -> str:
    """How the credit ledger names a piece of evidence: its number, the note beside it."""
    number = evidence_number(evidence)
    return (f"{number} · {evidence.note}" if number and evidence.note else number or evidence.note)[:200]


def resolve_evidence(items: Iterable[Evidence], agency: Organisation, *, strict: bool = True) -> list[SanctionEvidence]:
    """The evidence rows for ``items``: each typed number or id resolved to its record, once.

    ``strict=False`` (automatic proposals, whose references come from the ledger) keeps a
    reference that resolves to nothing as it is instead of refusing it.

    Raises:
        DomainError: a number or id matches no record of its kind, or a contract is not one of
            the agency's.
    """
    from marketplace.credit import references

    rows: list[SanctionEvidence] = []
    seen: set[tuple[RefType, str]] = set()
    for item in items:
        found = references.resolve(item.object_type, item.object_id) if item.object_type is not RefType.OTHER else None
        if found is None:
            if strict and item.object_type is not RefType.OTHER:
                raise DomainError(_l("No %(kind)s has the number or id “%(value)s”. Enter the number shown "
                                     "on the record (e.g. a contract number) or its id.",
                                     kind=item.object_type.label, value=item.object_id), field="evidence")
            row = SanctionEvidence(object_type=item.object_type, object_id=item.object_id, note=item.note)
        else:
            if (found.object_type is RefType.CONTRACT and strict
                    and found.obj.agency_org_id != agency.id):
                raise DomainError(_l("Contract %(no)s is not a contract of this agency.", no=found.number),
                                  field="evidence")
            row = SanctionEvidence(object_type=found.object_type, object_id=found.object_id,
                                   number=found.number, contract_id=found.contract_id,
                                   approval_case_id=found.approval_case_id, note=item.note)
        key = (row.object_type, row.object_id)
        if key not in seen:
            seen.add(key)
            rows.append(row)
    return rows


def _clean_evidence(items) -> list[Evidence]:
    cleaned: list[Evidence] = []
    for raw in items or ():
        if isinstance(raw, Evidence):
            kind, obj_id, note = raw.object_type, raw.object_id, raw.note
        elif isinstance(raw, dict):
            kind, obj_id, note = raw.get("object_type"), raw.get("object_id"), raw.get("note", "")
        else:
            kind, obj_id, *rest = tuple(raw)
            note = rest[0] if rest else ""
        obj_id = str(obj_id or "").strip()
        note = str(note or "").strip()
        if not kind and not obj_id and not note:
            continue
        try:
            kind = RefType(kind)
        except ValueError as exc:
            raise DomainError(_l("Choose what each piece of evidence is."), field="evidence") from exc
        if not obj_id or len(obj_id) > REF_ID_MAX or has_control_chars(obj_id):
            raise DomainError(_l("Each piece of evidence needs its number (at most %(n)d characters).",
                                 n=REF_ID_MAX), field="evidence")
        if len(note) > EVIDENCE_NOTE_MAX or has_control_chars(note):
            raise DomainError(_l("An evidence note may have at most %(n)d plain characters.",
                                 n=EVIDENCE_NOTE_MAX), field="evidence")
        item = Evidence(kind, obj_id, note)
        if all((e.object_type, e.object_id) != (item.object_type, item.object_id) for e in cleaned):
            cleaned.append(item)
    if len(cleaned) > MAX_EVIDENCE:
        raise DomainError(_l("At most %(n)d pieces of evidence.", n=MAX_EVIDENCE), field="evidence")
    return cleaned


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


def evidence_number(evidence: SanctionEvidence) -> str:
    """The public number of a piece of evidence (what was typed, for an unresolved older row)."""
    if evidence.number:
        return evidence.number
    return "" if evidence.object_id.isdigit() and evidence.object_type is not RefType.OTHER else evidence.object_id


def _emit(case: SanctionCase, *, stage: str) -> None:
    from marketplace.webhooks.services import emit

    emit("sanction.decided", dict(public_data(case), stage=stage))


# --- exit from the market (清退) ---------------------------------------------------------------


def start_exit(case: SanctionCase, *, now: datetime | None = None) -> bool:
    """Carry out a blacklisting's exit once it is in force: send ``signals.blacklist_in_force``.

    Once per case (a conditional UPDATE on ``exit_started_at``), so the decision and the job, or
    two runners, never do it twice. Returns whether it was done now.
    """
    now = now or utcnow()
    if case.kind is not SanctionKind.BLACKLIST or case.exit_started_at is not None:
        return False
    if not case.is_in_force_on(china_day(now)):
        return False
    result = db.session.execute(
        sa.update(SanctionCase)
        .where(SanctionCase.id == case.id, SanctionCase.exit_started_at.is_(None))
        .values(exit_started_at=now).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    case.__dict__["exit_started_at"] = now
    record_event("sanction.exit_started", case, actor="system", payload={
        "case": case.reference, "agency": case.organisation_id, "start": case.start_date.isoformat(),
    })
    signals.blacklist_in_force.send(case, now=now)
    return True


def exits_due(now: datetime) -> list[int]:
    """Blacklistings in force today whose exit was not carried out yet (a later start date)."""
    from marketplace.sanctions.eligibility import in_force_sql

    return list(db.session.execute(
        sa.select(SanctionCase.id)
        .where(SanctionCase.kind == SanctionKind.BLACKLIST, SanctionCase.exit_started_at.is_(None),
               in_force_sql(SanctionCase, china_day(now)))
        .order_by(SanctionCase.id)
    ).scalars())


def exit_case_for(org_id: int, on: date | None = None) -> SanctionCase | None:
    """The blacklisting in force against an agency on ``on`` (default today), if any."""
    from marketplace.sanctions.eligibility import in_force_sql

    on = on or china_day(utcnow())
    return db.session.execute(
        sa.select(SanctionCase)
        .where(SanctionCase.organisation_id == org_id, SanctionCase.kind == SanctionKind.BLACKLIST,
               in_force_sql(SanctionCase, on))
        .order_by(SanctionCase.start_date).limit(1)
    ).scalar_one_or_none()


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


LIST_KINDS = ("blacklist", "suspension", "warning", "all")


def _public_query(*, q: str, kind: str, on: date):
    stmt = (
        sa.select(SanctionCase)
        .join(Organisation, Organisation.id == SanctionCase.organisation_id)
        .where(listed_sql(SanctionCase, on))
        .options(selectinload(SanctionCase.organisation), selectinload(SanctionCase.evidence),
                 selectinload(SanctionCase.decider).selectinload(User.organisation))
        .order_by(SanctionCase.decided_at.desc(), SanctionCase.id.desc())
    )
    if kind != "all":
        stmt = stmt.where(SanctionCase.kind == SanctionKind(kind if kind in LIST_KINDS else "blacklist"))
    q = clean_query(q)
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(sa.or_(Organisation.name.ilike(like, escape="\\"),
                                 Organisation.uscc.ilike(like, escape="\\")))
    return stmt


def public_list(*, q: str = "", kind: str = "blacklist", page: int = 1, per_page: int = 30,
                on: date | None = None):
    """The public list (黑名单 by default): decided, not ended, not repaired; name/USCC filter."""
    on = on or china_day(utcnow())
    return db.paginate(_public_query(q=q, kind=kind, on=on), page=page, per_page=per_page,
                       error_out=False)


def public_list_query(*, q: str = "", kind: str = "blacklist", on: date | None = None) -> sa.Select:
    """The query behind :func:`public_list` and the CSV (the API shares it)."""
    return _public_query(q=q, kind=kind, on=on or china_day(utcnow()))


def public_rows(*, q: str = "", kind: str = "blacklist", on: date | None = None,
                limit: int = 10_000) -> list[SanctionCase]:
    """The same list, unpaged (for the CSV export)."""
    on = on or china_day(utcnow())
    return list(db.session.execute(_public_query(q=q, kind=kind, on=on).limit(limit)).scalars())


def csv_table(cases: Iterable[SanctionCase]) -> tuple[list[str], list[list]]:
    """Header and rows of the public CSV export (translated labels, neutral values)."""
    header = [str(_l("Case")), str(_l("Agency")), str(_l("Unified social credit code")),
              str(_l("Sanction")), str(_l("Ground")), str(_l("Start")), str(_l("End")),
              str(_l("Deciding department")), str(_l("Approval cases and contracts"))]
    rows = []
    for case in cases:
        refs = " ".join(f"{e.object_type.label} {evidence_number(e) or '—'}" for e in case.evidence
                        if e.object_type in (RefType.APPROVAL_CASE, RefType.CONTRACT))
        rows.append([
            case.reference, case.organisation.name, case.organisation.uscc, str(case.kind.label),
            ground_title(case.ground_code), case.start_date.isoformat() if case.start_date else "",
            case.end_date.isoformat() if case.end_date else str(_l("indefinite")),
            case.decider.organisation.name if case.decider else "", refs,
        ])
    return header, rows


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


def listed_cases_for(org_id: int, on: date | None = None) -> list[SanctionCase]:
    """The agency's cases on the public list on ``on`` (its credit panel shows them)."""
    on = on or china_day(utcnow())
    return list(db.session.execute(
        sa.select(SanctionCase)
        .where(SanctionCase.organisation_id == org_id, listed_sql(SanctionCase, on))
        .order_by(SanctionCase.decided_at.desc())
    ).scalars())
