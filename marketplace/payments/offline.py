"""Offline payments (bank transfer): the enterprise records its transfer of the full contract price;
the agency confirms receipt or disputes it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import Role
from marketplace.contracts.models import Contract
from marketplace.contracts.services import china_today
from marketplace.core.db import utcnow
from marketplace.core.money import MAX_FEN, format_fen
from marketplace.payments.models import REASON_MAX, REFERENCE_MAX, Payment
from marketplace.payments.records import (
    P,
    PaymentRefused,
    _move,
    _require_party,
    ensure_payment,
    payment_of,
)


@dataclass
class OfflineInput:
    reference: str
    amount_fen: int
    paid_on: date


def record_offline_payment(contract: Contract, data: OfflineInput, *, actor, today: date | None = None) -> Payment:
    """The enterprise records its bank transfer of the full contract price.

    Raises:
        PermissionDenied: not the enterprise of the contract.
        PaymentRefused: a bad reference, amount or date, or nothing to record now.
    """
    _require_party(contract, actor, "buyer", Role.ENTERPRISE_STAFF)
    payment = ensure_payment(contract, actor=actor)
    if payment.is_online:
        raise PaymentRefused(_l("This contract is paid online."))
    if payment.status not in (P.UNPAID, P.DISPUTED):
        raise PaymentRefused(_l("A bank transfer can be recorded only while the contract is unpaid or the "
                                "last one was disputed."))
    reference = (data.reference or "").strip()
    if not reference or len(reference) > REFERENCE_MAX:
        raise PaymentRefused(_l("Enter the bank reference (at most %(n)d characters).", n=REFERENCE_MAX),
                             field="reference")
    if not isinstance(data.amount_fen, int) or isinstance(data.amount_fen, bool) or not 0 <= data.amount_fen <= MAX_FEN:
        raise PaymentRefused(_l("Enter a valid amount."), field="amount")
    if data.amount_fen != payment.amount_fen:
        raise PaymentRefused(_l("The amount must equal the contract price, %(price)s.",
                                price=format_fen(payment.amount_fen)), field="amount")
    today = today or china_today()
    effective = contract.effective_date
    if data.paid_on > today or (effective is not None and data.paid_on < effective):
        raise PaymentRefused(_l("The transfer date must be between the contract's effective date and today."),
                             field="paid_on")
    payment.bank_reference = reference
    payment.paid_on = data.paid_on
    payment.recorded_by_id = actor.id
    payment.paid_at = utcnow()
    _move(payment, P.RECORDED, actor=actor, notify=(contract.agency,),
          payload={"reference": reference, "amount_fen": data.amount_fen, "paid_on": data.paid_on.isoformat()},
          params={"reference": reference})
    return payment


def confirm_offline_payment(contract: Contract, *, actor) -> Payment:
    """The agency confirms it received the recorded bank transfer.

    Raises:
        PermissionDenied: not the agency of the contract.
        PaymentRefused: nothing recorded to confirm.
    """
    _require_party(contract, actor, "agency", Role.AGENCY_STAFF)
    payment = payment_of(contract)
    if payment is None or payment.status is not P.RECORDED:
        raise PaymentRefused(_l("There is no recorded bank transfer to confirm."))
    payment.confirmed_by_id = actor.id
    payment.settled_at = utcnow()
    _move(payment, P.CONFIRMED, actor=actor, notify=(contract.buyer,),
          payload={"reference": payment.bank_reference})
    return payment


def dispute_offline_payment(contract: Contract, reason: str, *, actor) -> Payment:
    """The agency says the recorded bank transfer did not arrive as recorded.

    Raises:
        PermissionDenied: not the agency of the contract.
        PaymentRefused: no reason, or nothing recorded to dispute.
    """
    _require_party(contract, actor, "agency", Role.AGENCY_STAFF)
    reason = (reason or "").strip()
    if not reason or len(reason) > REASON_MAX:
        raise PaymentRefused(_l("Give the reason for the dispute (at most %(n)d characters).", n=REASON_MAX),
                             field="reason")
    payment = payment_of(contract)
    if payment is None or payment.status is not P.RECORDED:
        raise PaymentRefused(_l("There is no recorded bank transfer to dispute."))
    payment.dispute_reason = reason
    _move(payment, P.DISPUTED, actor=actor, notify=(contract.buyer,), reason=reason, params={"reason": reason})
    return payment
