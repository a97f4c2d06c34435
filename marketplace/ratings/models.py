"""Dual evaluation (双向评价): the rating window of a finished contract and its three ratings.

Scores are whole numbers 1–5 per dimension, in their own columns; which dimensions a rating
has depends on who gives it (CHECK constraints tie them to ``role``). ``mean_centi`` is the mean
of its dimensions in hundredths (4.2 is 420), the value the credit ledger receives.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Organisation, User
from marketplace.core.db import UTCDateTime, enum_column, utcnow
from marketplace.extensions import db

COMMENT_MAX = 2000
REPLY_MAX = 2000
HIDE_REASON_MAX = 500


class RatingRole(enum.StrEnum):
    """Who gives a rating, and so about whom and on which dimensions."""

    ENTERPRISE = "enterprise"  # the buyer rates the agency
    APPROVAL_OFFICE = "approval_office"  # the approval officer rates the result for the case
    AGENCY = "agency"  # the agency rates the buyer

    @property
    def label(self):
        return {
            RatingRole.ENTERPRISE: _l("Enterprise rating of the agency"),
            RatingRole.APPROVAL_OFFICE: _l("Approval department rating of the result"),
            RatingRole.AGENCY: _l("Agency rating of the enterprise"),
        }[self]

    @property
    def dimensions(self) -> tuple[str, ...]:
        """The score columns this role fills, in display order."""
        return DIMENSIONS[self]

    @property
    def about_agency(self) -> bool:
        """Whether the rating is about the agency (and feeds its credit)."""
        return self is not RatingRole.AGENCY


DIMENSIONS = {
    RatingRole.ENTERPRISE: ("quality", "timeliness", "attitude", "fees", "conduct"),
    RatingRole.APPROVAL_OFFICE: ("quality", "conformity", "timeliness"),
    RatingRole.AGENCY: ("cooperation", "payment", "conduct"),
}
ALL_DIMENSIONS = ("quality", "timeliness", "attitude", "fees", "conduct", "conformity",
                  "cooperation", "payment")


def dimension_label(name: str):
    """The translated name of a score dimension."""
    return {
        "quality": _l("Service quality"),
        "timeliness": _l("Timeliness"),
        "attitude": _l("Attitude"),
        "fees": _l("Fees"),
        "conduct": _l("Conduct"),
        "conformity": _l("Conformity"),
        "cooperation": _l("Cooperation"),
        "payment": _l("Payment"),
    }[name]


class RatingStatus(enum.StrEnum):
    """A rating is sealed (blind) until it is revealed."""

    SUBMITTED = "submitted"
    REVEALED = "revealed"

    @property
    def label(self):
        return {
            RatingStatus.SUBMITTED: _l("Submitted, not yet shown"),
            RatingStatus.REVEALED: _l("Public"),
        }[self]


def _role_check(role: RatingRole) -> str:
    dims = DIMENSIONS[role]
    filled = " AND ".join(f"{d} IS NOT NULL" for d in dims)
    empty = " AND ".join(f"{d} IS NULL" for d in ALL_DIMENSIONS if d not in dims)
    return f"role <> '{role.value}' OR ({filled} AND {empty})"


class RatingWindow(db.Model):
    """The rating period of one finished contract: opened when it finished, closes N days later.

    ``revealed_at`` is set once, when both sides have rated or the window closed; from then on
    every rating of the contract is public (one given later is public at once).
    """

    __tablename__ = "rating_windows"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id"), unique=True)
    buyer_org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    agency_org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    approval_case_id: Mapped[int] = mapped_column(sa.ForeignKey("approval_cases.id"), index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped by every rating: serialises the two sides' submissions of one contract, so the
    # second one always sees the first and reveals both.
    lock_seq: Mapped[int] = mapped_column(default=0)

    contract = relationship("Contract")
    approval_case = relationship("ApprovalCase")
    ratings: Mapped[list[Rating]] = relationship(back_populates="window", order_by="Rating.id")

    __table_args__ = (sa.CheckConstraint("closes_at > opened_at", name="closes_after_opening"),)

    @property
    def audit_label(self) -> str:
        return f"rating_window:{self.id} contract={self.contract_id}"

    def __repr__(self) -> str:
        state = "revealed" if self.revealed_at else "blind"
        return f"<RatingWindow {self.id} contract={self.contract_id} {state}>"


class Rating(db.Model):
    """One party's rating of the other for one contract; given once, never edited."""

    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    window_id: Mapped[int] = mapped_column(sa.ForeignKey("rating_windows.id"), index=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id"), index=True)
    approval_case_id: Mapped[int] = mapped_column(sa.ForeignKey("approval_cases.id"), index=True)
    role: Mapped[RatingRole] = mapped_column(enum_column(RatingRole, "rating_role"))
    status: Mapped[RatingStatus] = mapped_column(
        enum_column(RatingStatus, "rating_status"), default=RatingStatus.SUBMITTED, index=True
    )
    author_org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    subject_org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    quality: Mapped[int | None] = mapped_column(sa.SmallInteger)
    timeliness: Mapped[int | None] = mapped_column(sa.SmallInteger)
    attitude: Mapped[int | None] = mapped_column(sa.SmallInteger)
    fees: Mapped[int | None] = mapped_column(sa.SmallInteger)
    conduct: Mapped[int | None] = mapped_column(sa.SmallInteger)
    conformity: Mapped[int | None] = mapped_column(sa.SmallInteger)
    cooperation: Mapped[int | None] = mapped_column(sa.SmallInteger)
    payment: Mapped[int | None] = mapped_column(sa.SmallInteger)
    mean_centi: Mapped[int] = mapped_column()
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    credit_input_id: Mapped[int | None] = mapped_column(sa.ForeignKey("credit_inputs.id"))
    # Moderation: a regulator may hide the comment (never the scores), with a reason.
    comment_hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    comment_hidden_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    comment_hidden_reason: Mapped[str] = mapped_column(sa.Text, default="")
    # One public reply by the rated party, after the reveal.
    reply: Mapped[str | None] = mapped_column(sa.Text)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replied_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # Moderation of the reply, as of the comment: hidden with a reason, the text kept on file.
    reply_hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reply_hidden_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reply_hidden_reason: Mapped[str] = mapped_column(sa.Text, default="")

    window: Mapped[RatingWindow] = relationship(back_populates="ratings")
    contract = relationship("Contract")
    approval_case = relationship("ApprovalCase")
    author_org: Mapped[Organisation] = relationship(foreign_keys=[author_org_id])
    subject_org: Mapped[Organisation] = relationship(foreign_keys=[subject_org_id])
    author: Mapped[User] = relationship(foreign_keys=[author_id])

    __table_args__ = (
        # Each of the three ratings once per contract; two simultaneous submissions keep one.
        sa.UniqueConstraint("contract_id", "role", name="once_per_role"),
        *(sa.CheckConstraint(f"{d} IS NULL OR {d} BETWEEN 1 AND 5", name=f"{d}_range")
          for d in ALL_DIMENSIONS),
        *(sa.CheckConstraint(_role_check(r), name=f"{r.value}_dimensions") for r in RatingRole),
        sa.CheckConstraint("mean_centi BETWEEN 100 AND 500", name="mean_range"),
        sa.CheckConstraint("status <> 'revealed' OR revealed_at IS NOT NULL", name="revealed_data"),
        sa.CheckConstraint("reply IS NULL OR replied_at IS NOT NULL", name="reply_data"),
        sa.CheckConstraint(
            "comment_hidden_at IS NULL OR comment_hidden_reason <> ''", name="hidden_has_reason"
        ),
        sa.CheckConstraint(
            "reply_hidden_at IS NULL OR (reply IS NOT NULL AND reply_hidden_reason <> '')",
            name="reply_hidden_has_reason",
        ),
    )

    @property
    def mean(self):
        """The mean of the dimensions on the 1–5 scale (Decimal, two places)."""
        from decimal import Decimal

        return Decimal(self.mean_centi) / 100

    @property
    def scores(self) -> list[tuple[str, int]]:
        """(dimension, score) pairs in display order."""
        return [(d, getattr(self, d)) for d in self.role.dimensions]

    @property
    def is_revealed(self) -> bool:
        return self.status is RatingStatus.REVEALED

    @property
    def is_comment_hidden(self) -> bool:
        return self.comment_hidden_at is not None

    @property
    def is_reply_hidden(self) -> bool:
        return self.reply_hidden_at is not None

    @property
    def audit_label(self) -> str:
        return f"rating:{self.id} contract={self.contract_id} {self.role}"

    def __repr__(self) -> str:
        return f"<Rating {self.id} contract={self.contract_id} {self.role} {self.status}>"
