"""The credit ledger (append-only), its references, per-agency running scores and their history.

Numbers are integers in fixed point so that both databases add them exactly:
ratings and weights in hundredths (a rating of 4.2 is 420, a weight of 1 is 100), scores in
hundredths of a point (82.35 is 8235).
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import UTCDateTime, enum_column, utcnow
from marketplace.extensions import db

NOTE_MAX = 300
REF_ID_MAX = 40
REF_LABEL_MAX = 200
MAX_REFS = 10
CENTI = 100  # fixed-point unit of ratings, weights and scores
MAX_WEIGHT_CENTI = 10_000
MAX_OVERRUN_DAYS = 3650


class CreditInputKind(enum.StrEnum):
    """What a ledger entry measures."""

    RATING_ENTERPRISE = "rating_enterprise"
    RATING_APPROVAL_OFFICE = "rating_approval_office"
    OVERRUN_DAYS = "overrun_days"
    COMPLAINT_UPHELD = "complaint_upheld"
    SIGNING_REFUSAL = "signing_refusal"
    SANCTION = "sanction"

    @property
    def label(self):
        return {
            CreditInputKind.RATING_ENTERPRISE: _l("Rating by the enterprise"),
            CreditInputKind.RATING_APPROVAL_OFFICE: _l("Rating by the approval office"),
            CreditInputKind.OVERRUN_DAYS: _l("Overrun of the committed time"),
            CreditInputKind.COMPLAINT_UPHELD: _l("Complaint upheld"),
            CreditInputKind.SIGNING_REFUSAL: _l("Refusal to sign a contract"),
            CreditInputKind.SANCTION: _l("Sanction decided"),
        }[self]

    @property
    def is_rating(self) -> bool:
        return self in RATING_KINDS


RATING_KINDS = frozenset({CreditInputKind.RATING_ENTERPRISE, CreditInputKind.RATING_APPROVAL_OFFICE})
COUNTED_KINDS = frozenset(
    {CreditInputKind.COMPLAINT_UPHELD, CreditInputKind.SIGNING_REFUSAL, CreditInputKind.SANCTION}
)


class InputEffect(enum.StrEnum):
    """Whether an entry adds to the score or cancels an earlier entry."""

    ADD = "add"
    EXPIRY = "expiry"  # the earlier entry left the decay window
    REVERSAL = "reversal"  # the earlier entry was undone (e.g. a sanction revoked on appeal)

    @property
    def label(self):
        return {
            InputEffect.ADD: _l("Added"),
            InputEffect.EXPIRY: _l("Expired (left the decay window)"),
            InputEffect.REVERSAL: _l("Reversed"),
        }[self]

    @property
    def sign(self) -> int:
        return 1 if self is InputEffect.ADD else -1


class SanctionLevel(enum.StrEnum):
    """How heavy a sanction is, as far as credit is concerned."""

    WARNING = "warning"
    SUSPENSION = "suspension"
    BLACKLIST = "blacklist"

    @property
    def label(self):
        return {
            SanctionLevel.WARNING: _l("Warning"),
            SanctionLevel.SUSPENSION: _l("Suspension"),
            SanctionLevel.BLACKLIST: _l("Blacklisting"),
        }[self]


class RefType(enum.StrEnum):
    """The kind of object a credit input or a piece of evidence refers to."""

    CONTRACT = "contract"
    APPROVAL_CASE = "approval_case"
    PURCHASE_REQUEST = "purchase_request"
    DELIVERY = "delivery"
    RATING = "rating"
    COMPLAINT = "complaint"
    SANCTION = "sanction"
    OTHER = "other"

    @property
    def label(self):
        return {
            RefType.CONTRACT: _l("Contract"),
            RefType.APPROVAL_CASE: _l("Approval case"),
            RefType.PURCHASE_REQUEST: _l("Purchase request"),
            RefType.DELIVERY: _l("Delivery"),
            RefType.RATING: _l("Rating"),
            RefType.COMPLAINT: _l("Complaint"),
            RefType.SANCTION: _l("Sanction"),
            RefType.OTHER: _l("Other record"),
        }[self]


class HistoryReason(enum.StrEnum):
    """Why a score changed."""

    INPUT = "input"
    FORMULA = "formula"
    RECOMPUTE = "recompute"

    @property
    def label(self):
        return {
            HistoryReason.INPUT: _l("New input"),
            HistoryReason.FORMULA: _l("New formula version"),
            HistoryReason.RECOMPUTE: _l("Recomputed from the ledger"),
        }[self]


class CreditInput(db.Model):
    """One fact that counts for an agency's credit. Append-only: never updated, never deleted.

    ``value`` is the rating in hundredths (100–500) for ratings, the working days for an overrun,
    and 1 for counted events. An entry with ``effect`` expiry or reversal cancels ``cancels_id``
    (at most once: the column is unique).
    """

    __tablename__ = "credit_inputs"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    kind: Mapped[CreditInputKind] = mapped_column(enum_column(CreditInputKind, "credit_input_kind"))
    effect: Mapped[InputEffect] = mapped_column(
        enum_column(InputEffect, "credit_input_effect"), default=InputEffect.ADD
    )
    value: Mapped[int] = mapped_column()
    weight: Mapped[int] = mapped_column(default=CENTI)
    level: Mapped[SanctionLevel | None] = mapped_column(enum_column(SanctionLevel, "credit_sanction_level"))
    cancels_id: Mapped[int | None] = mapped_column(sa.ForeignKey("credit_inputs.id"), unique=True)
    note: Mapped[str] = mapped_column(sa.String(NOTE_MAX), default="")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    refs: Mapped[list[CreditInputRef]] = relationship(
        back_populates="credit_input", order_by="CreditInputRef.id", cascade="save-update, merge"
    )
    cancels: Mapped[CreditInput | None] = relationship(remote_side=[id], foreign_keys=[cancels_id])

    __table_args__ = (
        sa.CheckConstraint(
            "(effect = 'add' AND cancels_id IS NULL) OR (effect <> 'add' AND cancels_id IS NOT NULL)",
            name="cancel_ref",
        ),
        sa.CheckConstraint(
            "kind NOT IN ('rating_enterprise', 'rating_approval_office') OR value BETWEEN 100 AND 500",
            name="rating_range",
        ),
        sa.CheckConstraint(
            f"kind <> 'overrun_days' OR value BETWEEN 1 AND {MAX_OVERRUN_DAYS}", name="overrun_range"
        ),
        sa.CheckConstraint(
            "kind NOT IN ('complaint_upheld', 'signing_refusal', 'sanction') OR value = 1",
            name="counted_value",
        ),
        sa.CheckConstraint(f"weight BETWEEN 1 AND {MAX_WEIGHT_CENTI}", name="weight_range"),
        sa.CheckConstraint(
            "(kind = 'sanction' AND level IS NOT NULL) OR (kind <> 'sanction' AND level IS NULL)",
            name="sanction_level",
        ),
        sa.Index("ix_credit_inputs_org_kind", "organisation_id", "kind", "occurred_at"),
        # An agency's newest entries ("why this score"): an index walk of the page, however long the ledger.
        sa.Index("ix_credit_inputs_org_occurred", "organisation_id", "occurred_at", "id"),
    )

    @property
    def sign(self) -> int:
        return self.effect.sign

    @property
    def rating(self):
        """The rating on the 1–5 scale (Decimal), for rating entries."""
        from decimal import Decimal

        return Decimal(self.value) / CENTI if self.kind.is_rating else None

    def __repr__(self) -> str:
        return f"<CreditInput {self.id} org={self.organisation_id} {self.kind} {self.effect} {self.value}>"


@sa.event.listens_for(CreditInput, "before_update")
def _ledger_is_append_only(mapper, connection, target):
    raise RuntimeError("credit_inputs is append-only: record a reversal instead of changing an entry")


@sa.event.listens_for(CreditInput, "before_delete")
def _ledger_rows_are_never_deleted(mapper, connection, target):
    raise RuntimeError("credit_inputs is append-only: record a reversal instead of deleting an entry")


class CreditInputRef(db.Model):
    """Where a credit input arose: a contract, an approval case, a rating, a complaint, a sanction.

    Plain references (type + id): the referenced tables belong to other domains.
    """

    __tablename__ = "credit_input_refs"

    id: Mapped[int] = mapped_column(primary_key=True)
    input_id: Mapped[int] = mapped_column(sa.ForeignKey("credit_inputs.id"), index=True)
    object_type: Mapped[RefType] = mapped_column(enum_column(RefType, "credit_ref_type"))
    object_id: Mapped[str] = mapped_column(sa.String(REF_ID_MAX))
    label: Mapped[str] = mapped_column(sa.String(REF_LABEL_MAX), default="")

    credit_input: Mapped[CreditInput] = relationship(back_populates="refs")

    __table_args__ = (sa.Index("ix_credit_input_refs_object", "object_type", "object_id"),)

    def __repr__(self) -> str:
        return f"<CreditInputRef {self.object_type}:{self.object_id}>"


class CreditScore(db.Model):
    """An agency's running aggregates and the score they give under the formula in force.

    Updated in the transaction of each input by a conditional UPDATE on ``version`` (see
    ``services.apply_input``); ``flask credit recompute --check`` folds the ledger again and
    compares. The aggregates do not depend on the formula, so a new formula version re-scores
    from them without reading the ledger.
    """

    __tablename__ = "credit_scores"

    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), primary_key=True)
    version: Mapped[int] = mapped_column(default=0)
    rating_count: Mapped[int] = mapped_column(default=0)
    # Σ weight (hundredths) and Σ weight × rating (ten-thousandths) of each kind of rating.
    enterprise_weight: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    enterprise_sum: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    office_weight: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    office_sum: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    overrun_days: Mapped[int] = mapped_column(default=0)
    complaints: Mapped[int] = mapped_column(default=0)
    refusals: Mapped[int] = mapped_column(default=0)
    warnings: Mapped[int] = mapped_column(default=0)
    suspensions: Mapped[int] = mapped_column(default=0)
    blacklistings: Mapped[int] = mapped_column(default=0)
    entries: Mapped[int] = mapped_column(default=0)
    score_centi: Mapped[int] = mapped_column(default=0, index=True)
    grade: Mapped[str] = mapped_column(sa.String(1), default="C")
    formula_version: Mapped[int] = mapped_column(default=1)
    last_input_id: Mapped[int | None] = mapped_column(sa.ForeignKey("credit_inputs.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("score_centi BETWEEN 0 AND 10000", name="score_range"),
        sa.CheckConstraint("grade IN ('A', 'B', 'C', 'D')", name="grade_known"),
    )

    @property
    def score(self) -> float:
        return self.score_centi / CENTI

    def __repr__(self) -> str:
        return f"<CreditScore org={self.organisation_id} {self.score_centi / CENTI} {self.grade} v{self.version}>"


class CreditScoreHistory(db.Model):
    """One change of an agency's score or grade, with what caused it."""

    __tablename__ = "credit_score_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"))
    score_centi: Mapped[int] = mapped_column()
    grade: Mapped[str] = mapped_column(sa.String(1))
    previous_score_centi: Mapped[int | None] = mapped_column()
    previous_grade: Mapped[str | None] = mapped_column(sa.String(1))
    formula_version: Mapped[int] = mapped_column()
    reason: Mapped[HistoryReason] = mapped_column(enum_column(HistoryReason, "credit_history_reason"))
    input_id: Mapped[int | None] = mapped_column(sa.ForeignKey("credit_inputs.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("score_centi BETWEEN 0 AND 10000", name="score_range"),
        sa.CheckConstraint(
            "(reason = 'input' AND input_id IS NOT NULL) OR (reason <> 'input' AND input_id IS NULL)",
            name="input_reason",
        ),
        # An agency's newest changes and its grade streaks: read by id within the agency.
        sa.Index("ix_credit_score_history_org_id", "organisation_id", "id"),
    )

    @property
    def score(self) -> float:
        return self.score_centi / CENTI

    def __repr__(self) -> str:
        return f"<CreditScoreHistory {self.id} org={self.organisation_id} {self.score_centi} {self.grade}>"
