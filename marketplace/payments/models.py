"""One payment per contract, the agencies' Stripe accounts, and the Stripe events already seen."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Organisation, User
from marketplace.contracts.models import Contract
from marketplace.core.db import UTCDateTime, enum_column, utcnow
from marketplace.extensions import db

REFERENCE_MAX = 100
REASON_MAX = 1000
STRIPE_ID_MAX = 255


class ProviderName(enum.StrEnum):
    """How a payment is made."""

    OFFLINE = "offline"
    STRIPE = "stripe"

    @property
    def label(self):
        return {
            ProviderName.OFFLINE: _l("Offline bank transfer"),
            ProviderName.STRIPE: _l("Online payment (Stripe)"),
        }[self]


class PaymentStatus(enum.StrEnum):
    """The lifecycle of a contract's payment (see ``states.py``)."""

    UNPAID = "unpaid"
    # Stripe: checkout open → paid (held by the platform) → transferred | refunding → refunded.
    PENDING = "pending"
    PAID = "paid"
    TRANSFERRED = "transferred"
    REFUNDING = "refunding"
    REFUNDED = "refunded"
    # Offline: recorded by the enterprise → confirmed by the agency, or disputed.
    RECORDED = "recorded"
    CONFIRMED = "confirmed"
    DISPUTED = "disputed"
    # The contract ended before anything was paid.
    CANCELLED = "cancelled"

    @property
    def label(self):
        return {
            PaymentStatus.UNPAID: _l("Not paid"),
            PaymentStatus.PENDING: _l("Payment in progress"),
            PaymentStatus.PAID: _l("Paid, held by the platform"),
            PaymentStatus.TRANSFERRED: _l("Transferred to the agency"),
            PaymentStatus.REFUNDING: _l("Refund in progress"),
            PaymentStatus.REFUNDED: _l("Refunded"),
            PaymentStatus.RECORDED: _l("Bank transfer recorded, awaiting the agency's confirmation"),
            PaymentStatus.CONFIRMED: _l("Receipt confirmed by the agency"),
            PaymentStatus.DISPUTED: _l("Disputed by the agency"),
            PaymentStatus.CANCELLED: _l("Cancelled"),
        }[self]


# Stripe dispute statuses after which nothing more happens (lost: the money went back).
CHARGEBACK_CLOSED = frozenset({"won", "lost", "warning_closed"})


class Payment(db.Model):
    """The payment of one contract's price, in integer fen (CNY)."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id"), unique=True)
    provider: Mapped[ProviderName] = mapped_column(enum_column(ProviderName, "payment_provider"))
    status: Mapped[PaymentStatus] = mapped_column(
        enum_column(PaymentStatus, "payment_status"), default=PaymentStatus.UNPAID, index=True
    )
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3), default="cny")
    # Bumped by every transition: part of the idempotency keys of the Stripe calls it leads to.
    version: Mapped[int] = mapped_column(default=1)
    fee_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    # Stripe
    checkout_session_id: Mapped[str | None] = mapped_column(sa.String(STRIPE_ID_MAX), index=True)
    checkout_url: Mapped[str | None] = mapped_column(sa.String(2000))
    payment_intent_id: Mapped[str | None] = mapped_column(sa.String(STRIPE_ID_MAX), index=True)
    transfer_id: Mapped[str | None] = mapped_column(sa.String(STRIPE_ID_MAX))
    refund_id: Mapped[str | None] = mapped_column(sa.String(STRIPE_ID_MAX))
    # Set in the acceptance / termination transaction; the job makes the Stripe call after commit.
    transfer_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refund_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refund_reason: Mapped[str] = mapped_column(sa.String(REASON_MAX), default="")
    # Offline
    bank_reference: Mapped[str] = mapped_column(sa.String(REFERENCE_MAX), default="")
    paid_on: Mapped[date | None] = mapped_column(sa.Date)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    dispute_reason: Mapped[str] = mapped_column(sa.String(REASON_MAX), default="")
    # What Stripe reports after the payment: a card holder's chargeback (dispute) and its status,
    # refunds made at Stripe for part of the amount, and a reversal of the agency's transfer.
    chargeback_id: Mapped[str | None] = mapped_column(sa.String(STRIPE_ID_MAX))
    chargeback_status: Mapped[str] = mapped_column(sa.String(40), default="", server_default="")
    chargeback_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    refunded_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    transfer_reversed_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    contract: Mapped[Contract] = relationship()
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])

    __table_args__ = (
        sa.CheckConstraint("amount_fen >= 0", name="amount_non_negative"),
        sa.CheckConstraint("fee_fen >= 0 AND fee_fen <= amount_fen", name="fee_in_range"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.CheckConstraint(
            "status NOT IN ('recorded', 'confirmed') OR (bank_reference <> '' AND paid_on IS NOT NULL)",
            name="recorded_has_reference",
        ),
        sa.CheckConstraint("status <> 'disputed' OR dispute_reason <> ''", name="disputed_has_reason"),
        sa.CheckConstraint("status <> 'transferred' OR transfer_id IS NOT NULL", name="transferred_has_id"),
        sa.CheckConstraint("status <> 'paid' OR payment_intent_id IS NOT NULL", name="paid_has_intent"),
        sa.CheckConstraint("refunded_fen >= 0 AND refunded_fen <= amount_fen", name="refunded_in_range"),
        sa.CheckConstraint("chargeback_fen >= 0 AND transfer_reversed_fen >= 0", name="reversals_non_negative"),
    )

    @property
    def chargeback_open(self) -> bool:
        """A chargeback is under way (Stripe has not closed it as won or lost)."""
        return bool(self.chargeback_id) and self.chargeback_status not in CHARGEBACK_CLOSED

    @property
    def is_online(self) -> bool:
        return self.provider is ProviderName.STRIPE

    @property
    def transfer_fen(self) -> int:
        """What the agency receives: the amount less the platform fee and what was refunded."""
        return max(self.amount_fen - self.fee_fen - self.refunded_fen, 0)

    @property
    def audit_label(self) -> str:
        return f"payment:{self.id} contract={self.contract_id}"

    def __repr__(self) -> str:
        return f"<Payment {self.id} contract={self.contract_id} {self.provider} {self.status}>"


class PaymentAccount(db.Model):
    """An agency's Stripe Connect (Express) account."""

    __tablename__ = "payment_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), unique=True)
    stripe_account_id: Mapped[str] = mapped_column(sa.String(STRIPE_ID_MAX), unique=True)
    details_submitted: Mapped[bool] = mapped_column(default=False)
    payouts_enabled: Mapped[bool] = mapped_column(default=False)
    # Account Links are single-use: each new one needs its own idempotency key.
    links_created: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship()

    @property
    def is_ready(self) -> bool:
        """Whether transfers to this account can be made."""
        return self.details_submitted and self.payouts_enabled

    @property
    def audit_label(self) -> str:
        return f"payment_account:{self.id} org={self.organisation_id}"

    def __repr__(self) -> str:
        return f"<PaymentAccount org={self.organisation_id} {self.stripe_account_id}>"


class StripeEvent(db.Model):
    """A Stripe webhook event already handled: the unique id makes every later copy a no-op."""

    __tablename__ = "stripe_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(sa.String(STRIPE_ID_MAX), unique=True)
    event_type: Mapped[str] = mapped_column(sa.String(100))
    object_id: Mapped[str] = mapped_column(sa.String(STRIPE_ID_MAX), default="")
    outcome: Mapped[str] = mapped_column(sa.String(200), default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<StripeEvent {self.event_id} {self.event_type}>"
