"""Extensions (延期): one party proposes a later due date with its reason; the other party agrees
(the due date moves) or declines; the proposer may withdraw."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l

from marketplace.audit.services import record_event
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, NotFound, PermissionDenied
from marketplace.core.text import clean_text
from marketplace.delivery._common import _link, _lock, _token_id
from marketplace.delivery.access import party_of
from marketplace.delivery.clock import china_today, clock_running
from marketplace.delivery.models import (
    REASON_MAX,
    Delivery,
    DeliveryExtension,
    DeliveryStatus,
    ExtensionStatus,
)
from marketplace.delivery.states import EXTENSION_MACHINE
from marketplace.extensions import db
from marketplace.notifications.kinds import register_kind
from marketplace.notifications.services import notify_organisation
from marketplace.workdays.services import MAX_WORKING_DAYS, is_working_day

register_kind("delivery.extension_proposed", _l("%(party)s proposes to move the due date of contract %(no)s to %(due)s."))
register_kind("delivery.extension_agreed", _l("The new due date %(due)s of contract %(no)s was agreed."))
register_kind("delivery.extension_declined", _l("The proposed due date %(due)s of contract %(no)s was declined."))


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
