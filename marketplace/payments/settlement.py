"""Settlement: on acceptance the held amount (less the platform fee) is transferred to the agency's
account; the ``payments.settle`` job makes each pending Stripe call (transfer, refund, session
expiry) after the commit, with an idempotency key derived from the payment."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.audit.services import record_event
from marketplace.contracts.models import Contract
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.notifications.kinds import register_kind
from marketplace.notifications.services import notify_organisation
from marketplace.payments.checkout import expire_cancelled_checkout
from marketplace.payments.models import Payment, ProviderName
from marketplace.payments.payout_accounts import account_of
from marketplace.payments.providers import provider_for
from marketplace.payments.records import SYSTEM, P, PaymentRefused, _move, _params, ensure_payment
from marketplace.payments.refunds import execute_refund

register_kind("payments.account_needed", _l("Connect your Stripe account on your profile page to receive %(amount)s for the contract %(no)s."))


def request_transfer(contract: Contract, *, actor=SYSTEM) -> Payment | None:
    """The service was accepted: the held amount goes to the agency (the job makes the transfer)."""
    try:
        payment = ensure_payment(contract, actor=actor)
    except PaymentRefused:
        return None
    if not payment.is_online or payment.transfer_requested_at is not None:
        return payment
    if payment.status in (P.REFUNDING, P.REFUNDED, P.CANCELLED, P.TRANSFERRED):
        return payment
    payment.transfer_requested_at = utcnow()
    record_event("payment.transfer_requested", payment, actor=actor, payload={
        "contract": contract.id, "amount_fen": payment.transfer_fen, "fee_fen": payment.fee_fen})
    return payment


def execute_transfer(payment: Payment, *, now: datetime | None = None) -> bool:
    """Transfer a paid, accepted contract's amount (less the fee) to the agency's account.

    Returns True when transferred; False while the agency has no ready account.

    Raises:
        ProviderError: Stripe refused or is unreachable (retried by the next job run).
    """
    contract = payment.contract
    if payment.status is not P.PAID or payment.transfer_requested_at is None:
        return False
    if payment.chargeback_open or payment.chargeback_status == "lost":
        # The card holder's bank holds or took back the money: nothing to pay out meanwhile.
        return False
    account = account_of(contract.agency_org_id)
    if account is None or not account.is_ready:
        notify_organisation(contract.agency, "payments.account_needed", params=_params(payment),
                            link="/agency/profile", dedupe_key=f"payment:{payment.id}:account_needed")
        return False
    transfer = provider_for(payment.provider).create_transfer(
        amount_fen=payment.transfer_fen, destination=account.stripe_account_id,
        transfer_group=contract.contract_no, contract_id=contract.id,
        idempotency_key=f"transfer:{contract.id}:{payment.version}",
    )
    _record_transfer(payment, transfer.id, actor=SYSTEM, now=now)
    return True


def _record_transfer(payment: Payment, transfer_id: str, *, actor, now: datetime | None = None) -> None:
    contract = payment.contract
    payment.transfer_id = transfer_id
    payment.settled_at = now or utcnow()
    _move(payment, P.TRANSFERRED, actor=actor, notify=(contract.agency, contract.buyer),
          payload={"transfer": transfer_id, "amount_fen": payment.transfer_fen, "fee_fen": payment.fee_fen,
                   "transfer_group": contract.contract_no})


def due_settlements() -> list[int]:
    """Ids of online payments with a transfer, refund or session expiry to make."""
    return list(db.session.execute(
        sa.select(Payment.id).where(
            Payment.provider == ProviderName.STRIPE,
            sa.or_(
                sa.and_(Payment.status == P.PAID, Payment.transfer_requested_at.is_not(None)),
                Payment.status == P.REFUNDING,
                sa.and_(Payment.status == P.CANCELLED, Payment.checkout_url.is_not(None)),
            ),
        ).order_by(Payment.id)
    ).scalars())


def settle(payment: Payment) -> bool:
    """Make the one Stripe call ``payment`` is waiting for."""
    if payment.status is P.PAID:
        return execute_transfer(payment)
    if payment.status is P.REFUNDING:
        return execute_refund(payment)
    if payment.status is P.CANCELLED:
        return expire_cancelled_checkout(payment)
    return False
