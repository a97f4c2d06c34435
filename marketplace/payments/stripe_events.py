"""Stripe's webhook: each signed event is applied at most once, the object fetched again from
Stripe; checkout sessions, refunds and partial refunds made at Stripe, chargebacks, transfers
and their reversals, and account updates."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.audit.services import record_event
from marketplace.contracts.models import Contract
from marketplace.core.db import utcnow
from marketplace.core.money import format_fen
from marketplace.extensions import db
from marketplace.notifications.kinds import register_kind
from marketplace.notifications.services import notify_organisation
from marketplace.payments.checkout import sync_checkout
from marketplace.payments.models import Payment, PaymentAccount, StripeEvent
from marketplace.payments.payout_accounts import refresh_account
from marketplace.payments.providers import SignatureInvalid, get_provider
from marketplace.payments.records import STRIPE, P, _insert_once, _params, payment_of
from marketplace.payments.refunds import _apply_refund_status
from marketplace.payments.settlement import _record_transfer

register_kind("payments.partially_refunded", _l("%(refunded)s of the %(amount)s paid for the contract %(no)s was refunded at Stripe; the agency's transfer is reduced accordingly."))
register_kind("payments.chargeback_opened", _l("The card holder disputed the payment of %(amount)s for the contract %(no)s with their bank (chargeback, status %(status)s); the transfer to the agency waits."))
register_kind("payments.chargeback_closed", _l("The chargeback of the payment for the contract %(no)s was closed: %(status)s."))
register_kind("payments.transfer_reversed", _l("%(reversed)s of the transfer for the contract %(no)s was reversed from your Stripe account."))


class WebhookRejected(Exception):
    """The webhook request is not a valid, signed Stripe event."""


def _payment_by(**where) -> Payment | None:
    column, value = next(iter(where.items()))
    if not value:
        return None
    return db.session.execute(sa.select(Payment).where(getattr(Payment, column) == value)).scalar_one_or_none()


def _handle_checkout(provider, object_id: str) -> str:
    session = provider.retrieve_checkout(object_id)  # never trust the event's copy
    payment = _payment_by(checkout_session_id=session.id)
    if payment is None and session.contract_id and session.contract_id.isascii() and session.contract_id.isdigit():
        payment = _payment_by(contract_id=int(session.contract_id)) if int(session.contract_id) < 2**31 else None
    if payment is None or not payment.is_online:
        return "unknown session"
    return sync_checkout(payment, session)


def _handle_refund(provider, obj: dict, event_type: str) -> str:
    # charge.* carries a Charge, refund.* a Refund: both name the PaymentIntent.
    intent = obj.get("payment_intent")
    intent = intent.get("id") if isinstance(intent, dict) else intent
    payment = _payment_by(payment_intent_id=intent) if isinstance(intent, str) else None
    if payment is None:
        return "unknown payment"
    if payment.refund_id:
        refund = provider.retrieve_refund(payment.refund_id)
        return _apply_refund_status(payment, refund.status, actor=STRIPE)
    # Refunds made at Stripe (its dashboard): all of the amount, or part of it.
    succeeded = [r for r in provider.retrieve_payment_intent_refunds(intent) if r.status == "succeeded"]
    total = min(sum(r.amount for r in succeeded), payment.amount_fen)
    if succeeded and total >= payment.amount_fen:
        payment.refund_id = succeeded[0].id
        payment.refunded_fen = payment.amount_fen
        return _apply_refund_status(payment, "succeeded", actor=STRIPE)
    if total > payment.refunded_fen:
        return _record_partial_refund(payment, total)
    return "no change"


def _record_partial_refund(payment: Payment, total_fen: int) -> str:
    """Part of the amount went back to the enterprise at Stripe: the agency's transfer shrinks."""
    contract = payment.contract
    previous = payment.refunded_fen
    payment.refunded_fen = total_fen
    payment.version = payment.version + 1
    db.session.flush()
    record_event("payment.partially_refunded", payment, actor=STRIPE, payload={
        "contract": contract.id, "refunded_fen": total_fen, "previously_fen": previous,
        "transfer_fen": payment.transfer_fen})
    for org in (contract.buyer, contract.agency):
        notify_organisation(org, "payments.partially_refunded",
                            params=_params(payment, refunded=format_fen(total_fen)),
                            link=f"/contracts/{contract.id}/payment",
                            dedupe_key=f"payment:{payment.id}:partial_refund:{total_fen}")
    return "partially refunded"


def _handle_dispute(provider, object_id: str) -> str:
    """A card holder's chargeback: opened, updated, won or lost; the transfer waits while open."""
    dispute = provider.retrieve_dispute(object_id)  # the current state, whatever the event order
    payment = _payment_by(payment_intent_id=dispute.payment_intent_id)
    if payment is None:
        return "unknown payment"
    if payment.chargeback_id == dispute.id and payment.chargeback_status == dispute.status:
        return "no change"
    contract = payment.contract
    opened = payment.chargeback_id != dispute.id
    payment.chargeback_id = dispute.id
    payment.chargeback_status = dispute.status[:40]
    payment.chargeback_fen = max(dispute.amount, 0)
    payment.version = payment.version + 1
    db.session.flush()
    action = "payment.chargeback_opened" if opened else "payment.chargeback_updated"
    record_event(action, payment, actor=STRIPE, payload={
        "contract": contract.id, "dispute": dispute.id, "status": dispute.status,
        "amount_fen": dispute.amount, "reason": dispute.reason})
    kind = ("payments.chargeback_opened" if opened
            else "payments.chargeback_closed" if not payment.chargeback_open else None)
    if kind:
        for org in (contract.buyer, contract.agency):
            notify_organisation(org, kind, params=_params(payment, status=dispute.status),
                                link=f"/contracts/{contract.id}/payment",
                                dedupe_key=f"payment:{payment.id}:{kind}:{dispute.id}:{dispute.status}")
    return f"chargeback {dispute.status}"


def _handle_transfer(provider, object_id: str) -> str:
    transfer = provider.retrieve_transfer(object_id)
    if not transfer.transfer_group:
        return "no transfer group"
    contract = db.session.execute(
        sa.select(Contract).where(Contract.contract_no == transfer.transfer_group[:60])).scalar_one_or_none()
    payment = payment_of(contract) if contract is not None else None
    if payment is None:
        return "unknown transfer"
    if payment.status is P.PAID and payment.transfer_requested_at is not None \
            and transfer.amount == payment.transfer_fen:
        # The transfer was made but our record of it was lost (a crash before the commit).
        _record_transfer(payment, transfer.id, actor=STRIPE)
        return "transferred"
    if payment.transfer_id == transfer.id and transfer.amount_reversed != payment.transfer_reversed_fen:
        return _record_reversal(payment, transfer)
    return "no change"


def _record_reversal(payment: Payment, transfer) -> str:
    """The platform took (part of) a transfer back from the agency's account at Stripe."""
    contract = payment.contract
    payment.transfer_reversed_fen = max(transfer.amount_reversed, 0)
    payment.version = payment.version + 1
    db.session.flush()
    record_event("payment.transfer_reversed", payment, actor=STRIPE, payload={
        "contract": contract.id, "transfer": transfer.id, "reversed_fen": transfer.amount_reversed,
        "transferred_fen": transfer.amount})
    notify_organisation(contract.agency, "payments.transfer_reversed",
                        params=_params(payment, reversed=format_fen(transfer.amount_reversed)),
                        link=f"/contracts/{contract.id}/payment",
                        dedupe_key=f"payment:{payment.id}:reversed:{transfer.amount_reversed}")
    return "transfer reversed"


def _handle_account(object_id: str) -> str:
    account = db.session.execute(
        sa.select(PaymentAccount).where(PaymentAccount.stripe_account_id == object_id)).scalar_one_or_none()
    if account is None:
        return "unknown account"
    refresh_account(account)
    return "account refreshed"


def handle_webhook(payload: bytes, signature: str | None) -> str:
    """Verify and apply one Stripe event, at most once; returns what happened.

    The event id is inserted first under a unique constraint: a duplicate, a replay within the
    tolerance or a concurrent second delivery finds it and changes nothing. The object is then
    fetched again from Stripe, so the order in which events arrive does not matter.

    Raises:
        WebhookRejected: not configured, bad signature, too old, or not an event.
        ProviderError: Stripe could not be asked (the event is not kept; Stripe retries).
    """
    provider = get_provider()
    if not provider.is_online:
        raise WebhookRejected("online payment is not configured")
    try:
        event = provider.verify_webhook(payload, signature)
    except SignatureInvalid as exc:
        raise WebhookRejected(str(exc)) from exc
    event_id, event_type = event.get("id"), event.get("type")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(event_id, str) or not isinstance(event_type, str) or not isinstance(obj, dict):
        raise WebhookRejected("not an event")
    object_id = obj.get("id") if isinstance(obj.get("id"), str) else ""
    if not _insert_once(StripeEvent, {"event_id": event_id[:255], "event_type": event_type[:100],
                                      "object_id": object_id[:255], "outcome": "", "received_at": utcnow()},
                        "event_id"):
        return "duplicate"
    if event_type.startswith("checkout.session.") and object_id:
        outcome = _handle_checkout(provider, object_id)
    elif event_type in ("charge.refunded", "charge.refund.updated", "refund.created", "refund.updated",
                        "refund.failed"):
        outcome = _handle_refund(provider, obj, event_type)
    elif event_type.startswith("transfer.") and object_id:
        outcome = _handle_transfer(provider, object_id)
    elif event_type.startswith("charge.dispute.") and object_id:
        outcome = _handle_dispute(provider, object_id)
    elif event_type == "account.updated" and object_id:
        outcome = _handle_account(object_id)
    else:
        outcome = "ignored"
    db.session.execute(sa.update(StripeEvent).where(StripeEvent.event_id == event_id[:255])
                       .values(outcome=outcome[:200]))
    return outcome
