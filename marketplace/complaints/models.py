"""Objections (质疑) against an award, complaints (投诉) before a regulator, their evidence, routes."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Organisation, User
from marketplace.catalog.models import ServiceItem
from marketplace.core.db import UTCDateTime, enum_column, utcnow
from marketplace.core.uploads import StoredFile
from marketplace.extensions import db
from marketplace.procurement.models import PurchaseRequest

TEXT_MAX = 4000
REASON_MAX = 2000
MAX_FILES = 5


def _in(statuses) -> str:
    return "(" + ", ".join(f"'{s.value}'" for s in statuses) + ")"


# --- objections ------------------------------------------------------------------------------


class ObjectionStatus(enum.StrEnum):
    """Where an objection to an award stands."""

    DRAFT = "draft"
    SUBMITTED = "submitted"  # waiting for the enterprise's answer
    ANSWERED = "answered"  # the objector accepts it or escalates
    RESOLVED = "resolved"
    ESCALATED = "escalated"  # a complaint before the regulator took over

    @property
    def label(self):
        return {
            ObjectionStatus.DRAFT: _l("Draft"),
            ObjectionStatus.SUBMITTED: _l("Waiting for the enterprise's answer"),
            ObjectionStatus.ANSWERED: _l("Answered"),
            ObjectionStatus.RESOLVED: _l("Resolved"),
            ObjectionStatus.ESCALATED: _l("Escalated to a complaint"),
        }[self]

    @property
    def badge(self) -> str:
        return {ObjectionStatus.SUBMITTED: "warning", ObjectionStatus.ANSWERED: "info",
                ObjectionStatus.RESOLVED: "success", ObjectionStatus.ESCALATED: "danger"}.get(self, "secondary")


# An objection in these states holds the award back (together with an open complaint).
OPEN_OBJECTION_STATUSES = (ObjectionStatus.SUBMITTED, ObjectionStatus.ANSWERED)
LIVE_OBJECTION_STATUSES = (ObjectionStatus.DRAFT, *OPEN_OBJECTION_STATUSES)


class Objection(db.Model):
    """A bidder's objection (质疑) to the award of one request, and the enterprise's answer.

    ``award_org_id`` is the winner the objection was filed against: the award may pass on later,
    and the record keeps what was contested.
    """

    __tablename__ = "objections"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("purchase_requests.id"), index=True)
    objector_org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    award_org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"))
    grounds: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[ObjectionStatus] = mapped_column(
        enum_column(ObjectionStatus, "objection_status"), default=ObjectionStatus.DRAFT, index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    answer_text: Mapped[str] = mapped_column(sa.Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # After the answer (or a missed answer deadline) the objector may escalate until then.
    escalation_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closing_note: Mapped[str] = mapped_column(sa.Text, default="")

    request: Mapped[PurchaseRequest] = relationship()
    objector: Mapped[Organisation] = relationship(foreign_keys=[objector_org_id])
    award_org: Mapped[Organisation] = relationship(foreign_keys=[award_org_id])
    evidence: Mapped[list[Evidence]] = relationship(
        back_populates="objection", order_by="Evidence.id", foreign_keys="Evidence.objection_id"
    )
    complaint: Mapped[Complaint | None] = relationship(back_populates="objection", uselist=False)

    __table_args__ = (
        # One live objection per bidder and request (a double click files one).
        sa.Index("uq_objections_live", "request_id", "objector_org_id", unique=True,
                 sqlite_where=sa.text(f"status IN {_in(LIVE_OBJECTION_STATUSES)}"),
                 postgresql_where=sa.text(f"status IN {_in(LIVE_OBJECTION_STATUSES)}")),
        sa.CheckConstraint(
            "status = 'draft' OR (submitted_at IS NOT NULL AND answer_deadline IS NOT NULL)",
            name="submitted_data",
        ),
        sa.CheckConstraint(
            "status <> 'answered' OR (answered_at IS NOT NULL AND answer_text <> ''"
            " AND escalation_deadline IS NOT NULL)",
            name="answered_data",
        ),
        sa.CheckConstraint("objector_org_id <> award_org_id", name="not_the_winner"),
    )

    @property
    def reference(self) -> str:
        """The public number of the objection, e.g. ``ZY000012`` (质疑)."""
        return f"ZY{self.id:06d}"

    @property
    def audit_label(self) -> str:
        return f"objection:{self.id}"

    def __repr__(self) -> str:
        return f"<Objection {self.id} request={self.request_id} org={self.objector_org_id} {self.status}>"


# --- complaints ------------------------------------------------------------------------------


class ComplaintKind(enum.StrEnum):
    """What a complaint is about."""

    OBJECTION = "objection"  # an escalated objection to a procurement result
    SERVICE = "service"  # an agency's conduct on a contract

    @property
    def label(self):
        return {
            ComplaintKind.OBJECTION: _l("Complaint about a procurement result"),
            ComplaintKind.SERVICE: _l("Complaint about an agency's service"),
        }[self]


class ComplaintCategory(enum.StrEnum):
    """The kind of conduct complained of."""

    PROCUREMENT = "procurement"  # the award or its procedure
    OVERCHARGING = "overcharging"  # charged beyond the fee commitment
    LATENESS = "lateness"
    POOR_WORK = "poor_work"
    DESIGNATED_AGENCY = "designated_agency"  # 指定中介
    OTHER = "other"

    @property
    def label(self):
        return {
            ComplaintCategory.PROCUREMENT: _l("The award or its procedure"),
            ComplaintCategory.OVERCHARGING: _l("Charging more than the fee commitment"),
            ComplaintCategory.LATENESS: _l("Late beyond the committed time"),
            ComplaintCategory.POOR_WORK: _l("Poor work"),
            ComplaintCategory.DESIGNATED_AGENCY: _l("Being made to use a designated agency"),
            ComplaintCategory.OTHER: _l("Other conduct"),
        }[self]


SERVICE_CATEGORIES = (ComplaintCategory.OVERCHARGING, ComplaintCategory.LATENESS,
                      ComplaintCategory.POOR_WORK, ComplaintCategory.DESIGNATED_AGENCY,
                      ComplaintCategory.OTHER)


class ComplaintStatus(enum.StrEnum):
    """Where a complaint before the regulator stands."""

    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"  # not accepted for handling, with a reason
    UPHELD = "upheld"
    DISMISSED = "dismissed"
    WITHDRAWN = "withdrawn"

    @property
    def label(self):
        return {
            ComplaintStatus.SUBMITTED: _l("Waiting for acceptance"),
            ComplaintStatus.ACCEPTED: _l("Accepted, under review"),
            ComplaintStatus.REJECTED: _l("Not accepted"),
            ComplaintStatus.UPHELD: _l("Upheld"),
            ComplaintStatus.DISMISSED: _l("Dismissed"),
            ComplaintStatus.WITHDRAWN: _l("Withdrawn"),
        }[self]

    @property
    def badge(self) -> str:
        return {ComplaintStatus.SUBMITTED: "warning", ComplaintStatus.ACCEPTED: "info",
                ComplaintStatus.UPHELD: "danger", ComplaintStatus.DISMISSED: "success"}.get(self, "secondary")


OPEN_COMPLAINT_STATUSES = (ComplaintStatus.SUBMITTED, ComplaintStatus.ACCEPTED)
DECIDED_STATUSES = (ComplaintStatus.UPHELD, ComplaintStatus.DISMISSED)


class UpheldAgainst(enum.StrEnum):
    """Whose fault an upheld complaint finds."""

    AGENCY = "agency"
    ENTERPRISE = "enterprise"

    @property
    def label(self):
        return {UpheldAgainst.AGENCY: _l("The agency"), UpheldAgainst.ENTERPRISE: _l("The enterprise")}[self]


class Remedy(enum.StrEnum):
    """What an upheld complaint about an award does to it."""

    NONE = "none"  # the award stands (e.g. a fault that did not change the result)
    NEXT_BIDDER = "next_bidder"  # the award passes to the next valid bid (or the request fails)
    NEW_ROUND = "new_round"  # the request is cancelled; the enterprise procures anew

    @property
    def label(self):
        return {
            Remedy.NONE: _l("The award stands"),
            Remedy.NEXT_BIDDER: _l("The award is cancelled and passes to the next-ranked bidder"),
            Remedy.NEW_ROUND: _l("The award is cancelled and the procurement starts again"),
        }[self]


class Complaint(db.Model):
    """A complaint (投诉) before a regulator: an escalated objection or a service complaint.

    ``agency_org_id`` is the agency concerned (the contested winner, or the agency whose service
    is complained of); ``enterprise_org_id`` the purchaser of the request. ``regulator_org_id``
    is the department the complaint is routed to (None: any regulator).
    """

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ComplaintKind] = mapped_column(enum_column(ComplaintKind, "complaint_kind"), index=True)
    category: Mapped[ComplaintCategory] = mapped_column(enum_column(ComplaintCategory, "complaint_category"))
    objection_id: Mapped[int | None] = mapped_column(sa.ForeignKey("objections.id"), unique=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("purchase_requests.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contracts.id"), index=True)
    complainant_org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    agency_org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    enterprise_org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    regulator_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    grounds: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[ComplaintStatus] = mapped_column(
        enum_column(ComplaintStatus, "complaint_status"), default=ComplaintStatus.SUBMITTED, index=True
    )
    filed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acceptance_deadline: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decision_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    rejection_reason: Mapped[str] = mapped_column(sa.Text, default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decision_text: Mapped[str] = mapped_column(sa.Text, default="")
    upheld_against: Mapped[UpheldAgainst | None] = mapped_column(enum_column(UpheldAgainst, "complaint_upheld_against"))
    remedy: Mapped[Remedy | None] = mapped_column(enum_column(Remedy, "complaint_remedy"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawal_reason: Mapped[str] = mapped_column(sa.Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    objection: Mapped[Objection | None] = relationship(back_populates="complaint")
    request: Mapped[PurchaseRequest] = relationship()
    complainant: Mapped[Organisation] = relationship(foreign_keys=[complainant_org_id])
    agency: Mapped[Organisation] = relationship(foreign_keys=[agency_org_id])
    enterprise: Mapped[Organisation] = relationship(foreign_keys=[enterprise_org_id])
    regulator: Mapped[Organisation | None] = relationship(foreign_keys=[regulator_org_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    evidence: Mapped[list[Evidence]] = relationship(
        back_populates="complaint", order_by="Evidence.id", foreign_keys="Evidence.complaint_id"
    )

    __table_args__ = (
        sa.CheckConstraint("kind <> 'objection' OR objection_id IS NOT NULL", name="objection_linked"),
        sa.CheckConstraint(
            "(kind = 'objection' AND category = 'procurement') OR (kind = 'service' AND category <> 'procurement')",
            name="category_fits",
        ),
        sa.CheckConstraint("status <> 'rejected' OR rejection_reason <> ''", name="rejected_has_reason"),
        sa.CheckConstraint(
            "status NOT IN ('accepted', 'upheld', 'dismissed') OR "
            "(accepted_at IS NOT NULL AND decision_deadline IS NOT NULL)",
            name="accepted_data",
        ),
        sa.CheckConstraint(
            "status NOT IN ('upheld', 'dismissed') OR (decided_at IS NOT NULL AND decision_text <> '')",
            name="decided_data",
        ),
        sa.CheckConstraint("status <> 'upheld' OR upheld_against IS NOT NULL", name="upheld_data"),
        sa.CheckConstraint("status <> 'withdrawn' OR withdrawn_at IS NOT NULL", name="withdrawn_data"),
        # One open service complaint per complainant and request (a double click files one).
        sa.Index("uq_complaints_open_service", "request_id", "complainant_org_id", unique=True,
                 sqlite_where=sa.text(f"kind = 'service' AND status IN {_in(OPEN_COMPLAINT_STATUSES)}"),
                 postgresql_where=sa.text(f"kind = 'service' AND status IN {_in(OPEN_COMPLAINT_STATUSES)}")),
    )

    @property
    def reference(self) -> str:
        """The public number of the complaint, e.g. ``TS000012`` (投诉)."""
        return f"TS{self.id:06d}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_COMPLAINT_STATUSES

    @property
    def current_deadline(self) -> datetime | None:
        """The deadline the regulator works against now (acceptance, then decision)."""
        if self.status is ComplaintStatus.SUBMITTED:
            return self.acceptance_deadline
        if self.status is ComplaintStatus.ACCEPTED:
            return self.decision_deadline
        return None

    def is_overdue(self, now: datetime) -> bool:
        """Whether the regulator is late with acceptance or the decision."""
        deadline = self.current_deadline
        return deadline is not None and now > deadline

    @property
    def audit_label(self) -> str:
        return f"complaint:{self.id}"

    def __repr__(self) -> str:
        return f"<Complaint {self.id} {self.kind} request={self.request_id} {self.status}>"


class Evidence(db.Model):
    """A file attached to an objection, its answer, or a complaint (the bytes in ``stored_files``)."""

    __tablename__ = "complaint_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    objection_id: Mapped[int | None] = mapped_column(sa.ForeignKey("objections.id"), index=True)
    complaint_id: Mapped[int | None] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    stored_file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_files.id"), unique=True)
    party_org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    objection: Mapped[Objection | None] = relationship(back_populates="evidence", foreign_keys=[objection_id])
    complaint: Mapped[Complaint | None] = relationship(back_populates="evidence", foreign_keys=[complaint_id])
    stored: Mapped[StoredFile] = relationship()
    party: Mapped[Organisation] = relationship()

    __table_args__ = (
        sa.CheckConstraint("(objection_id IS NULL) <> (complaint_id IS NULL)", name="one_owner"),
    )

    def __repr__(self) -> str:
        return f"<Evidence {self.id} file={self.stored_file_id}>"


class ComplaintRoute(db.Model):
    """Which regulator department handles complaints about one service item."""

    __tablename__ = "complaint_routes"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_item_id: Mapped[int] = mapped_column(sa.ForeignKey("service_items.id"), unique=True)
    regulator_org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    service_item: Mapped[ServiceItem] = relationship()
    regulator: Mapped[Organisation] = relationship()

    def __repr__(self) -> str:
        return f"<ComplaintRoute item={self.service_item_id} org={self.regulator_org_id}>"
