"""Refunds: the contract ended before acceptance, so what was paid online is refunded (by the
settlement job, at Stripe), what was not is cancelled, and a bank transfer is settled between
the parties."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from marketplace.audit.services import record_event
from marketplace.contracts.models import Contract, ContractStatus
from marketplace.core.db import utcnow
from marketplace.notifications.kinds import register_kind
from marketplace.notifications.services import notify_organisation
from marketplace.payments.models import REASON_MAX, Payment
from marketplace.payments.providers import provider_for
from marketplace.payments.records import (
    PAYABLE_CONTRACT,
    SYSTEM,
    P,
    PaymentRefused,
    _create,
    _move,
    _params,
    payment_of,
)

register_kind("payments.offline_refund_due", _l("The contract %(no)s ended after a bank transfer of %(amount)s was recorded: the parties settle the refund between them."))


def refund_contract(contract: Contract, reason: str, actor) -> Payment | None:
    """The contract ended before acceptance: refund what was paid, cancel what was not.

    Stripe refunds are made by the job after the commit. Bank transfers are settled between
    the parties: both are told, and it is on the record.

    Raises:
        PaymentRefused: no reason given.
    """
    reason = (reason or "").strip()[:REASON_MAX]
    if not reason:
        raise PaymentRefused(_l("Give the reason for the refund."), field="reason")
    payment = payment_of(contract)
    if payment is None:
        if contract.status not in (*PAYABLE_CONTRACT, ContractStatus.TERMINATED):
            return None
        payment = _create(contract, actor=actor)
    both = (contract.buyer, contract.agency)
    if payment.status in (P.UNPAID, P.PENDING, P.DISPUTED):
        _move(payment, P.CANCELLED, actor=actor, notify=both, reason=reason)
    elif payment.status is P.PAID:
        payment.refund_requested_at = utcnow()
        payment.refund_reason = reason
        _move(payment, P.REFUNDING, actor=actor, notify=both, reason=reason, params={"reason": reason})
    elif payment.status in (P.RECORDED, P.CONFIRMED):
        record_event("payment.offline_refund_due", payment, actor=actor,
                     payload={"contract": contract.id, "reason": reason})
        for org in both:
            notify_organisation(org, "payments.offline_refund_due", params=_params(payment),
                                link=f"/contracts/{contract.id}/payment",
                                dedupe_key=f"payment:{payment.id}:offline_refund_due")
    return payment


def execute_refund(payment: Payment) -> bool:
    """Ask Stripe for the refund of a payment in ``refunding``; done once Stripe says succeeded.

    Raises:
        ProviderError: Stripe refused or is unreachable (retried by the next job run).
    """
    if payment.status is not P.REFUNDING or not payment.payment_intent_id:
        return False
    provider = provider_for(payment.provider)
    if payment.refund_id is None:
        refund = provider.create_refund(
            payment_intent_id=payment.payment_intent_id, contract_id=payment.contract_id,
            reason=payment.refund_reason, idempotency_key=f"refund:{payment.contract_id}:{payment.version}",
        )
        payment.refund_id = refund.id
        record_event("payment.refund_created", payment, actor=SYSTEM,
                     payload={"contract": payment.contract_id, "refund": refund.id, "status": refund.status})
    else:
        refund = provider.retrieve_refund(payment.refund_id)
    return _apply_refund_status(payment, refund.status, actor=SYSTEM) == "refunded"


def _apply_refund_status(payment: Payment, status: str, *, actor) -> str:
    contract = payment.contract
    if status == "succeeded" and payment.status in (P.REFUNDING, P.PAID):
        if payment.status is P.PAID:  # refunded from Stripe's dashboard
            _move(payment, P.REFUNDING, actor=actor, reason="refunded at Stripe",
                  params={"reason": str(_l("refunded at Stripe"))})
        payment.settled_at = utcnow()
        _move(payment, P.REFUNDED, actor=actor, notify=(contract.buyer, contract.agency))
        return "refunded"
    if status in ("failed", "canceled") and payment.status is P.REFUNDING:
        payment.refund_id = None
        payment.refund_requested_at = None
        _move(payment, P.PAID, actor=actor, reason=f"refund {status}")
        return f"refund {status}"
    return "no change"
