"""Ending a contract in force before its result is accepted (解除合同).

Two ways, both on the record:

- **By agreement** (协商一致): either party proposes with its reason; the other party agrees
  (the contract ends) or declines (it stays in force); the proposer may withdraw. One proposal
  at a time.
- **By the enterprise alone**, only on a ground that holds when it declares: the result is
  overdue by at least ``CONTRACT_TERMINATION_OVERDUE_DAYS`` working days while the agency still
  has it (not while the enterprise is reviewing a submission), or the agency is suspended or
  blacklisted. The agency is told; the ground and its facts are stored with the declaration.

When a contract ends this way the purchase request is cancelled with the termination as its
public reason, and ``contract_terminated`` is sent in the same transaction: payments refund or
cancel, delivery fixes the overrun against the agency, ratings open their window.
Whether the result is overdue is asked of the delivery domain through the ``delivery_progress``
signal: contracts come before delivery and never import it (the layer contract, pyproject.toml).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import User
from marketplace.audit.services import record_event
from marketplace.contracts.models import (
    TERMINATION_REASON_MAX,
    Contract,
    ContractStatus,
    ContractTermination,
    TerminationGround,
    TerminationStatus,
)
from marketplace.contracts.services import china_today
from marketplace.contracts.signals import contract_terminated, delivery_progress_of
from marketplace.contracts.states import CONTRACT_MACHINE, TERMINATION_MACHINE
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, NotFound, PermissionDenied
from marketplace.core.text import clean_text, is_db_id
from marketplace.extensions import db
from marketplace.notifications.kinds import register_kind
from marketplace.notifications.services import notify_organisation
from marketplace.procurement import services as procurement
from marketplace.procurement.models import RequestStatus
from marketplace.procurement.states import REQUEST_MACHINE
from marketplace.webhooks.services import emit

log = logging.getLogger(__name__)

register_kind("contracts.termination_proposed", _l(
    "%(party)s proposes to terminate contract %(no)s: %(reason)s. Agree or decline on the contract page."))
register_kind("contracts.termination_declined", _l("Your proposal to terminate contract %(no)s was declined."))
register_kind("contracts.termination_withdrawn", _l("The proposal to terminate contract %(no)s was withdrawn."))
register_kind("contracts.terminated", _l("Contract %(no)s was terminated (%(ground)s): %(reason)s"))



class TerminationRefused(DomainError):
    """A termination step that the rules do not allow now."""


def overdue_threshold() -> int:
    return int(current_app.config.get("CONTRACT_TERMINATION_OVERDUE_DAYS", 10))


def terminations_of(contract: Contract) -> list[ContractTermination]:
    """Every proposal and declaration on the contract, oldest first."""
    return list(db.session.execute(
        sa.select(ContractTermination).where(ContractTermination.contract_id == contract.id)
        .order_by(ContractTermination.id)
    ).scalars())


def open_proposal(contract: Contract) -> ContractTermination | None:
    """The proposal waiting for an answer, if any."""
    return db.session.execute(
        sa.select(ContractTermination).where(ContractTermination.contract_id == contract.id,
                                             ContractTermination.status == TerminationStatus.PROPOSED)
    ).scalars().first()


def effective_termination(contract: Contract) -> ContractTermination | None:
    """The agreement or declaration that ended the contract."""
    return db.session.execute(
        sa.select(ContractTermination).where(
            ContractTermination.contract_id == contract.id,
            ContractTermination.status.in_([TerminationStatus.AGREED, TerminationStatus.DECLARED]))
    ).scalars().first()


def get_termination(contract: Contract, termination_id) -> ContractTermination:
    """One of the contract's termination records.

    Raises:
        NotFound: no such record on this contract.
    """
    term = db.session.get(ContractTermination, termination_id) if is_db_id(termination_id) else None
    if term is None or term.contract_id != contract.id:
        raise NotFound(_l("This page does not exist."))
    return term


# --- what holds now ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GroundCheck:
    """Whether a unilateral ground holds now, and the facts that show it."""

    ground: TerminationGround
    holds: bool
    explanation: str
    facts: dict


def _overdue_check(contract: Contract, now: datetime) -> GroundCheck:
    ground = TerminationGround.AGENCY_OVERDUE
    threshold = overdue_threshold()
    today = china_today(now)
    cd = delivery_progress_of(contract, today)  # the delivery domain answers
    if cd is None:
        return GroundCheck(ground, False, str(_l("The delivery has not started yet.")), {})
    facts = {"due_date": cd.due_date.isoformat(), "today": today.isoformat(),
             "overrun_days": cd.days if cd.state == "overrun" else 0, "threshold": threshold}
    if cd.state == "with_buyer":
        return GroundCheck(ground, False, str(_l(
            "A result was submitted: accept it or ask for a revision first.")), facts)
    if cd.state != "overrun" or cd.days < threshold:
        return GroundCheck(ground, False, str(_l(
            "Possible once the result is overdue by %(n)s working days (now: %(days)s).",
            n=threshold, days=facts["overrun_days"])), facts)
    return GroundCheck(ground, True, str(_l(
        "The result was due on %(due)s and is overdue by %(days)s working days.",
        due=facts["due_date"], days=cd.days)), facts)


def _excluded_check(contract: Contract, now: datetime) -> GroundCheck:
    from marketplace.procurement.services import china_date
    from marketplace.sanctions.eligibility import is_sanctioned

    ground = TerminationGround.AGENCY_EXCLUDED
    on = china_date(now)
    if is_sanctioned(contract.agency_org_id, on):
        return GroundCheck(ground, True, str(_l("The agency is suspended or blacklisted today.")),
                           {"on": on.isoformat()})
    return GroundCheck(ground, False, str(_l("The agency is not suspended or blacklisted.")),
                       {"on": on.isoformat()})


CHECKS = {
    TerminationGround.AGENCY_OVERDUE: _overdue_check,
    TerminationGround.AGENCY_EXCLUDED: _excluded_check,
}


def unilateral_checks(contract: Contract, now: datetime | None = None) -> list[GroundCheck]:
    """The enterprise's unilateral grounds and whether each holds now."""
    now = now or utcnow()
    if contract.status is not ContractStatus.IN_FORCE:
        return []
    return [check(contract, now) for check in CHECKS.values()]


# --- acting -----------------------------------------------------------------------------------


def _party(contract: Contract, actor) -> str:
    party = contract.party_of(actor)
    if party is None or not getattr(actor, "is_enabled", False):
        raise PermissionDenied(_l("Only the parties to the contract may do this."))
    return party


def _lock(contract: Contract) -> None:
    """Take the contract row (serialises proposals, answers and declarations); it must be in force.

    Raises:
        TerminationRefused: the contract is no longer in force.
    """
    db.session.flush()
    result = db.session.execute(
        sa.update(Contract).where(Contract.id == contract.id, Contract.status == ContractStatus.IN_FORCE)
        .values(lock_seq=Contract.lock_seq + 1).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise TerminationRefused(_l("The contract is no longer in force."))
    db.session.refresh(contract)


def propose_termination(contract: Contract, *, reason: str, actor: User,
                        now: datetime | None = None) -> ContractTermination:
    """Either party proposes to end the contract by agreement; the other party answers.

    Raises:
        PermissionDenied: the actor is not a party's staff.
        TerminationRefused: the contract is not in force, or a proposal is already open.
        DomainError: no reason, or too long.
    """
    now = now or utcnow()
    party = _party(contract, actor)
    reason = clean_text(reason, max_len=TERMINATION_REASON_MAX, field="reason", multiline=True)
    _lock(contract)
    if open_proposal(contract) is not None:
        raise TerminationRefused(_l("A proposal to terminate is already waiting for an answer."))
    term = ContractTermination(
        contract_id=contract.id, ground=TerminationGround.MUTUAL, status=TerminationStatus.PROPOSED,
        proposed_by_org_id=actor.organisation_id, proposed_by_id=actor.id, reason=reason, proposed_at=now,
    )
    db.session.add(term)
    db.session.flush()
    record_event("contract_termination.proposed", term, actor=actor, payload={
        "contract": contract.contract_no, "party": party, "reason": reason})
    other = contract.agency if party == "buyer" else contract.buyer
    notify_organisation(other, "contracts.termination_proposed",
                        params={"no": contract.contract_no, "party": actor.organisation.name,
                                "reason": reason[:200]},
                        link=f"/contracts/{contract.id}", dedupe_key=f"contract-termination:{term.id}")
    return term


def answer_termination(term: ContractTermination, *, agree: bool, note: str = "", actor: User,
                       now: datetime | None = None) -> ContractTermination:
    """The other party agrees (the contract ends) or declines; the proposer may withdraw.

    Raises:
        PermissionDenied: not the other party (nor, to withdraw, the proposer).
        TerminationRefused: the contract is no longer in force.
        InvalidTransition / ConcurrentUpdate: the proposal was answered meanwhile.
    """
    now = now or utcnow()
    contract = term.contract
    _party(contract, actor)
    note = clean_text(note, max_len=TERMINATION_REASON_MAX, field="note", required=False, multiline=True)
    own = actor.organisation_id == term.proposed_by_org_id
    if own and agree:
        raise PermissionDenied(_l("The other party answers your proposal."))
    _lock(contract)
    target = (TerminationStatus.AGREED if agree
              else TerminationStatus.WITHDRAWN if own else TerminationStatus.DECLINED)
    term.decided_by_id = actor.id
    term.decided_at = now
    term.decision_note = note
    TERMINATION_MACHINE.transition(term, target, actor=actor, reason=note or None,
                                   payload={"contract": contract.contract_no})
    proposer = contract.buyer if term.proposed_by_org_id == contract.buyer_org_id else contract.agency
    if target is TerminationStatus.AGREED:
        _terminate(contract, term, actor=actor, now=now)
    elif target is TerminationStatus.DECLINED:
        notify_organisation(proposer, "contracts.termination_declined", params={"no": contract.contract_no},
                            link=f"/contracts/{contract.id}", dedupe_key=f"contract-termination-declined:{term.id}")
    else:
        other = contract.agency if proposer is contract.buyer else contract.buyer
        notify_organisation(other, "contracts.termination_withdrawn", params={"no": contract.contract_no},
                            link=f"/contracts/{contract.id}", dedupe_key=f"contract-termination-withdrawn:{term.id}")
    return term


def declare_termination(contract: Contract, *, ground, reason: str, actor: User,
                        now: datetime | None = None) -> ContractTermination:
    """The enterprise ends the contract on its own, on a ground that holds now.

    Raises:
        PermissionDenied: the actor is not the enterprise's staff.
        TerminationRefused: the ground does not hold now, or the contract is not in force.
        DomainError: unknown ground, no reason.
    """
    now = now or utcnow()
    party = _party(contract, actor)
    if party != "buyer":
        raise PermissionDenied(_l("Only the enterprise may terminate the contract on its own."))
    try:
        ground = TerminationGround(ground)
    except ValueError:
        raise DomainError(_l("Choose a ground for the termination."), field="ground") from None
    if not ground.unilateral:
        raise DomainError(_l("Termination by agreement needs the agency's answer: propose it instead."),
                          field="ground")
    reason = clean_text(reason, max_len=TERMINATION_REASON_MAX, field="reason", multiline=True)
    _lock(contract)
    check = CHECKS[ground](contract, now)
    if not check.holds:
        raise TerminationRefused(_l("This ground does not hold now: %(why)s", why=check.explanation))
    pending = open_proposal(contract)
    term = ContractTermination(
        contract_id=contract.id, ground=ground, status=TerminationStatus.DECLARED,
        proposed_by_org_id=actor.organisation_id, proposed_by_id=actor.id, reason=reason, proposed_at=now,
    )
    db.session.add(term)
    db.session.flush()
    record_event("contract_termination.declared", term, actor=actor, payload={
        "contract": contract.contract_no, "ground": str(ground), "reason": reason, "facts": check.facts})
    if pending is not None:
        pending.decided_by_id = actor.id
        pending.decided_at = now
        target = (TerminationStatus.WITHDRAWN if pending.proposed_by_org_id == actor.organisation_id
                  else TerminationStatus.DECLINED)
        TERMINATION_MACHINE.transition(pending, target, actor=actor, reason=str(_l("Superseded by a declaration.")),
                                       payload={"contract": contract.contract_no, "declaration": term.id})
    _terminate(contract, term, actor=actor, now=now)
    return term


def _terminate(contract: Contract, term: ContractTermination, *, actor, now: datetime) -> None:
    """The contract ends: its request is cancelled with the reason; the other domains react."""
    ground_label = str(term.ground.label)
    CONTRACT_MACHINE.transition(contract, ContractStatus.TERMINATED, actor=actor, reason=term.reason,
                                payload={"termination": term.id, "ground": str(term.ground)})
    req = contract.request
    if REQUEST_MACHINE.can(req.status, RequestStatus.CANCELLED):
        req.cancel_reason = str(_l("Contract %(no)s terminated (%(ground)s): %(reason)s",
                                   no=contract.contract_no, ground=ground_label, reason=term.reason))
        req.ended_at = now
        REQUEST_MACHINE.transition(req, RequestStatus.CANCELLED, actor=actor, reason=req.cancel_reason,
                                   payload={"contract": contract.contract_no, "termination": term.id})
        procurement.index_announcement(req)
    else:  # pragma: no cover - the request path is kept in step by delivery
        log.warning("purchase request %s stays %s after contract %s ended", req.id, req.status, contract.id)
    reason = f"{ground_label}: {term.reason}"
    contract_terminated.send(contract, reason=reason, actor=actor, now=now, termination=term)
    case = req.approval_case
    emit("contract.terminated", {"contract_no": contract.contract_no, "request_id": req.id,
                                 "approval_case": case.case_number, "ground": str(term.ground),
                                 "reason": term.reason},
         audience=[contract.buyer_org_id, contract.agency_org_id, case.department_id])
    for org in (contract.buyer, contract.agency):
        notify_organisation(org, "contracts.terminated",
                            params={"no": contract.contract_no, "ground": ground_label, "reason": term.reason[:200]},
                            link=f"/contracts/{contract.id}", dedupe_key=f"contract-terminated:{contract.id}")
