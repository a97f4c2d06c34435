"""Stripe Checkout: the enterprise opens a Checkout Session, comes back from it, and the payment
follows the session as Stripe reports it (paid, expired); a session left open by a cancelled
payment is closed."""

from __future__ import annotations

import logging

from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import Role
from marketplace.audit.services import record_event
from marketplace.contracts.models import Contract
from marketplace.core.db import utcnow
from marketplace.payments.models import Payment
from marketplace.payments.providers import CheckoutSession, provider_for
from marketplace.payments.records import (
    STRIPE,
    P,
    PaymentRefused,
    _move,
    _require_party,
    ensure_payment,
    payment_of,
)

log = logging.getLogger(__name__)


def start_checkout(contract: Contract, *, actor, success_url: str, cancel_url: str) -> str:
    """Open (or reopen) the Stripe Checkout Session of the contract; returns its URL.

    Raises:
        PermissionDenied: not the enterprise of the contract.
        PaymentRefused: not payable online now.
        ProviderError: Stripe refused or is unreachable (nothing changed).
    """
    _require_party(contract, actor, "buyer", Role.ENTERPRISE_STAFF)
    payment = ensure_payment(contract, actor=actor)
    if not payment.is_online:
        raise PaymentRefused(_l("This contract is paid by bank transfer."))
    if payment.status is P.PENDING and payment.checkout_url:
        return payment.checkout_url
    if payment.status is not P.UNPAID:
        raise PaymentRefused(_l("This contract has no payment to make now."))
    provider = provider_for(payment.provider)
    session = provider.create_checkout(
        contract_id=contract.id, contract_no=contract.contract_no, title=contract.request.title,
        amount_fen=payment.amount_fen, success_url=success_url, cancel_url=cancel_url,
        idempotency_key=f"checkout:{contract.id}:{payment.version}",
    )
    payment.checkout_session_id = session.id
    payment.checkout_url = session.url
    _move(payment, P.PENDING, actor=actor, notify=(contract.agency,), payload={"session": session.id})
    return session.url or ""


def _checkout_paid(payment: Payment, session: CheckoutSession, *, actor) -> str:
    if session.amount_total != payment.amount_fen or (session.currency or "").lower() != payment.currency:
        log.error("checkout %s for payment %s: amount %s %s differs", session.id, payment.id,
                  session.amount_total, session.currency)
        record_event("payment.amount_mismatch", payment, actor=actor, payload={
            "session": session.id, "amount_total": session.amount_total, "currency": session.currency})
        return "amount mismatch"
    contract = payment.contract
    if payment.status in (P.UNPAID, P.PENDING):
        payment.checkout_session_id = session.id
        payment.checkout_url = None
        payment.payment_intent_id = session.payment_intent_id
        payment.paid_at = utcnow()
        _move(payment, P.PAID, actor=actor, notify=(contract.agency, contract.buyer),
              payload={"session": session.id, "payment_intent": session.payment_intent_id})
        return "paid"
    if payment.status is P.CANCELLED:
        # Paid after the contract ended: give the money back.
        payment.payment_intent_id = session.payment_intent_id
        payment.paid_at = utcnow()
        payment.refund_requested_at = utcnow()
        payment.refund_reason = "contract ended before the payment completed"
        _move(payment, P.REFUNDING, actor=actor, notify=(contract.buyer,),
              reason=payment.refund_reason, params={"reason": str(_l("the contract ended before payment"))})
        return "refund requested"
    return "already handled"


def sync_checkout(payment: Payment, session: CheckoutSession, *, actor=STRIPE) -> str:
    """Bring the payment in line with the Checkout Session as Stripe reports it now."""
    if session.status == "complete" and session.payment_status == "paid":
        return _checkout_paid(payment, session, actor=actor)
    if session.status == "expired":
        if payment.status is P.PENDING and payment.checkout_session_id == session.id:
            payment.checkout_session_id = None
            payment.checkout_url = None
            _move(payment, P.UNPAID, actor=actor, notify=(payment.contract.buyer,),
                  payload={"session": session.id})
            return "expired"
        if payment.status is P.CANCELLED and payment.checkout_session_id == session.id:
            payment.checkout_url = None
            return "expired after cancellation"
    return "no change"


def return_from_checkout(contract: Contract, *, actor) -> Payment | None:
    """The enterprise came back from Stripe: ask Stripe where the session is.

    Raises:
        ProviderError: Stripe is unreachable (nothing changed; the webhook will tell later).
    """
    payment = payment_of(contract)
    if payment is None or not payment.is_online or not payment.checkout_session_id:
        return payment
    if payment.status is P.PENDING:
        session = provider_for(payment.provider).retrieve_checkout(payment.checkout_session_id)
        sync_checkout(payment, session, actor=STRIPE)
    return payment


def expire_cancelled_checkout(payment: Payment) -> bool:
    """Close the Checkout Session of a payment cancelled while it was open."""
    if payment.status is not P.CANCELLED or not payment.checkout_session_id or not payment.checkout_url:
        return False
    session = provider_for(payment.provider).expire_checkout(
        payment.checkout_session_id, idempotency_key=f"expire:{payment.contract_id}:{payment.version}")
    payment.checkout_url = None
    if session.status == "complete":
        sync_checkout(payment, session, actor=STRIPE)
    return True
