"""Notifications shown in the app, and the e-mail outbox."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import User
from marketplace.core.db import UTCDateTime, enum_column, utcnow
from marketplace.extensions import db


class Notification(db.Model):
    """A message for one user: what happened or what they must do, and by when."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(80))
    params: Mapped[str] = mapped_column(sa.Text, default="{}")
    link: Mapped[str] = mapped_column(sa.String(300), default="")
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Jobs re-run: the same reminder for the same user and object is stored once.
    dedupe_key: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("user_id", "dedupe_key", name="uq_notifications_user_dedupe"),
        sa.Index("ix_notifications_user_unread", "user_id", "read_at"),
    )

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.kind} user={self.user_id}>"


class EmailStatus(enum.StrEnum):
    """Where an outgoing e-mail is."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutgoingEmail(db.Model):
    """An e-mail queued in the same transaction as its cause, sent by the job runner after commit."""

    __tablename__ = "email_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int | None] = mapped_column(sa.ForeignKey("notifications.id"))
    to_address: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[EmailStatus] = mapped_column(
        enum_column(EmailStatus, "email_status"), default=EmailStatus.PENDING, index=True
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<OutgoingEmail {self.id} {self.status} {self.to_address}>"
