"""The payment record: one per contract, created with the configured provider on first use, moved
through its states (each move bumps the version and tells the parties), closing the request once
settled; the shared helpers of every payments module. Imports none of its siblings."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import Organisation, Role
from marketplace.audit.services import record_event
from marketplace.contracts.models import Contract, ContractStatus
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, PermissionDenied
from marketplace.core.money import format_fen
from marketplace.extensions import db
from marketplace.notifications.kinds import register_kind
from marketplace.notifications.services import notify_organisation
from marketplace.payments.models import Payment, PaymentStatus, ProviderName
from marketplace.payments.providers import get_provider
from marketplace.payments.states import PAYMENT_MACHINE

STRIPE = "stripe"
SYSTEM = "system"
P = PaymentStatus
PAYABLE_CONTRACT = (ContractStatus.IN_FORCE, ContractStatus.COMPLETED)

register_kind("payments.pending", _l("The enterprise started paying %(amount)s for the contract %(no)s online."))
register_kind("payments.paid", _l("%(amount)s for the contract %(no)s was paid; the platform holds it until the service is accepted."))
register_kind("payments.unpaid", _l("The online payment for the contract %(no)s expired without payment; it can be started again."))
register_kind("payments.transferred", _l("%(amount)s for the contract %(no)s was transferred to the agency's Stripe account."))
register_kind("payments.refunding", _l("A refund of %(amount)s for the contract %(no)s was started: %(reason)s"))
register_kind("payments.refunded", _l("%(amount)s for the contract %(no)s was refunded to the enterprise."))
register_kind("payments.recorded", _l("The enterprise recorded a bank transfer of %(amount)s for the contract %(no)s (reference %(reference)s): confirm receipt or dispute it."))
register_kind("payments.confirmed", _l("The agency confirmed receiving %(amount)s for the contract %(no)s."))
register_kind("payments.disputed", _l("The agency disputed the bank transfer for the contract %(no)s: %(reason)s"))
register_kind("payments.cancelled", _l("The payment of the contract %(no)s was cancelled: the contract ended before payment."))


class PaymentRefused(DomainError):
    """A payment action was refused (wrong party, wrong amount, wrong state...)."""


def payment_of(contract: Contract) -> Payment | None:
    """The contract's payment, if it was started."""
    return db.session.execute(sa.select(Payment).where(Payment.contract_id == contract.id)).scalar_one_or_none()


def current_provider_name() -> ProviderName:
    """The provider new payments use."""
    return get_provider().name


def fee_for(amount_fen: int) -> int:
    """The platform fee on ``amount_fen``: PLATFORM_FEE_BASIS_POINTS, rounded down, in fen."""
    bps = int(current_app.config.get("PLATFORM_FEE_BASIS_POINTS", 0) or 0)
    bps = min(max(bps, 0), 10_000)
    return amount_fen * bps // 10_000


def _params(payment: Payment, **extra) -> dict:
    return {"no": payment.contract.contract_no, "amount": format_fen(payment.amount_fen), **extra}


SETTLED = (P.TRANSFERRED, P.CONFIRMED)


def close_if_settled(contract: Contract, *, actor) -> bool:
    """The request is closed (办结) once its result is accepted and the payment settled: paid out
    to the agency (Stripe) or confirmed received (bank transfer). True when it closed now."""
    payment = payment_of(contract)
    if payment is None or payment.status not in SETTLED or contract.status is not ContractStatus.COMPLETED:
        return False
    from marketplace.procurement.services import close_request

    return close_request(contract.request, actor=actor, reason=str(_l("Result accepted and payment settled.")))


def _move(payment: Payment, target: PaymentStatus, *, actor, notify: tuple[Organisation, ...] = (),
          reason: str | None = None, payload: dict | None = None, params: dict | None = None) -> None:
    """Transition, bump the version, tell ``notify`` (once per transition); a settlement closes
    the request when the result is already accepted."""
    PAYMENT_MACHINE.transition(payment, target, actor=actor, reason=reason,
                               payload={"contract": payment.contract_id, **(payload or {})})
    payment.version = payment.version + 1
    db.session.flush()
    if target in SETTLED:
        close_if_settled(payment.contract, actor=actor)
    for org in notify:
        notify_organisation(
            org, f"payments.{target}", params=_params(payment, **(params or {})),
            link=f"/contracts/{payment.contract_id}/payment",
            dedupe_key=f"payment:{payment.id}:{target}:{payment.version}",
        )


def _insert_once(model, values: dict, key: str) -> bool:
    """INSERT unless a row with the same ``key`` exists; True when this call inserted it.

    ``ON CONFLICT DO NOTHING`` rather than a savepoint: on SQLite (pysqlite) a SAVEPOINT opened
    before any write starts and then *commits* its own transaction, so a later rollback would
    not undo it. On PostgreSQL a concurrent insert of the same key waits for the other
    transaction and then does nothing.
    """
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(model).values(**values).on_conflict_do_nothing(index_elements=[key]).returning(model.id)
    db.session.flush()
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT with implicit RETURNING.
    return db.session.execute(stmt).first() is not None


def _require_party(contract: Contract, actor, party: str, role: Role) -> None:
    if contract.party_of(actor) != party or getattr(actor, "role", None) is not role:
        if party == "buyer":
            raise PermissionDenied(_l("Only the enterprise that signed the contract can do this."))
        raise PermissionDenied(_l("Only the agency that signed the contract can do this."))


def ensure_payment(contract: Contract, *, actor=SYSTEM) -> Payment:
    """The contract's payment, created (with the configured provider) on first use.

    Raises:
        PaymentRefused: the contract is not in force.
    """
    payment = payment_of(contract)
    if payment is not None:
        return payment
    if contract.status not in PAYABLE_CONTRACT:
        raise PaymentRefused(_l("A contract can be paid only once it is in force."))
    return _create(contract, actor=actor)


def _create(contract: Contract, *, actor) -> Payment:
    amount = int(contract.price_fen)
    inserted = _insert_once(Payment, {
        "contract_id": contract.id, "provider": current_provider_name(), "status": P.UNPAID,
        "amount_fen": amount, "fee_fen": fee_for(amount), "currency": "cny", "version": 1,
        "created_at": utcnow(), "bank_reference": "", "dispute_reason": "", "refund_reason": "",
    }, "contract_id")
    payment = payment_of(contract)
    if not inserted:  # someone else created it at the same moment: theirs counts
        return payment
    record_event("payment.created", payment, actor=actor, payload={
        "contract": contract.id, "provider": str(payment.provider), "amount_fen": amount,
        "fee_fen": payment.fee_fen})
    return payment
