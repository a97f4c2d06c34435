"""Registered endpoints and their deliveries (the outbox)."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Organisation
from marketplace.core.db import UTCDateTime, enum_column, utcnow
from marketplace.extensions import db


class WebhookEndpoint(db.Model):
    """A receiver's URL, the event types it wants and the secret its deliveries are signed with."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    url: Mapped[str] = mapped_column(sa.String(500))
    description: Mapped[str] = mapped_column(sa.String(200), default="")
    event_types: Mapped[str] = mapped_column(sa.String(1000))
    # The receiver needs the same secret to check signatures, so it is kept (like Stripe does);
    # it is shown in full only once, at creation.
    secret: Mapped[str] = mapped_column(sa.String(100))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship()

    @property
    def event_set(self) -> frozenset[str]:
        return frozenset(self.event_types.split())

    @property
    def audit_label(self) -> str:
        return f"webhook:{self.id}"

    def __repr__(self) -> str:
        return f"<WebhookEndpoint {self.id} {self.url}>"


class DeliveryStatus(enum.StrEnum):
    """Where a delivery is."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    DEAD = "dead"

    @property
    def label(self):
        return {
            DeliveryStatus.PENDING: _l("Pending"),
            DeliveryStatus.SUCCEEDED: _l("Delivered"),
            DeliveryStatus.DEAD: _l("Gave up"),
        }[self]


class WebhookDelivery(db.Model):
    """One event for one endpoint; written in the emitter's transaction, sent by the job runner."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_endpoints.id"), index=True)
    event_id: Mapped[str] = mapped_column(sa.String(40))
    event_type: Mapped[str] = mapped_column(sa.String(60))
    payload: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus, "delivery_status"), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_status_code: Mapped[int | None] = mapped_column()
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    endpoint: Mapped[WebhookEndpoint] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
        sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    def __repr__(self) -> str:
        return f"<WebhookDelivery {self.id} {self.event_type} {self.status}>"
