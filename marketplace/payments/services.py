"""Payment rules: one payment per contract, Stripe checkout/transfer/refund, bank transfers.

Services flush and never commit; the caller commits once. Stripe calls that move money after a
contract event (the transfer on acceptance, the refund on termination) are only *requested* in
that event's transaction and made by the ``payments.settle`` job after the commit, each with an
idempotency key derived from the payment, so a crash or a second runner never pays twice.
"""

from __future__ import annotations

import importlib
import json
import logging
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import Organisation, OrgKind, Role
from marketplace.audit.registry import actor_name, event_label
from marketplace.audit.services import events_for, record_event
from marketplace.contracts.models import Contract, ContractStatus
from marketplace.contracts.services import china_today
from marketplace.contracts.signals import contract_terminated
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, PermissionDenied
from marketplace.core.money import MAX_FEN, format_fen
from marketplace.extensions import db
from marketplace.notifications.kinds import register_kind
from marketplace.notifications.services import notify_organisation
from marketplace.payments.models import (
    REASON_MAX,
    REFERENCE_MAX,
    Payment,
    PaymentAccount,
    PaymentStatus,
    ProviderName,
    StripeEvent,
)
from marketplace.payments.providers import (
    CheckoutSession,
    SignatureInvalid,
    get_provider,
    provider_for,
)
from marketplace.payments.states import PAYMENT_MACHINE

log = logging.getLogger(__name__)

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
register_kind("payments.account_needed", _l("Connect your Stripe account on your profile page to receive %(amount)s for the contract %(no)s."))
register_kind("payments.partially_refunded", _l("%(refunded)s of the %(amount)s paid for the contract %(no)s was refunded at Stripe; the agency's transfer is reduced accordingly."))
register_kind("payments.chargeback_opened", _l("The card holder disputed the payment of %(amount)s for the contract %(no)s with their bank (chargeback, status %(status)s); the transfer to the agency waits."))
register_kind("payments.chargeback_closed", _l("The chargeback of the payment for the contract %(no)s was closed: %(status)s."))
register_kind("payments.transfer_reversed", _l("%(reversed)s of the transfer for the contract %(no)s was reversed from your Stripe account."))
register_kind("payments.offline_refund_due", _l("The contract %(no)s ended after a bank transfer of %(amount)s was recorded: the parties settle the refund between them."))


class PaymentRefused(DomainError):
    """A payment action was refused (wrong party, wrong amount, wrong state...)."""


# --- reading ----------------------------------------------------------------------------------


def payment_of(contract: Contract) -> Payment | None:
    """The contract's payment, if it was started."""
    return db.session.execute(sa.select(Payment).where(Payment.contract_id == contract.id)).scalar_one_or_none()


def current_provider_name() -> ProviderName:
    """The provider new payments use."""
    return get_provider().name


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    label: str
    actor: str
    detail: str


def history(payment: Payment | None) -> list[HistoryEntry]:
    """The payment's audit trail, oldest first, as the payment page shows it."""
    if payment is None:
        return []
    rows = []
    for event in events_for("payments", payment.id):
        try:
            data = json.loads(event.payload or "{}")
        except ValueError:
            data = {}
        detail = data.get("reason") or data.get("reference") or ""
        if event.action.startswith("payment.chargeback"):
            detail = f"{data.get('status', '')} · {format_fen(int(data.get('amount_fen') or 0))}"
        elif event.action == "payment.partially_refunded":
            detail = format_fen(int(data.get("refunded_fen") or 0))
        elif event.action == "payment.transfer_reversed":
            detail = format_fen(int(data.get("reversed_fen") or 0))
        rows.append(HistoryEntry(at=event.created_at, label=event_label(event.action),
                                 actor=actor_name(event), detail=str(detail)))
    return rows


def account_of(org_id: int) -> PaymentAccount | None:
    """The organisation's Stripe Connect account, if it has one."""
    return db.session.execute(
        sa.select(PaymentAccount).where(PaymentAccount.organisation_id == org_id)
    ).scalar_one_or_none()


def fee_for(amount_fen: int) -> int:
    """The platform fee on ``amount_fen``: PLATFORM_FEE_BASIS_POINTS, rounded down, in fen."""
    bps = int(current_app.config.get("PLATFORM_FEE_BASIS_POINTS", 0) or 0)
    bps = min(max(bps, 0), 10_000)
    return amount_fen * bps // 10_000


# --- helpers ----------------------------------------------------------------------------------


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


# --- Stripe checkout --------------------------------------------------------------------------


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


# --- transfer on acceptance, refund on termination -------------------------------------------


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


def _on_delivery_accepted(sender, **_extra) -> None:
    """Delivery accepted the contract's service (inside the acceptance transaction)."""
    actor = _extra.get("actor") or SYSTEM
    request_transfer(sender, actor=actor)
    close_if_settled(sender, actor=actor)


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


def _on_contract_terminated(sender, **extra) -> None:
    """The contracts domain ended a contract (inside its transaction)."""
    refund_contract(sender, str(extra.get("reason") or _l("The contract was terminated.")),
                    extra.get("actor") or SYSTEM)


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


# --- offline (bank transfer) ------------------------------------------------------------------


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


# --- Stripe Connect onboarding ----------------------------------------------------------------


def start_onboarding(org: Organisation, *, actor, refresh_url: str, return_url: str) -> str:
    """Create the agency's Express account (once) and a fresh Account Link; returns its URL.

    Raises:
        PermissionDenied: not an agency.
        PaymentRefused: online payment is not configured.
        ProviderError: Stripe refused or is unreachable.
    """
    if org.kind is not OrgKind.AGENCY:
        raise PermissionDenied(_l("Only agencies receive payments."))
    provider = get_provider()
    if not provider.is_online:
        raise PaymentRefused(_l("Online payment is not configured on this platform; pay by bank transfer."))
    account = account_of(org.id)
    if account is None:
        created = provider.create_account(organisation_id=org.id, email=org.contact_email or "",
                                          idempotency_key=f"account:{org.id}")
        now = utcnow()
        inserted = _insert_once(PaymentAccount, {
            "organisation_id": org.id, "stripe_account_id": created.id,
            "details_submitted": created.details_submitted, "payouts_enabled": created.payouts_enabled,
            "links_created": 0, "created_at": now, "updated_at": now}, "organisation_id")
        account = account_of(org.id)
        if inserted:
            record_event("payment_account.created", account, actor=actor,
                         payload={"organisation": org.id, "account": created.id})
    account.links_created = account.links_created + 1
    db.session.flush()
    return provider.create_account_link(
        account.stripe_account_id, refresh_url=refresh_url, return_url=return_url,
        idempotency_key=f"account_link:{org.id}:{account.links_created}",
    )


def refresh_account(account: PaymentAccount, *, actor=STRIPE) -> PaymentAccount:
    """Ask Stripe whether the account can receive transfers now.

    Raises:
        ProviderError: Stripe refused or is unreachable.
    """
    remote = get_provider().retrieve_account(account.stripe_account_id)
    changed = (remote.details_submitted, remote.payouts_enabled) != (account.details_submitted,
                                                                   account.payouts_enabled)
    if changed:
        account.details_submitted = remote.details_submitted
        account.payouts_enabled = remote.payouts_enabled
        account.updated_at = utcnow()
        record_event("payment_account.updated", account, actor=actor, payload={
            "details_submitted": remote.details_submitted, "payouts_enabled": remote.payouts_enabled})
    return account


# --- webhook ----------------------------------------------------------------------------------


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
    if payment is None and session.contract_id and session.contract_id.isdigit():
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


# --- signals ----------------------------------------------------------------------------------


def connect_signals() -> None:
    """Subscribe to the contract and delivery signals (the delivery domain may not exist yet)."""
    contract_terminated.connect(_on_contract_terminated)
    try:
        module = importlib.import_module("marketplace.delivery.signals")
    except ModuleNotFoundError as exc:
        # Only a missing delivery domain is tolerated; a broken one must fail loudly, or
        # accepted services would silently never be paid out.
        if exc.name not in ("marketplace.delivery", "marketplace.delivery.signals"):
            raise
        log.warning("no delivery domain: transfers are requested only through request_transfer()")
        return
    signal = getattr(module, "delivery_accepted", None)
    if signal is not None:
        signal.connect(_on_delivery_accepted)
    try:
        timeline = importlib.import_module("marketplace.delivery.timeline")
    except ModuleNotFoundError as exc:
        if exc.name != "marketplace.delivery.timeline":
            raise
        return
    timeline.register_timeline_provider(timeline_rows)


def timeline_rows(contract: Contract, *, viewer) -> list:
    """The payment's steps on the contract's timeline; references and reasons for the parties only."""
    payment = payment_of(contract)
    if payment is None:
        return []
    from marketplace.delivery.timeline import TimelineEntry

    is_party = contract.party_of(viewer) is not None
    return [TimelineEntry(row.at, row.label, row.detail if is_party else "", "payment")
            for row in history(payment)]


contract_terminated.connect(_on_contract_terminated)
