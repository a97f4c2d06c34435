"""Deliveries: one per contract in force, its numbered submissions with files, and extensions."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import User
from marketplace.core.db import UTCDateTime, enum_column, utcnow
from marketplace.core.uploads import StoredFile
from marketplace.extensions import db

SUMMARY_MAX = 5000
REASON_MAX = 2000
MAX_FILES = 10


class DeliveryStatus(enum.StrEnum):
    """The lifecycle of a delivery: in progress → submitted → (revision requested →
    submitted …) → accepted."""

    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    REVISION_REQUESTED = "revision_requested"
    ACCEPTED = "accepted"

    @property
    def label(self):
        return {
            DeliveryStatus.IN_PROGRESS: _l("Work in progress"),
            DeliveryStatus.SUBMITTED: _l("Submitted for acceptance"),
            DeliveryStatus.REVISION_REQUESTED: _l("Revision requested"),
            DeliveryStatus.ACCEPTED: _l("Accepted"),
        }[self]


class ExtensionStatus(enum.StrEnum):
    """The lifecycle of an extension proposal: proposed → agreed | declined | withdrawn."""

    PROPOSED = "proposed"
    AGREED = "agreed"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"

    @property
    def label(self):
        return {
            ExtensionStatus.PROPOSED: _l("Awaiting the other party"),
            ExtensionStatus.AGREED: _l("Agreed"),
            ExtensionStatus.DECLINED: _l("Declined"),
            ExtensionStatus.WITHDRAWN: _l("Withdrawn"),
        }[self]


class Delivery(db.Model):
    """The work under one contract in force, measured against its due date.

    ``original_due_date`` is the contract's; ``due_date`` moves only by agreed extensions and by
    the revision clock rule (see ``services``). ``overdue_since`` is the first day past the due
    date while the agency still held the work (set by the job or by a late submission);
    ``overrun_days`` is fixed at acceptance, in working days.
    """

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id"), unique=True)
    approval_case_id: Mapped[int] = mapped_column(sa.ForeignKey("approval_cases.id"), index=True)
    buyer_org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    agency_org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus, "delivery_status"), default=DeliveryStatus.IN_PROGRESS, index=True
    )
    original_due_date: Mapped[date] = mapped_column(sa.Date)
    due_date: Mapped[date] = mapped_column(sa.Date, index=True)
    # The day a revision was requested while the clock is paused (None: the clock runs).
    paused_since: Mapped[date | None] = mapped_column(sa.Date)
    overdue_since: Mapped[date | None] = mapped_column(sa.Date)
    overrun_days: Mapped[int | None] = mapped_column()
    accepted_version: Mapped[int | None] = mapped_column()
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contract = relationship("Contract")
    approval_case = relationship("ApprovalCase")
    submissions: Mapped[list[DeliverySubmission]] = relationship(
        back_populates="delivery", order_by="DeliverySubmission.version", cascade="all, delete-orphan"
    )
    extensions: Mapped[list[DeliveryExtension]] = relationship(
        back_populates="delivery", order_by="DeliveryExtension.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.CheckConstraint("due_date >= original_due_date", name="due_not_earlier"),
        sa.CheckConstraint("overrun_days IS NULL OR overrun_days >= 0", name="overrun_non_negative"),
        sa.CheckConstraint(
            "status <> 'accepted' OR (accepted_at IS NOT NULL AND accepted_version IS NOT NULL"
            " AND overrun_days IS NOT NULL)",
            name="accepted_has_result",
        ),
        sa.CheckConstraint(
            "paused_since IS NULL OR status = 'revision_requested'", name="paused_only_in_revision"
        ),
    )

    @property
    def latest(self) -> DeliverySubmission | None:
        return self.submissions[-1] if self.submissions else None

    @property
    def audit_label(self) -> str:
        return f"delivery:{self.id} contract={self.contract_id}"

    def __repr__(self) -> str:
        return f"<Delivery {self.id} contract={self.contract_id} {self.status} due={self.due_date}>"


class DeliverySubmission(db.Model):
    """One numbered version of the result (服务成果): a summary and files, and what became of it."""

    __tablename__ = "delivery_submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(sa.ForeignKey("deliveries.id"), index=True)
    version: Mapped[int] = mapped_column()
    summary: Mapped[str] = mapped_column(sa.Text)
    # A person on the site, or an API token acting for the agency (then the user is None).
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    submitted_by_token_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_tokens.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The day in China it arrived: what the due date is compared with.
    submitted_on: Mapped[date] = mapped_column(sa.Date)
    revision_reason: Mapped[str] = mapped_column(sa.Text, default="")
    revision_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revision_requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # Working days added to the due date: while the enterprise reviewed this version, and
    # (when the revision pauses the clock) from its revision request to the next submission.
    review_days_added: Mapped[int] = mapped_column(default=0)
    pause_days_added: Mapped[int] = mapped_column(default=0)
    is_accepted: Mapped[bool] = mapped_column(default=False)

    delivery: Mapped[Delivery] = relationship(back_populates="submissions")
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    submitted_by_token = relationship("ApiToken", foreign_keys=[submitted_by_token_id])
    revision_requested_by: Mapped[User | None] = relationship(foreign_keys=[revision_requested_by_id])
    files: Mapped[list[DeliveryFile]] = relationship(
        back_populates="submission", order_by="DeliveryFile.position", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.UniqueConstraint("delivery_id", "version", name="delivery_version_once"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.CheckConstraint("review_days_added >= 0 AND pause_days_added >= 0", name="days_non_negative"),
        sa.CheckConstraint(
            "revision_requested_at IS NULL OR revision_reason <> ''", name="revision_has_reason"
        ),
        sa.CheckConstraint("submitted_by_id IS NOT NULL OR submitted_by_token_id IS NOT NULL",
                           name="has_submitter"),
    )

    @property
    def audit_label(self) -> str:
        return f"delivery_submission:{self.id} v{self.version}"

    def __repr__(self) -> str:
        return f"<DeliverySubmission delivery={self.delivery_id} v{self.version}>"


class DeliveryFile(db.Model):
    """One file of a submission (the bytes live in ``stored_files``)."""

    __tablename__ = "delivery_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(sa.ForeignKey("delivery_submissions.id"), index=True)
    stored_file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_files.id"), unique=True)
    position: Mapped[int] = mapped_column(default=0)

    submission: Mapped[DeliverySubmission] = relationship(back_populates="files")
    stored: Mapped[StoredFile] = relationship()

    def __repr__(self) -> str:
        return f"<DeliveryFile {self.id} submission={self.submission_id} file={self.stored_file_id}>"


class DeliveryExtension(db.Model):
    """A proposal by one party to move the due date, and the other party's answer."""

    __tablename__ = "delivery_extensions"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(sa.ForeignKey("deliveries.id"), index=True)
    status: Mapped[ExtensionStatus] = mapped_column(
        enum_column(ExtensionStatus, "delivery_extension_status"), default=ExtensionStatus.PROPOSED,
        index=True,
    )
    proposed_by_org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"))
    proposed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    proposed_by_token_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_tokens.id"))
    current_due_date: Mapped[date] = mapped_column(sa.Date)
    proposed_due_date: Mapped[date] = mapped_column(sa.Date)
    reason: Mapped[str] = mapped_column(sa.Text)
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str] = mapped_column(sa.Text, default="")

    delivery: Mapped[Delivery] = relationship(back_populates="extensions")
    proposed_by_org = relationship("Organisation", foreign_keys=[proposed_by_org_id])
    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])
    proposed_by_token = relationship("ApiToken", foreign_keys=[proposed_by_token_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    __table_args__ = (
        sa.CheckConstraint("proposed_due_date > current_due_date", name="later_date"),
        sa.CheckConstraint("proposed_by_id IS NOT NULL OR proposed_by_token_id IS NOT NULL",
                           name="has_proposer"),
        sa.CheckConstraint("reason <> ''", name="has_reason"),
        sa.CheckConstraint(
            "status = 'proposed' OR decided_at IS NOT NULL", name="decided_has_time"
        ),
    )

    @property
    def audit_label(self) -> str:
        return f"delivery_extension:{self.id}"

    def __repr__(self) -> str:
        return f"<DeliveryExtension {self.id} delivery={self.delivery_id} {self.status}>"
