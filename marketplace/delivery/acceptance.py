"""The enterprise's answer to the latest version: a revision request (the review days move the
due date; the clock may pause) or acceptance (验收: the overrun is fixed and recorded against the
agency, the contract completes). A contract terminated before acceptance stops the work, with
its overrun so far recorded the same way."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l

from marketplace.audit.services import record_event
from marketplace.contracts import signals as contracts_signals
from marketplace.contracts.models import ContractStatus
from marketplace.contracts.states import CONTRACT_MACHINE
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError
from marketplace.core.text import clean_text
from marketplace.delivery._common import SYSTEM, _link, _lock
from marketplace.delivery.access import _check_party
from marketplace.delivery.clock import (
    Countdown,
    _days_after,
    _move_due,
    china_today,
    clock_running,
    countdown,
    revision_pauses_clock,
)
from marketplace.delivery.models import REASON_MAX, Delivery, DeliveryStatus, DeliverySubmission
from marketplace.delivery.opening import _bring_request_to, delivery_of
from marketplace.delivery.signals import delivery_accepted
from marketplace.delivery.states import DELIVERY_MACHINE
from marketplace.delivery.submissions import _result_event
from marketplace.extensions import db
from marketplace.notifications.kinds import register_kind
from marketplace.notifications.services import notify_organisation
from marketplace.procurement.models import RequestStatus
from marketplace.webhooks.events import web_url
from marketplace.workdays.services import MAX_WORKING_DAYS

register_kind("delivery.revision_requested", _l("A revision of the result for contract %(no)s was requested: %(reason)s"))
register_kind("delivery.accepted", _l("The result for contract %(no)s was accepted."))
register_kind("delivery.attached", _l("An accepted result (contract %(no)s) is attached to approval case %(case)s."))


def _check_version(delivery: Delivery, version) -> DeliverySubmission:
    latest = delivery.latest
    if latest is None or delivery.status is not DeliveryStatus.SUBMITTED:
        raise DomainError(_l("There is no submitted result to decide on."))
    if version is not None and version != latest.version:
        raise DomainError(_l("A newer version was submitted meanwhile. Please review it first."))
    return latest


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
