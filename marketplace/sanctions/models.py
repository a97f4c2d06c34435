"""Sanction cases, their evidence and credit-repair requests."""

from __future__ import annotations

import enum
import json
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Organisation, User
from marketplace.core.db import UTCDateTime, enum_column, utcnow
from marketplace.credit.models import REF_ID_MAX, REF_LABEL_MAX, RefType
from marketplace.extensions import db

FACTS_MAX = 4000
TEXT_MAX = 4000
REASON_MAX = 2000
EVIDENCE_NOTE_MAX = 300
MAX_EVIDENCE = 10


class SanctionKind(enum.StrEnum):
    """How heavy a sanction is."""

    WARNING = "warning"  # 警示
    SUSPENSION = "suspension"  # 暂停: no publishing, bidding or award for a period
    BLACKLIST = "blacklist"  # 黑名单 with exit (清退)

    @property
    def label(self):
        return {
            SanctionKind.WARNING: _l("Warning"),
            SanctionKind.SUSPENSION: _l("Suspension from bidding"),
            SanctionKind.BLACKLIST: _l("Blacklist and exit"),
        }[self]

    @property
    def excludes(self) -> bool:
        """Whether the agency may not publish, bid or be awarded while it is in force."""
        return self in EXCLUDING_KINDS

    @property
    def needs_notice(self) -> bool:
        """Whether the agency must be heard (a response period) before the decision."""
        return self is not SanctionKind.WARNING


EXCLUDING_KINDS = (SanctionKind.SUSPENSION, SanctionKind.BLACKLIST)


class SanctionStatus(enum.StrEnum):
    """Where a sanction case stands."""

    PROPOSED = "proposed"
    NOTIFIED = "notified"  # the agency was notified; its response period is open
    DECIDED = "decided"
    WITHDRAWN = "withdrawn"
    APPEALED = "appealed"
    UPHELD = "upheld"
    SHORTENED = "shortened"
    REVOKED = "revoked"

    @property
    def label(self):
        return {
            SanctionStatus.PROPOSED: _l("Proposed"),
            SanctionStatus.NOTIFIED: _l("Notified, response period open"),
            SanctionStatus.DECIDED: _l("Decided"),
            SanctionStatus.WITHDRAWN: _l("Withdrawn"),
            SanctionStatus.APPEALED: _l("Under appeal"),
            SanctionStatus.UPHELD: _l("Upheld on appeal"),
            SanctionStatus.SHORTENED: _l("Shortened on appeal"),
            SanctionStatus.REVOKED: _l("Revoked on appeal"),
        }[self]


# Decided and not revoked: the sanction applies between its start and end dates.
IN_FORCE_STATUSES = (SanctionStatus.DECIDED, SanctionStatus.APPEALED, SanctionStatus.UPHELD,
                     SanctionStatus.SHORTENED)
OPEN_STATUSES = (SanctionStatus.PROPOSED, SanctionStatus.NOTIFIED)
# Shown on a public page: every decision, including one later revoked (the revocation is public too).
PUBLIC_STATUSES = (*IN_FORCE_STATUSES, SanctionStatus.REVOKED)


class RepairStatus(enum.StrEnum):
    """Where a credit-repair request stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"

    @property
    def label(self):
        return {
            RepairStatus.PENDING: _l("Waiting for a regulator"),
            RepairStatus.APPROVED: _l("Approved"),
            RepairStatus.REJECTED: _l("Rejected"),
        }[self]


def _in(statuses) -> str:
    return "(" + ", ".join(f"'{s.value}'" for s in statuses) + ")"


DECIDED_FAMILY = (*IN_FORCE_STATUSES, SanctionStatus.REVOKED)
APPEAL_FAMILY = (SanctionStatus.APPEALED, SanctionStatus.UPHELD, SanctionStatus.SHORTENED,
                 SanctionStatus.REVOKED)
APPEAL_DECIDED = (SanctionStatus.UPHELD, SanctionStatus.SHORTENED, SanctionStatus.REVOKED)


class SanctionCase(db.Model):
    """One sanction against one agency, from proposal to decision, appeal and repair.

    Two people: the regulator who proposed it never decides it (``proposer_id <> decider_id``),
    and an appeal is decided by a third (``appeal_decider_id`` differs from both). A case opened
    by an automatic trigger has no proposer until a regulator takes it up by notifying it.
    Whether it is in force is computed from ``start_date``, ``end_date`` and ``repaired_on``.
    """

    __tablename__ = "sanction_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    kind: Mapped[SanctionKind] = mapped_column(enum_column(SanctionKind, "sanction_kind"))
    ground_code: Mapped[str] = mapped_column(sa.String(40))
    facts: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[SanctionStatus] = mapped_column(
        enum_column(SanctionStatus, "sanction_status"), default=SanctionStatus.PROPOSED, index=True
    )
    proposer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Automatic triggers: which rule, a key making the job idempotent, and the numbers it saw.
    trigger_code: Mapped[str | None] = mapped_column(sa.String(40))
    trigger_key: Mapped[str | None] = mapped_column(sa.String(120), unique=True)
    trigger_params: Mapped[str] = mapped_column(sa.Text, default="{}")
    notified_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_deadline: Mapped[date | None] = mapped_column(sa.Date)
    response_text: Mapped[str | None] = mapped_column(sa.Text)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    responded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decider_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str] = mapped_column(sa.Text, default="")
    start_date: Mapped[date | None] = mapped_column(sa.Date)
    end_date: Mapped[date | None] = mapped_column(sa.Date)  # None: indefinite
    original_end_date: Mapped[date | None] = mapped_column(sa.Date)  # before an appeal shortened it
    withdrawn_reason: Mapped[str] = mapped_column(sa.Text, default="")
    appeal_text: Mapped[str | None] = mapped_column(sa.Text)
    appealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    appealed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    appeal_decider_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    appeal_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    appeal_reason: Mapped[str] = mapped_column(sa.Text, default="")
    repaired_on: Mapped[date | None] = mapped_column(sa.Date)  # left the public list by credit repair
    # A blacklisting's exit (清退) was carried out: listings withdrawn, open bids rejected, the
    # enterprises of open contracts told. Set once, when it first was in force.
    exit_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    organisation: Mapped[Organisation] = relationship()
    proposer: Mapped[User | None] = relationship(foreign_keys=[proposer_id])
    notified_by: Mapped[User | None] = relationship(foreign_keys=[notified_by_id])
    decider: Mapped[User | None] = relationship(foreign_keys=[decider_id])
    appeal_decider: Mapped[User | None] = relationship(foreign_keys=[appeal_decider_id])
    evidence: Mapped[list[SanctionEvidence]] = relationship(
        back_populates="case", order_by="SanctionEvidence.id", cascade="all, delete-orphan"
    )
    repair_requests: Mapped[list[RepairRequest]] = relationship(
        back_populates="case", order_by="RepairRequest.id"
    )

    __table_args__ = (
        sa.CheckConstraint("proposer_id <> decider_id", name="two_person"),
        sa.CheckConstraint(
            "appeal_decider_id <> decider_id AND appeal_decider_id <> proposer_id",
            name="appeal_third_person",
        ),
        sa.CheckConstraint("proposer_id IS NOT NULL OR trigger_code IS NOT NULL", name="proposed_by"),
        sa.CheckConstraint(
            f"status NOT IN {_in(DECIDED_FAMILY)} OR "
            "(decider_id IS NOT NULL AND decided_at IS NOT NULL AND start_date IS NOT NULL)",
            name="decided_data",
        ),
        sa.CheckConstraint(
            f"kind = 'warning' OR status NOT IN {_in(DECIDED_FAMILY)} OR response_deadline IS NOT NULL",
            name="due_process",
        ),
        sa.CheckConstraint(
            "status <> 'notified' OR (response_deadline IS NOT NULL AND notified_at IS NOT NULL)",
            name="notified_data",
        ),
        sa.CheckConstraint("kind <> 'suspension' OR end_date IS NOT NULL", name="suspension_ends"),
        sa.CheckConstraint(
            "end_date IS NULL OR start_date IS NULL OR end_date >= start_date", name="period"
        ),
        sa.CheckConstraint(
            f"status NOT IN {_in(APPEAL_FAMILY)} OR appealed_at IS NOT NULL", name="appeal_data"
        ),
        sa.CheckConstraint(
            f"status NOT IN {_in(APPEAL_DECIDED)} OR "
            "(appeal_decider_id IS NOT NULL AND appeal_decided_at IS NOT NULL)",
            name="appeal_decided_data",
        ),
        sa.CheckConstraint(
            "status <> 'shortened' OR (end_date IS NOT NULL AND "
            "(original_end_date IS NULL OR end_date < original_end_date))",
            name="shortened_data",
        ),
        sa.CheckConstraint(
            f"repaired_on IS NULL OR status IN {_in(IN_FORCE_STATUSES)}", name="repaired_data"
        ),
        sa.Index("ix_sanction_cases_org_status", "organisation_id", "status"),
    )

    @property
    def reference(self) -> str:
        """The public reference of the case, e.g. ``CF000012`` (惩戒)."""
        return f"CF{self.id:06d}"

    @property
    def is_system_proposed(self) -> bool:
        return self.trigger_code is not None

    @property
    def params(self) -> dict:
        try:
            value = json.loads(self.trigger_params or "{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def is_in_force_on(self, day: date) -> bool:
        """Whether the sanction applies on ``day`` (the same rule as ``eligibility``)."""
        return (
            self.status in IN_FORCE_STATUSES and self.start_date is not None
            and self.start_date <= day and (self.end_date is None or day <= self.end_date)
            and (self.repaired_on is None or day < self.repaired_on)
        )

    def is_listed_on(self, day: date) -> bool:
        """Whether the case is on the public list on ``day`` (in force, or decided to start later)."""
        return (
            self.status in IN_FORCE_STATUSES and (self.end_date is None or day <= self.end_date)
            and (self.repaired_on is None or day < self.repaired_on)
        )

    def __repr__(self) -> str:
        return f"<SanctionCase {self.id} org={self.organisation_id} {self.kind} {self.status}>"


class SanctionEvidence(db.Model):
    """What a sanction rests on: a contract, an approval case, a rating or a complaint.

    Resolved when it is entered (``services.resolve_evidence``): ``object_id`` is the primary key
    of the record and ``number`` its public number (contract number, case number, reference);
    contracts and approval cases are also held by a foreign key. Only ``other`` records are free
    text (``object_id`` is then what was typed). Rows older than the resolution keep what was
    typed when the migration could not resolve it (``number`` empty).
    """

    __tablename__ = "sanction_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("sanction_cases.id"), index=True)
    object_type: Mapped[RefType] = mapped_column(enum_column(RefType, "sanction_evidence_type"))
    object_id: Mapped[str] = mapped_column(sa.String(REF_ID_MAX))
    number: Mapped[str] = mapped_column(sa.String(REF_LABEL_MAX), default="", server_default="")
    contract_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contracts.id"), index=True)
    approval_case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("approval_cases.id"), index=True)
    note: Mapped[str] = mapped_column(sa.String(EVIDENCE_NOTE_MAX), default="")

    case: Mapped[SanctionCase] = relationship(back_populates="evidence")

    __table_args__ = (
        sa.Index("ix_sanction_evidence_object", "object_type", "object_id"),
        sa.CheckConstraint("contract_id IS NULL OR object_type = 'contract'", name="contract_ref"),
        sa.CheckConstraint("approval_case_id IS NULL OR object_type = 'approval_case'", name="case_ref"),
    )

    def __repr__(self) -> str:
        return f"<SanctionEvidence {self.object_type}:{self.object_id}>"


class RepairRequest(db.Model):
    """An agency's request for credit repair (信用修复) of a decided sanction."""

    __tablename__ = "sanction_repair_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("sanction_cases.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[RepairStatus] = mapped_column(
        enum_column(RepairStatus, "repair_status"), default=RepairStatus.PENDING, index=True
    )
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str] = mapped_column(sa.Text, default="")

    case: Mapped[SanctionCase] = relationship(back_populates="repair_requests")
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    __table_args__ = (
        # One open request per case at a time, on both databases.
        sa.Index("uq_sanction_repair_requests_pending", "case_id", unique=True,
                 sqlite_where=sa.text("status = 'pending'"),
                 postgresql_where=sa.text("status = 'pending'")),
        sa.CheckConstraint(
            "status = 'pending' OR (decided_by_id IS NOT NULL AND decided_at IS NOT NULL)",
            name="decided_data",
        ),
    )

    def __repr__(self) -> str:
        return f"<RepairRequest {self.id} case={self.case_id} {self.status}>"
