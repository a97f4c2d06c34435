"""Delivery rules: the result against the due date, revisions, extensions, acceptance.

Services flush and never commit; the caller (a view, the job, the CLI) commits once. Every status
change goes through ``DELIVERY_MACHINE`` / ``EXTENSION_MACHINE`` (a conditional UPDATE, so two
concurrent moves from the same state give one winner) and writes an audit event.

The clock (服务时限) counts working days on the official calendar:

- The due date starts as the contract's (effective date + committed working days).
- Only an *agreed* extension (延期) moves it by the parties' choice.
- While a submitted result is with the enterprise, the agency's clock stands still: when the
  enterprise asks for a revision, the working days from the submission to the request are added
  to the due date.
- ``DELIVERY_REVISION_PAUSES_CLOCK`` (default on): the working days from a revision request to
  the resubmission are added too. Off: the revision is done on the agency's own time.
- The result is late when it arrives after the due date; the working days from the due date to
  the accepted version's submission are recorded at acceptance as an overrun against the agency.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from marketplace.accounts.models import Role
from marketplace.audit.services import record_event
from marketplace.contracts import services as contracts
from marketplace.contracts import signals as contracts_signals
from marketplace.contracts.models import Contract, ContractStatus
from marketplace.contracts.states import CONTRACT_MACHINE
from marketplace.core import uploads
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, NotFound, PermissionDenied
from marketplace.core.text import clean_text, is_db_id
from marketplace.delivery.models import (
    MAX_FILES,
    REASON_MAX,
    SUMMARY_MAX,
    Delivery,
    DeliveryExtension,
    DeliveryFile,
    DeliveryStatus,
    DeliverySubmission,
    ExtensionStatus,
)
from marketplace.delivery.signals import delivery_accepted
from marketplace.delivery.states import DELIVERY_MACHINE, EXTENSION_MACHINE
from marketplace.extensions import db
from marketplace.notifications.kinds import register_kind
from marketplace.notifications.services import notify_organisation
from marketplace.procurement.models import PurchaseRequest, RequestStatus
from marketplace.procurement.states import REQUEST_MACHINE
from marketplace.webhooks.events import web_url
from marketplace.webhooks.services import emit
from marketplace.workdays.services import (
    MAX_WORKING_DAYS,
    add_working_days,
    is_working_day,
    working_days_between,
    working_days_spans,
)

log = logging.getLogger(__name__)

SYSTEM = "system"
RESULT_PURPOSE = "delivery_result"
REMINDER_DAYS = (3, 1)
# The purchase request's path through the service, in order (procurement/states.py).
REQUEST_PATH = (RequestStatus.CONTRACTED, RequestStatus.IN_SERVICE, RequestStatus.DELIVERED,
                RequestStatus.ACCEPTED)
OPEN_STATUSES = (DeliveryStatus.IN_PROGRESS, DeliveryStatus.SUBMITTED, DeliveryStatus.REVISION_REQUESTED)

register_kind("delivery.submitted", _l("Version %(version)s of the result for contract %(no)s was submitted: accept it or ask for a revision."))
register_kind("delivery.revision_requested", _l("A revision of the result for contract %(no)s was requested: %(reason)s"))
register_kind("delivery.accepted", _l("The result for contract %(no)s was accepted."))
register_kind("delivery.attached", _l("An accepted result (contract %(no)s) is attached to approval case %(case)s."))
register_kind("delivery.extension_proposed", _l("%(party)s proposes to move the due date of contract %(no)s to %(due)s."))
register_kind("delivery.extension_agreed", _l("The new due date %(due)s of contract %(no)s was agreed."))
register_kind("delivery.extension_declined", _l("The proposed due date %(due)s of contract %(no)s was declined."))
register_kind("delivery.reminder", _l("The result for contract %(no)s is due on %(due)s: %(days)s working days left."))
register_kind("delivery.reminder_last", _l("The result for contract %(no)s is due on %(due)s, the next working day."))
register_kind("delivery.overdue", _l("The result for contract %(no)s was due on %(due)s and is overdue."))


def china_today(now: datetime | None = None) -> date:
    """Today's date in China."""
    return contracts.china_today(now)


def revision_pauses_clock() -> bool:
    """Whether a revision request stops the agency's clock until the resubmission."""
    return bool(current_app.config.get("DELIVERY_REVISION_PAUSES_CLOCK", True))


def _link(delivery_or_contract) -> str:
    contract_id = getattr(delivery_or_contract, "contract_id", None) or delivery_or_contract.id
    return f"/deliveries/{contract_id}"


# --- finding and opening ----------------------------------------------------------------------


def delivery_of(contract: Contract) -> Delivery | None:
    """The contract's delivery, if it was opened."""
    return db.session.execute(
        sa.select(Delivery).where(Delivery.contract_id == contract.id)
    ).scalar_one_or_none()


def open_delivery(contract: Contract, *, actor=SYSTEM, now: datetime | None = None) -> Delivery:
    """The contract's delivery, opened when the contract is in force (idempotent).

    Opening moves the purchase request from contracted to in service.

    Raises:
        DomainError: the contract is not in force (and has no delivery).
    """
    existing = delivery_of(contract)
    if existing is not None:
        return existing
    if contract.status is not ContractStatus.IN_FORCE or contract.due_date is None:
        raise DomainError(_l("The work starts once the contract is in force."))
    req = contract.request
    delivery = Delivery(
        contract_id=contract.id, approval_case_id=req.approval_case_id,
        buyer_org_id=contract.buyer_org_id, agency_org_id=contract.agency_org_id,
        status=DeliveryStatus.IN_PROGRESS, original_due_date=contract.due_date,
        due_date=contract.due_date, created_at=now or utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(delivery)
            db.session.flush()
    except IntegrityError:
        # Opened at the same moment by the job or the other party's page view.
        found = delivery_of(contract)
        if found is None:
            raise
        return found
    record_event("delivery.opened", delivery, actor=actor, payload={
        "contract": contract.contract_no, "due_date": delivery.due_date.isoformat(),
    })
    _bring_request_to(req, RequestStatus.IN_SERVICE, actor=actor, contract=contract)
    return delivery


def contracts_to_open() -> list[int]:
    """Contracts in force without a delivery yet."""
    return list(db.session.execute(
        sa.select(Contract.id)
        .outerjoin(Delivery, Delivery.contract_id == Contract.id)
        .where(Contract.status == ContractStatus.IN_FORCE, Delivery.id.is_(None))
        .order_by(Contract.id)
    ).scalars())


def _bring_request_to(req, target: RequestStatus, *, actor, contract: Contract) -> None:
    """Walk the purchase request along contracted → in service → delivered → accepted."""
    if req.status is target:
        return
    if req.status in REQUEST_PATH and target in REQUEST_PATH:
        path = REQUEST_PATH[REQUEST_PATH.index(req.status) + 1: REQUEST_PATH.index(target) + 1]
        if not path:  # backwards: only delivered → in service exists (a revision)
            path = (target,)
    else:
        path = (target,)
    for step in path:
        if not REQUEST_MACHINE.can(req.status, step):
            log.info("purchase request %s stays %s (wanted %s)", req.id, req.status, step)
            return
        REQUEST_MACHINE.transition(req, step, actor=actor, payload={"contract": contract.contract_no})


# --- who may see what -------------------------------------------------------------------------


def party_of(user, delivery_or_contract) -> str | None:
    """"buyer" or "agency" when ``user`` works for that party of the contract, else None."""
    org_id = getattr(user, "organisation_id", None)
    if not getattr(user, "is_authenticated", False) or org_id is None:
        return None
    if org_id == delivery_or_contract.buyer_org_id:
        return "buyer" if user.role is Role.ENTERPRISE_STAFF else None
    if org_id == delivery_or_contract.agency_org_id:
        return "agency" if user.role is Role.AGENCY_STAFF else None
    return None


def is_case_officer(user, contract: Contract) -> bool:
    """An approval officer of the department that owns the contract's approval case."""
    return bool(
        getattr(user, "is_authenticated", False) and user.role is Role.APPROVAL_OFFICER
        and user.organisation_id == contract.request.approval_case.department_id
    )


def can_view(user, contract: Contract) -> bool:
    """The parties, the approval officers of the case's department, regulators, administrators."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.role in (Role.ADMIN, Role.REGULATOR):
        return True
    return party_of(user, contract) is not None or is_case_officer(user, contract)


def get_contract_for(user, contract_id) -> Contract:
    """A contract in force, completed or terminated whose delivery ``user`` may see.

    Raises:
        NotFound: no such contract, not yet in force, or not visible to ``user``.
    """
    if not is_db_id(contract_id):
        raise NotFound(_l("This page does not exist."))
    contract = db.session.get(Contract, contract_id)
    if (contract is None or contract.in_force_at is None
            or contract.status not in (ContractStatus.IN_FORCE, ContractStatus.COMPLETED, ContractStatus.TERMINATED)
            or not can_view(user, contract)):
        raise NotFound(_l("This page does not exist."))
    return contract


def visible_submissions(user, delivery: Delivery) -> list[DeliverySubmission]:
    """Every version for the parties and officials; only the accepted one for the case officer."""
    if user.role in (Role.ADMIN, Role.REGULATOR) or party_of(user, delivery) is not None:
        return list(delivery.submissions)
    if is_case_officer(user, delivery.contract):
        return [s for s in delivery.submissions if s.is_accepted]
    return []


def get_file_for(user, delivery: Delivery, file_id) -> DeliveryFile:
    """A result file ``user`` may download.

    Raises:
        NotFound: no such file in this delivery, or not visible to ``user``.
    """
    for submission in visible_submissions(user, delivery):
        for item in submission.files:
            if item.id == file_id:
                return item
    raise NotFound(_l("This page does not exist."))


# --- the clock --------------------------------------------------------------------------------


def clock_running(delivery: Delivery) -> bool:
    """Whether the agency is working against the due date right now."""
    return delivery.status is DeliveryStatus.IN_PROGRESS or (
        delivery.status is DeliveryStatus.REVISION_REQUESTED and delivery.paused_since is None
    )


def _days_after(start: date, end: date) -> int:
    """Working days in (start, end]; 0 when end is not after start."""
    return working_days_between(start, end) if end > start else 0


def _move_due(delivery: Delivery, days: int) -> date:
    if days:
        delivery.due_date = add_working_days(delivery.due_date, days)
    return delivery.due_date


@dataclass(frozen=True)
class Countdown:
    """What the dashboards show: working days left, or overrun, or why the clock stands still."""

    due_date: date
    state: str  # "left", "overrun", "paused", "with_buyer", "accepted", "ended"
    days: int = 0

    @property
    def label(self):
        if self.state == "left":
            return _l("%(n)s working days left", n=self.days)
        if self.state == "overrun":
            return _l("Overdue by %(n)s working days", n=self.days)
        if self.state == "paused":
            return _l("Clock paused for the revision")
        if self.state == "with_buyer":
            return _l("With the enterprise for acceptance")
        if self.state == "ended":
            return _l("The contract was terminated")
        return _l("Accepted")


def countdown(delivery: Delivery, today: date | None = None) -> Countdown:
    """The countdown of ``delivery`` on ``today`` (China)."""
    today = today or china_today()
    if delivery.contract.status is ContractStatus.TERMINATED:
        return Countdown(delivery.due_date, "ended", delivery.overrun_days or 0)
    if delivery.status is DeliveryStatus.ACCEPTED:
        return Countdown(delivery.due_date, "accepted", delivery.overrun_days or 0)
    if delivery.status is DeliveryStatus.SUBMITTED:
        return Countdown(delivery.due_date, "with_buyer")
    if delivery.paused_since is not None:
        return Countdown(delivery.due_date, "paused")
    if today > delivery.due_date:
        return Countdown(delivery.due_date, "overrun", _days_after(delivery.due_date, today))
    return Countdown(delivery.due_date, "left", _days_after(today, delivery.due_date))


# --- submission, revision, acceptance ---------------------------------------------------------


def _check_party(delivery: Delivery, actor, party: str) -> None:
    if party_of(actor, delivery) != party:
        if party == "agency":
            raise PermissionDenied(_l("Only the agency's staff may do this."))
        raise PermissionDenied(_l("Only the enterprise's staff may do this."))


def _result_event(delivery: Delivery, submission: DeliverySubmission, event_type: str, **extra) -> None:
    """Push a delivery event to the two parties and the case's department (not public: the result
    is the enterprise's and the department's). The files are named by their SHA-256; a department
    fetches accepted ones through ``/api/v1/cases/{id}/results``."""
    contract = delivery.contract
    req = contract.request
    emit(event_type, {
        "contract_no": contract.contract_no, "contract_id": contract.id, "request_id": req.id,
        "approval_case_id": req.approval_case_id, "agency_org_id": contract.agency_org_id,
        "version": submission.version, "submitted_on": submission.submitted_on.isoformat(),
        "due_date": delivery.due_date.isoformat(),
        "files": [{"name": f.stored.original_name, "sha256": f.stored.sha256, "size_bytes": f.stored.size_bytes}
                  for f in submission.files],
        "web_url": web_url(f"/deliveries/{contract.id}"), **extra,
    }, audience=[contract.buyer_org_id, contract.agency_org_id, req.approval_case.department_id])


def _token_id(actor) -> int | None:
    """The API token an actor acts through (``TokenActor``), or None for a person."""
    token = getattr(actor, "token", None)
    return getattr(token, "id", None)


def _lock(delivery: Delivery) -> None:
    """Take the delivery's row (serialises submissions, decisions and proposals) and reload it,
    so the checks that follow see what a concurrent request committed first.

    Raises:
        DomainError: the contract is no longer in force (terminated).
    """
    db.session.execute(sa.update(Delivery).where(Delivery.id == delivery.id)
                       .values(due_date=Delivery.due_date))
    db.session.refresh(delivery)
    if delivery.status is not DeliveryStatus.ACCEPTED and delivery.contract.status is not ContractStatus.IN_FORCE:
        raise DomainError(_l("The contract is no longer in force."))


def _check_version(delivery: Delivery, version) -> DeliverySubmission:
    latest = delivery.latest
    if latest is None or delivery.status is not DeliveryStatus.SUBMITTED:
        raise DomainError(_l("There is no submitted result to decide on."))
    if version is not None and version != latest.version:
        raise DomainError(_l("A newer version was submitted meanwhile. Please review it first."))
    return latest


def submit_result(delivery: Delivery, *, summary: str, files, actor,
                  now: datetime | None = None) -> DeliverySubmission:
    """The agency submits a new numbered version of the result: a summary and 1–10 files.

    Raises:
        PermissionDenied: the actor is not the agency's staff.
        DomainError: the summary is empty or too long, no file or too many, a file is refused
            (type, size, quota), or the delivery is not waiting for a result.
        InvalidTransition / ConcurrentUpdate: the delivery moved meanwhile.
    """
    now = now or utcnow()
    _check_party(delivery, actor, "agency")
    _lock(delivery)
    if delivery.status not in (DeliveryStatus.IN_PROGRESS, DeliveryStatus.REVISION_REQUESTED):
        raise DomainError(_l("A result can be submitted only while the work is in progress or "
                             "a revision was requested."))
    summary = clean_text(summary, max_len=SUMMARY_MAX, field="summary", multiline=True)
    files = [f for f in (files or []) if f is not None and (getattr(f, "filename", None) or
                                                            isinstance(f, bytes | bytearray))]
    if not files:
        raise DomainError(_l("Attach at least one file of the result."), field="files")
    if len(files) > MAX_FILES:
        raise DomainError(_l("At most %(n)d files per version.", n=MAX_FILES), field="files")
    today = china_today(now)
    previous = delivery.latest
    payload = {}
    if delivery.paused_since is not None:
        days = _days_after(delivery.paused_since, today)
        _move_due(delivery, days)
        delivery.paused_since = None
        if previous is not None:
            previous.pause_days_added = days
        payload["pause_days_added"] = days
    if today > delivery.due_date and delivery.overdue_since is None:
        delivery.overdue_since = delivery.due_date + timedelta(days=1)
    version = (previous.version if previous else 0) + 1
    submission = DeliverySubmission(
        version=version, summary=summary, submitted_by_id=actor.id, submitted_by_token_id=_token_id(actor),
        submitted_at=now, submitted_on=today,
    )
    delivery.submissions.append(submission)
    db.session.flush()
    stored_files = []
    for position, upload in enumerate(files):
        try:
            stored = uploads.store_upload(upload, owner_org_id=delivery.agency_org_id,
                                          purpose=RESULT_PURPOSE, uploaded_by=actor)
        except DomainError as exc:
            name = uploads.clean_display_name(getattr(upload, "filename", "")) or str(position + 1)
            raise DomainError(_l("%(name)s: %(error)s", name=name, error=exc.message),
                              field="files") from exc
        submission.files.append(DeliveryFile(stored_file_id=stored.id, stored=stored, position=position))
        stored_files.append({"file": stored.id, "name": stored.original_name,
                             "sha256": stored.sha256, "bytes": stored.size_bytes})
    db.session.flush()
    DELIVERY_MACHINE.transition(delivery, DeliveryStatus.SUBMITTED, actor=actor, payload={
        "version": version, "submitted_on": today.isoformat(), "due_date": delivery.due_date.isoformat(),
        "late": today > delivery.due_date, "files": stored_files, **payload,
    })
    contract = delivery.contract
    _bring_request_to(contract.request, RequestStatus.DELIVERED, actor=actor, contract=contract)
    _result_event(delivery, submission, "result.delivered", late=today > delivery.due_date)
    notify_organisation(contract.buyer, "delivery.submitted",
                        params={"no": contract.contract_no, "version": version}, link=_link(delivery),
                        dedupe_key=f"delivery-submitted:{delivery.id}:{version}")
    return submission


def request_revision(delivery: Delivery, *, reason: str, version: int | None, actor,
                     now: datetime | None = None) -> DeliverySubmission:
    """The enterprise sends the latest version back with its reasons.

    The working days it spent reviewing are added to the due date; when the revision pauses the
    clock, the agency's clock stands still until the resubmission.

    Raises:
        PermissionDenied: the actor is not the enterprise's staff.
        DomainError: no reason, or no submitted version (or not the latest one).
        InvalidTransition / ConcurrentUpdate: the delivery moved meanwhile.
    """
    now = now or utcnow()
    _check_party(delivery, actor, "buyer")
    reason = clean_text(reason, max_len=REASON_MAX, field="reason", multiline=True)
    _lock(delivery)
    latest = _check_version(delivery, version)
    today = china_today(now)
    review_days = _days_after(latest.submitted_on, today)
    _move_due(delivery, review_days)
    latest.review_days_added = review_days
    latest.revision_reason = reason
    latest.revision_requested_at = now
    latest.revision_requested_by_id = actor.id
    pauses = revision_pauses_clock()
    DELIVERY_MACHINE.transition(delivery, DeliveryStatus.REVISION_REQUESTED, actor=actor, reason=reason,
                                payload={"version": latest.version, "review_days_added": review_days,
                                         "due_date": delivery.due_date.isoformat(),
                                         "clock_paused": pauses})
    if pauses:
        delivery.paused_since = today
        db.session.flush()
    contract = delivery.contract
    _bring_request_to(contract.request, RequestStatus.IN_SERVICE, actor=actor, contract=contract)
    notify_organisation(contract.agency, "delivery.revision_requested",
                        params={"no": contract.contract_no, "reason": reason[:200]}, link=_link(delivery),
                        dedupe_key=f"delivery-revision:{delivery.id}:{latest.version}")
    return latest


def overrun_of(delivery: Delivery, submission: DeliverySubmission) -> int:
    """Working days from the due date to the submission of ``submission`` (0 if on time)."""
    return _days_after(delivery.due_date, submission.submitted_on)


def accept_delivery(delivery: Delivery, *, version: int | None, actor,
                    now: datetime | None = None) -> DeliverySubmission:
    """The enterprise accepts the latest version (验收).

    The overrun is fixed and, when there is one, recorded against the agency as a credit input;
    the result is attached to the approval case; the purchase request moves to accepted and the
    contract to completed; then ``delivery_accepted`` is sent (same transaction).

    Raises:
        PermissionDenied: the actor is not the enterprise's staff.
        DomainError: no submitted version (or not the latest one).
        InvalidTransition / ConcurrentUpdate: the delivery or the contract moved meanwhile.
    """
    now = now or utcnow()
    _check_party(delivery, actor, "buyer")
    _lock(delivery)
    latest = _check_version(delivery, version)
    contract = delivery.contract
    req = contract.request
    case = req.approval_case
    overrun = overrun_of(delivery, latest)
    latest.is_accepted = True
    delivery.accepted_version = latest.version
    delivery.accepted_at = now
    delivery.accepted_by_id = actor.id
    delivery.overrun_days = overrun
    DELIVERY_MACHINE.transition(delivery, DeliveryStatus.ACCEPTED, actor=actor, payload={
        "version": latest.version, "due_date": delivery.due_date.isoformat(),
        "submitted_on": latest.submitted_on.isoformat(), "overrun_days": overrun,
        "approval_case": case.case_number,
    })
    if overrun > 0:
        _record_overrun(delivery, overrun, now=now)
    record_event("approval_case.result_attached", case, actor=actor, payload={
        "contract": contract.contract_no, "delivery": delivery.id, "version": latest.version,
        "files": [f.stored.sha256 for f in latest.files],
    })
    _bring_request_to(req, RequestStatus.ACCEPTED, actor=actor, contract=contract)
    CONTRACT_MACHINE.transition(contract, ContractStatus.COMPLETED, actor=actor,
                                payload={"delivery": delivery.id, "version": latest.version})
    delivery_accepted.send(contract, delivery=delivery, submission=latest, actor=actor, now=now)
    _result_event(delivery, latest, "result.accepted", overrun_days=overrun,
                  results_url=web_url(f"/api/v1/cases/{case.id}/results"))
    params = {"no": contract.contract_no, "case": case.case_number}
    notify_organisation(contract.agency, "delivery.accepted", params=params, link=_link(delivery),
                        dedupe_key=f"delivery-accepted:{delivery.id}")
    notify_organisation(case.department, "delivery.attached", params=params, link=_link(delivery),
                        dedupe_key=f"delivery-attached:{delivery.id}")
    return latest


def _on_contract_terminated(sender, **extra) -> None:
    """The contract ended before acceptance: the work stops; an overrun so far counts against
    the agency exactly as at acceptance (same transaction)."""
    delivery = delivery_of(sender)
    if delivery is None or delivery.status is DeliveryStatus.ACCEPTED:
        return
    now = extra.get("now") or utcnow()
    today = china_today(now)
    overrun = _days_after(delivery.due_date, today) if clock_running(delivery) else 0
    delivery.overrun_days = overrun
    db.session.flush()
    record_event("delivery.stopped", delivery, actor=extra.get("actor") or SYSTEM, payload={
        "contract": sender.contract_no, "status": str(delivery.status),
        "due_date": delivery.due_date.isoformat(), "on": today.isoformat(), "overrun_days": overrun,
    })
    if overrun > 0:
        _record_overrun(delivery, overrun, now=now)


def _on_delivery_progress(sender, **extra) -> Countdown | None:
    """Contracts ask how the delivery of ``sender`` stands on ``today`` (the overdue ground of a
    unilateral termination); None when the delivery has not started."""
    delivery = delivery_of(sender)
    return None if delivery is None else countdown(delivery, extra["today"])


contracts_signals.contract_terminated.connect(_on_contract_terminated)
contracts_signals.delivery_progress.connect(_on_delivery_progress)


def _record_overrun(delivery: Delivery, days: int, *, now: datetime) -> None:
    contract = delivery.contract
    case = contract.request.approval_case
    from marketplace.credit.services import record_credit_input

    record_credit_input(
        delivery.agency_org_id, "overrun_days", value=min(days, MAX_WORKING_DAYS), occurred_at=now, now=now,
        refs=[("contract", contract.id, contract.contract_no),
              ("approval_case", case.id, case.case_number)],
        note=f"服务成果逾期{days}个工作日", actor=None,
    )


# --- extensions -------------------------------------------------------------------------------


def open_extension(delivery: Delivery) -> DeliveryExtension | None:
    """The extension proposal awaiting an answer, if any."""
    return next((e for e in delivery.extensions if e.status is ExtensionStatus.PROPOSED), None)


def propose_extension(delivery: Delivery, *, new_due_date, reason: str, actor,
                      now: datetime | None = None) -> DeliveryExtension:
    """One party proposes a later due date with its reason; the other party answers.

    Raises:
        PermissionDenied: the actor is not a party's staff.
        DomainError: the delivery is accepted, another proposal is open, no reason, or the date
            is not a working day after the current due date (within ten years).
    """
    now = now or utcnow()
    party = party_of(actor, delivery)
    if party is None:
        raise PermissionDenied(_l("Only the parties to the contract may do this."))
    # The second of two simultaneous proposals waits here, then sees the first.
    _lock(delivery)
    if delivery.status is DeliveryStatus.ACCEPTED:
        raise DomainError(_l("The result is accepted; the due date no longer changes."))
    reason = clean_text(reason, max_len=REASON_MAX, field="reason", multiline=True)
    if not isinstance(new_due_date, date):
        raise DomainError(_l("Enter the proposed due date."), field="new_due_date")
    if new_due_date <= delivery.due_date:
        raise DomainError(_l("The proposed due date must be after the current due date (%(due)s).",
                             due=delivery.due_date.isoformat()), field="new_due_date")
    if new_due_date > delivery.due_date + timedelta(days=MAX_WORKING_DAYS):
        raise DomainError(_l("The proposed due date is too far away."), field="new_due_date")
    if not is_working_day(new_due_date):
        raise DomainError(_l("The proposed due date must be a working day."), field="new_due_date")
    if open_extension(delivery) is not None:
        raise DomainError(_l("A proposal is already waiting for an answer."))
    ext = DeliveryExtension(
        proposed_by_org_id=actor.organisation_id, proposed_by_id=actor.id,
        proposed_by_token_id=_token_id(actor),
        current_due_date=delivery.due_date, proposed_due_date=new_due_date, reason=reason,
        proposed_at=now,
    )
    delivery.extensions.append(ext)
    db.session.flush()
    record_event("delivery_extension.proposed", ext, actor=actor, payload={
        "delivery": delivery.id, "party": party, "from": delivery.due_date.isoformat(),
        "to": new_due_date.isoformat(), "reason": reason,
    })
    contract = delivery.contract
    other = contract.agency if party == "buyer" else contract.buyer
    notify_organisation(other, "delivery.extension_proposed",
                        params={"no": contract.contract_no, "due": new_due_date.isoformat(),
                                "party": actor.organisation.name},
                        link=_link(delivery), dedupe_key=f"delivery-extension:{ext.id}")
    return ext


def decide_extension(ext: DeliveryExtension, *, agree: bool, note: str = "", actor,
                     now: datetime | None = None) -> DeliveryExtension:
    """The other party agrees (the due date moves) or declines; the proposer may withdraw.

    Raises:
        PermissionDenied: the actor is not the other party's staff (nor, to withdraw, the
            proposer's).
        DomainError: the note is too long, or the due date has since moved past the proposal.
        InvalidTransition / ConcurrentUpdate: the proposal was answered meanwhile.
    """
    now = now or utcnow()
    delivery = ext.delivery
    party = party_of(actor, delivery)
    if party is None:
        raise PermissionDenied(_l("Only the parties to the contract may do this."))
    note = clean_text(note, max_len=REASON_MAX, field="note", required=False, multiline=True)
    own = actor.organisation_id == ext.proposed_by_org_id
    if own and agree:
        raise PermissionDenied(_l("The other party answers your proposal."))
    _lock(delivery)
    if agree and delivery.status is DeliveryStatus.ACCEPTED:
        raise DomainError(_l("The result is accepted; the due date no longer changes."))
    if agree and ext.proposed_due_date <= delivery.due_date:
        raise DomainError(_l("The due date has moved to %(due)s meanwhile; propose a new date.",
                             due=delivery.due_date.isoformat()))
    ext.decided_by_id = actor.id
    ext.decided_at = now
    ext.decision_note = note
    target = ExtensionStatus.AGREED if agree else (ExtensionStatus.WITHDRAWN if own else ExtensionStatus.DECLINED)
    previous_due = delivery.due_date
    EXTENSION_MACHINE.transition(ext, target, actor=actor, reason=note or None, payload={
        "delivery": delivery.id, "from": previous_due.isoformat(), "to": ext.proposed_due_date.isoformat(),
    })
    if agree:
        delivery.due_date = ext.proposed_due_date
        if delivery.overdue_since is not None and clock_running(delivery) and china_today(now) <= delivery.due_date:
            delivery.overdue_since = None
        db.session.flush()
        record_event("delivery.due_date_changed", delivery, actor=actor, payload={
            "from": previous_due.isoformat(), "to": delivery.due_date.isoformat(), "extension": ext.id,
        })
    contract = delivery.contract
    if target is not ExtensionStatus.WITHDRAWN:
        proposer = contract.buyer if ext.proposed_by_org_id == contract.buyer_org_id else contract.agency
        kind = "delivery.extension_agreed" if agree else "delivery.extension_declined"
        notify_organisation(proposer, kind, params={"no": contract.contract_no,
                                                    "due": ext.proposed_due_date.isoformat()},
                            link=_link(delivery), dedupe_key=f"delivery-extension-decided:{ext.id}")
    return ext


def get_extension(delivery: Delivery, ext_id) -> DeliveryExtension:
    """One of the delivery's extension proposals.

    Raises:
        NotFound: no such proposal on this delivery.
    """
    ext = next((e for e in delivery.extensions if e.id == ext_id), None)
    if ext is None:
        raise NotFound(_l("This page does not exist."))
    return ext


# --- the job: overdue, reminders --------------------------------------------------------------


def running_delivery_ids() -> list[int]:
    """Deliveries whose agency is (or may be) working against the due date."""
    return list(db.session.execute(
        sa.select(Delivery.id).join(Contract, Contract.id == Delivery.contract_id)
        .where(Delivery.status.in_([DeliveryStatus.IN_PROGRESS, DeliveryStatus.REVISION_REQUESTED]),
               Contract.status == ContractStatus.IN_FORCE)
        .order_by(Delivery.id)
    ).scalars())


def mark_overdue(delivery: Delivery, *, now: datetime | None = None) -> bool:
    """From the day after the due date, a delivery still with the agency is overdue (once).

    Returns whether it marked it now.
    """
    now = now or utcnow()
    today = china_today(now)
    if not clock_running(delivery) or today <= delivery.due_date or delivery.overdue_since is not None:
        return False
    delivery.overdue_since = delivery.due_date + timedelta(days=1)
    db.session.flush()
    record_event("delivery.overdue", delivery, actor=SYSTEM, payload={
        "due_date": delivery.due_date.isoformat(), "overdue_since": delivery.overdue_since.isoformat(),
    })
    contract = delivery.contract
    for org in (contract.agency, contract.buyer):
        notify_organisation(org, "delivery.overdue",
                            params={"no": contract.contract_no, "due": delivery.due_date.isoformat()},
                            link=_link(delivery),
                            dedupe_key=f"delivery-overdue:{delivery.id}:{delivery.due_date.isoformat()}")
    return True


def send_reminders(delivery: Delivery, *, now: datetime | None = None) -> int:
    """Remind the agency 3 working days and 1 working day before the due date.

    Each reminder is sent once per due date (a moved due date gets its own); a job that runs late
    sends only the most urgent one due. Returns how many organisations' reminders were created.
    """
    now = now or utcnow()
    today = china_today(now)
    if not clock_running(delivery) or today >= delivery.due_date:
        return 0
    left = _days_after(today, delivery.due_date)
    threshold = next((d for d in sorted(REMINDER_DAYS) if left <= d), None)
    if threshold is None:
        return 0
    contract = delivery.contract
    kind = "delivery.reminder_last" if threshold == 1 else "delivery.reminder"
    created = notify_organisation(
        contract.agency, kind,
        params={"no": contract.contract_no, "due": delivery.due_date.isoformat(), "days": left},
        link=_link(delivery),
        dedupe_key=f"delivery-reminder:{delivery.id}:{delivery.due_date.isoformat()}:{threshold}",
    )
    return 1 if created else 0


# --- lists for pages --------------------------------------------------------------------------


@dataclass(frozen=True)
class PanelRow:
    """One line of the dashboard's deliveries panel."""

    contract: Contract
    delivery: Delivery | None
    countdown: Countdown

    @property
    def status_label(self):
        return self.delivery.status.label if self.delivery else DeliveryStatus.IN_PROGRESS.label


def panel_rows(org_id: int, today: date | None = None) -> list[PanelRow]:
    """The organisation's contracts in force with their countdown, soonest due first."""
    today = today or china_today()
    rows = db.session.execute(
        sa.select(Contract, Delivery)
        .outerjoin(Delivery, Delivery.contract_id == Contract.id)
        .where(Contract.status == ContractStatus.IN_FORCE,
               sa.or_(Contract.buyer_org_id == org_id, Contract.agency_org_id == org_id))
        .order_by(sa.func.coalesce(Delivery.due_date, Contract.due_date), Contract.id)
        .limit(50)
    ).all()
    out = []
    for contract, delivery in rows:
        if delivery is None:
            due = contract.due_date
            cd = (Countdown(due, "overrun", _days_after(due, today)) if today > due
                  else Countdown(due, "left", _days_after(today, due)))
        else:
            cd = countdown(delivery, today)
        out.append(PanelRow(contract, delivery, cd))
    return out


def accepted_results_for_case(user, case) -> list[tuple[Delivery, DeliverySubmission]]:
    """The accepted results attached to an approval case, for a user allowed on the case page."""
    deliveries = db.session.execute(
        sa.select(Delivery).where(Delivery.approval_case_id == case.id,
                                  Delivery.status == DeliveryStatus.ACCEPTED)
        .options(selectinload(Delivery.submissions).selectinload(DeliverySubmission.files))
        .order_by(Delivery.accepted_at)
    ).scalars().all()
    out = []
    for delivery in deliveries:
        if not can_view(user, delivery.contract):
            continue
        accepted = next((s for s in delivery.submissions if s.is_accepted), None)
        if accepted is not None:
            out.append((delivery, accepted))
    return out


# --- the regulators' list of overdue deliveries ------------------------------------------------


def clock_stopped_on(delivery: Delivery | None, today: date) -> date:
    """The last day the agency's clock ran: today while it runs (or the work was not opened yet),
    the latest version's day while the result is with the enterprise, the revision request's
    day while the revision pauses the clock."""
    if delivery is None:
        return today
    if delivery.status is DeliveryStatus.SUBMITTED and delivery.latest is not None:
        return delivery.latest.submitted_on
    if delivery.paused_since is not None:
        return delivery.paused_since
    return today


def _clock_stopped_on_sql(today: date):
    """``clock_stopped_on`` in SQL, over ``Delivery`` outer-joined to its contract."""
    latest_on = (sa.select(sa.func.max(DeliverySubmission.submitted_on))
                 .where(DeliverySubmission.delivery_id == Delivery.id).scalar_subquery())
    return sa.case(
        (Delivery.status == DeliveryStatus.SUBMITTED, latest_on),
        (Delivery.paused_since.is_not(None), Delivery.paused_since),
        else_=sa.literal(today, sa.Date),
    )


@dataclass(frozen=True)
class OverdueRow:
    """One overdue delivery: its contract, the due date and the working days past it."""

    contract: Contract
    delivery: Delivery | None
    due_date: date
    overrun_days: int

    @property
    def status_label(self):
        if self.delivery is not None and self.delivery.status is DeliveryStatus.SUBMITTED:
            return _l("Submitted late, with the enterprise for acceptance")
        return self.delivery.status.label if self.delivery else DeliveryStatus.IN_PROGRESS.label


@dataclass(frozen=True)
class OverduePage:
    """A page of ``OverdueRow`` and the pagination it came from."""

    rows: list[OverdueRow]
    pagination: object
    today: date


def overdue_deliveries(today: date | None = None, *, page: int = 1, per_page: int = 50) -> OverduePage:
    """Every delivery overdue on ``today`` (China), longest overdue first, for regulators.

    Overdue: the contract is in force, the result is not accepted, and the agency held the work
    past its due date on the working-day calendar. Time the result spends with the enterprise,
    or a revision that pauses the clock, does not count against the agency (``clock_stopped_on``),
    so a result handed over on time is not listed while the enterprise reviews it.
    """
    today = today or china_today()
    due = sa.func.coalesce(Delivery.due_date, Contract.due_date)
    stmt = (
        sa.select(Contract)
        .outerjoin(Delivery, Delivery.contract_id == Contract.id)
        .where(Contract.status == ContractStatus.IN_FORCE, Contract.due_date.is_not(None),
               sa.or_(Delivery.id.is_(None), Delivery.status != DeliveryStatus.ACCEPTED),
               _clock_stopped_on_sql(today) > due)
        .options(selectinload(Contract.agency), selectinload(Contract.buyer),
                 selectinload(Contract.request).selectinload(PurchaseRequest.approval_case))
        .order_by(due, Contract.id)
    )
    pagination = db.paginate(stmt, page=page, per_page=per_page, error_out=False)
    contracts_on_page = list(pagination.items)
    deliveries = {d.contract_id: d for d in db.session.execute(
        sa.select(Delivery).where(Delivery.contract_id.in_([c.id for c in contracts_on_page]))
        .options(selectinload(Delivery.submissions))
    ).scalars()} if contracts_on_page else {}
    spans = []
    for contract in contracts_on_page:
        delivery = deliveries.get(contract.id)
        due_date = delivery.due_date if delivery else contract.due_date
        spans.append((contract, delivery, due_date, clock_stopped_on(delivery, today)))
    days = working_days_spans((d, stop) for _, _, d, stop in spans)
    rows = [OverdueRow(c, d, due_date, n) for (c, d, due_date, _), n in zip(spans, days, strict=True)]
    return OverduePage(rows, pagination, today)
