"""The payment lifecycle.

Stripe: unpaid → pending (checkout open) → paid (held by the platform) → transferred on
acceptance, or refunding → refunded when the contract ends first; an expired checkout goes back
to unpaid. Offline: unpaid → recorded (by the enterprise) → confirmed (by the agency) or
disputed → recorded again. A contract ended before payment cancels it; a checkout completed
after that is refunded.
"""

from __future__ import annotations

from marketplace.core.states import StateMachine
from marketplace.payments.models import PaymentStatus

P = PaymentStatus

PAYMENT_TRANSITIONS = {
    # unpaid → paid: a checkout completed that the platform saw expire or never saw open.
    P.UNPAID: {P.PENDING, P.PAID, P.RECORDED, P.CANCELLED},
    P.PENDING: {P.PAID, P.UNPAID, P.CANCELLED},
    P.PAID: {P.TRANSFERRED, P.REFUNDING},
    P.REFUNDING: {P.REFUNDED, P.PAID},
    P.CANCELLED: {P.REFUNDING},
    P.RECORDED: {P.CONFIRMED, P.DISPUTED},
    P.DISPUTED: {P.RECORDED, P.CANCELLED},
    P.TRANSFERRED: set(),
    P.REFUNDED: set(),
    P.CONFIRMED: set(),
}

PAYMENT_MACHINE = StateMachine(PaymentStatus, PAYMENT_TRANSITIONS, audit_type="payment")
