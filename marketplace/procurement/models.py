"""Approval cases, purchase requests (announcements), exclusions and sealed bids."""

from __future__ import annotations

import enum
import json
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Organisation
from marketplace.catalog.models import ApprovalItem, QualificationType, ServiceItem
from marketplace.core.db import UTCDateTime, enum_column, utcnow
from marketplace.extensions import db

CASE_NUMBER_MAX = 60
PROJECT_CODE_MAX = 24
PROJECT_NAME_MAX = 200
TITLE_MAX = 200
CONTENT_MAX = 20_000
SCALE_MAX = 200
PERSON_MAX = 100
PHONE_MAX = 40
REASON_MAX = 2000
MAX_BID_DAYS = 3650


# --- approval cases -------------------------------------------------------------------------


class CaseStatus(enum.StrEnum):
    """Where an approval case stands at the approving department."""

    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"

    @property
    def label(self):
        return {
            CaseStatus.OPEN: _l("In progress"),
            CaseStatus.APPROVED: _l("Approved"),
            CaseStatus.REJECTED: _l("Not approved"),
            CaseStatus.WITHDRAWN: _l("Withdrawn"),
        }[self]


approval_case_service_items = sa.Table(
    "approval_case_service_items",
    db.metadata,
    sa.Column("approval_case_id", sa.ForeignKey("approval_cases.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("service_item_id", sa.ForeignKey("service_items.id"), primary_key=True, index=True),
)


class ApprovalCase(db.Model):
    """One approval case (审批案件) of an enterprise at a department, and the services it needs."""

    __tablename__ = "approval_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_number: Mapped[str] = mapped_column(sa.String(CASE_NUMBER_MAX), unique=True)
    approval_item_id: Mapped[int] = mapped_column(sa.ForeignKey("approval_items.id"), index=True)
    applicant_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    project_code: Mapped[str | None] = mapped_column(sa.String(PROJECT_CODE_MAX), index=True)
    project_name: Mapped[str] = mapped_column(sa.String(PROJECT_NAME_MAX))
    status: Mapped[CaseStatus] = mapped_column(
        enum_column(CaseStatus, "approval_case_status"), default=CaseStatus.OPEN, index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    approval_item: Mapped[ApprovalItem] = relationship()
    applicant: Mapped[Organisation] = relationship(foreign_keys=[applicant_id])
    department: Mapped[Organisation] = relationship(foreign_keys=[department_id])
    service_items: Mapped[list[ServiceItem]] = relationship(
        secondary=approval_case_service_items, order_by="ServiceItem.code"
    )
    requests: Mapped[list[PurchaseRequest]] = relationship(
        back_populates="approval_case", order_by="PurchaseRequest.id"
    )

    __table_args__ = (sa.CheckConstraint("applicant_id <> department_id", name="distinct_parties"),)

    @property
    def audit_label(self) -> str:
        return f"approval_case:{self.id} {self.case_number}"

    def __repr__(self) -> str:
        return f"<ApprovalCase {self.id} {self.case_number} {self.status}>"


# --- purchase requests ----------------------------------------------------------------------


class SelectionMethod(enum.StrEnum):
    """How the agency is chosen (选取方式)."""

    DIRECT = "direct"
    LOWEST_PRICE = "lowest_price"
    RANDOM_DRAW = "random_draw"
    SCORING = "scoring"

    @property
    def label(self):
        return {
            SelectionMethod.DIRECT: _l("Direct selection"),
            SelectionMethod.LOWEST_PRICE: _l("Lowest price"),
            SelectionMethod.RANDOM_DRAW: _l("Random draw"),
            SelectionMethod.SCORING: _l("Comprehensive scoring"),
        }[self]


class RequestStatus(enum.StrEnum):
    """The lifecycle of a purchase request; contracted and later belong to later stages."""

    DRAFT = "draft"
    PUBLISHED = "published"
    BIDDING_CLOSED = "bidding_closed"
    AWARDED = "awarded"
    CONTRACTED = "contracted"
    IN_SERVICE = "in_service"
    DELIVERED = "delivered"
    ACCEPTED = "accepted"
    CLOSED = "closed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def label(self):
        return {
            RequestStatus.DRAFT: _l("Draft"),
            RequestStatus.PUBLISHED: _l("Open for bids"),
            RequestStatus.BIDDING_CLOSED: _l("Bidding closed"),
            RequestStatus.AWARDED: _l("Awarded"),
            RequestStatus.CONTRACTED: _l("Contract signed"),
            RequestStatus.IN_SERVICE: _l("In service"),
            RequestStatus.DELIVERED: _l("Delivered"),
            RequestStatus.ACCEPTED: _l("Accepted"),
            RequestStatus.CLOSED: _l("Closed"),
            RequestStatus.FAILED: _l("Failed"),
            RequestStatus.CANCELLED: _l("Cancelled"),
        }[self]

    @property
    def badge(self) -> str:
        """The Bootstrap colour of the status badge."""
        return {
            RequestStatus.DRAFT: "secondary",
            RequestStatus.PUBLISHED: "success",
            RequestStatus.BIDDING_CLOSED: "warning",
            RequestStatus.FAILED: "danger",
            RequestStatus.CANCELLED: "dark",
        }.get(self, "primary")


# A winner is set from the award on; CHECK constraints and the result page rely on it.
AWARDED_STATUSES = frozenset({
    RequestStatus.AWARDED, RequestStatus.CONTRACTED, RequestStatus.IN_SERVICE,
    RequestStatus.DELIVERED, RequestStatus.ACCEPTED, RequestStatus.CLOSED,
})
_AWARDED_SQL = ", ".join(f"'{s.value}'" for s in sorted(AWARDED_STATUSES))


purchase_request_qualifications = sa.Table(
    "purchase_request_qualifications",
    db.metadata,
    sa.Column("purchase_request_id", sa.ForeignKey("purchase_requests.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("qualification_type_id", sa.ForeignKey("qualification_types.id"), primary_key=True,
              index=True),
)


class PurchaseRequest(db.Model):
    """A purchase announcement (采购公告) of an enterprise for one service item of one case."""

    __tablename__ = "purchase_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    approval_case_id: Mapped[int] = mapped_column(sa.ForeignKey("approval_cases.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    service_item_id: Mapped[int] = mapped_column(sa.ForeignKey("service_items.id"), index=True)
    region_code: Mapped[str] = mapped_column(sa.String(6), index=True)
    title: Mapped[str] = mapped_column(sa.String(TITLE_MAX))
    content: Mapped[str] = mapped_column(sa.Text)
    scale: Mapped[str] = mapped_column(sa.String(SCALE_MAX), default="")
    is_budgeted: Mapped[bool] = mapped_column(default=True)
    budget_ceiling_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    quote_min_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    quote_max_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    selection_method: Mapped[SelectionMethod] = mapped_column(
        enum_column(SelectionMethod, "selection_method"), index=True
    )
    bidding_deadline: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    contact_name: Mapped[str] = mapped_column(sa.String(PERSON_MAX))
    contact_phone: Mapped[str] = mapped_column(sa.String(PHONE_MAX))
    complaint_phone: Mapped[str] = mapped_column(sa.String(PHONE_MAX))
    status: Mapped[RequestStatus] = mapped_column(
        enum_column(RequestStatus, "purchase_request_status"), default=RequestStatus.DRAFT, index=True
    )
    round_number: Mapped[int] = mapped_column(default=1)
    # A failed request is re-published at most once: the unique key stops a double click.
    previous_round_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("purchase_requests.id"), unique=True
    )
    # Direct selection: the agency named at publication and the public reason.
    direct_agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    direct_reason: Mapped[str] = mapped_column(sa.Text, default="")
    # Comprehensive scoring: percentages fixed at publication.
    weight_price: Mapped[int | None] = mapped_column()
    weight_time: Mapped[int | None] = mapped_column()
    weight_credit: Mapped[int | None] = mapped_column()
    # Random draw: the seed stays secret until bidding closes; its hash is public from publication.
    draw_seed: Mapped[str | None] = mapped_column(sa.String(64))
    draw_commitment: Mapped[str | None] = mapped_column(sa.String(64))
    # The frozen outcome of the selection method (JSON), public once bidding has closed.
    selection_json: Mapped[str | None] = mapped_column(sa.Text)
    awarded_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    awarded_price_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    awarded_days: Mapped[int | None] = mapped_column()
    failure_reason: Mapped[str] = mapped_column(sa.Text, default="")
    cancel_reason: Mapped[str] = mapped_column(sa.Text, default="")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    awarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    objection_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    award_finalised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    approval_case: Mapped[ApprovalCase] = relationship(back_populates="requests")
    enterprise: Mapped[Organisation] = relationship(foreign_keys=[enterprise_id])
    service_item: Mapped[ServiceItem] = relationship()
    direct_agency: Mapped[Organisation | None] = relationship(foreign_keys=[direct_agency_id])
    awarded_org: Mapped[Organisation | None] = relationship(foreign_keys=[awarded_org_id])
    # The following round is ``services.next_round_of(request)`` (a query, never a stale cache).
    previous_round: Mapped[PurchaseRequest | None] = relationship(
        remote_side=[id], foreign_keys=[previous_round_id]
    )
    required_qualifications: Mapped[list[QualificationType]] = relationship(
        secondary=purchase_request_qualifications, order_by="QualificationType.code"
    )
    exclusions: Mapped[list[Exclusion]] = relationship(
        back_populates="request", order_by="Exclusion.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        # The announcement board, newest first: an index walk of the page, not a sort of every request.
        sa.Index("ix_purchase_requests_published_id", "published_at", "id"),
        sa.CheckConstraint(
            "(is_budgeted AND budget_ceiling_fen > 0 AND quote_min_fen IS NULL AND quote_max_fen IS NULL)"
            " OR (NOT is_budgeted AND budget_ceiling_fen IS NULL AND quote_min_fen >= 0"
            " AND quote_max_fen > 0 AND quote_max_fen >= quote_min_fen)",
            name="budget_shape",
        ),
        sa.CheckConstraint(
            "selection_method <> 'scoring' OR (weight_price BETWEEN 0 AND 100"
            " AND weight_time BETWEEN 0 AND 100 AND weight_credit BETWEEN 0 AND 100"
            " AND weight_price + weight_time + weight_credit = 100)",
            name="scoring_weights",
        ),
        sa.CheckConstraint(
            "selection_method <> 'direct' OR (direct_agency_id IS NOT NULL AND direct_reason <> '')",
            name="direct_agency_named",
        ),
        # A draft cancelled before publication was never public: no publication time, no draw.
        sa.CheckConstraint(
            "selection_method <> 'random_draw' OR status = 'draft'"
            " OR (status = 'cancelled' AND published_at IS NULL) OR draw_commitment IS NOT NULL",
            name="draw_committed",
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'cancelled') OR published_at IS NOT NULL", name="published_at_set"
        ),
        sa.CheckConstraint(
            f"status NOT IN ({_AWARDED_SQL}) OR (awarded_org_id IS NOT NULL"
            " AND awarded_price_fen IS NOT NULL AND awarded_days IS NOT NULL"
            " AND objection_deadline IS NOT NULL)",
            name="awarded_has_winner",
        ),
        sa.CheckConstraint("status <> 'failed' OR failure_reason <> ''", name="failed_has_reason"),
        sa.CheckConstraint("status <> 'cancelled' OR cancel_reason <> ''", name="cancelled_has_reason"),
        sa.CheckConstraint("round_number BETWEEN 1 AND 1000", name="round_range"),
        # One live request per case and service item: a service may not be split (严禁拆分).
        sa.Index(
            "uq_purchase_requests_live_case_item", "approval_case_id", "service_item_id",
            unique=True,
            sqlite_where=sa.text("status NOT IN ('failed', 'cancelled')"),
            postgresql_where=sa.text("status NOT IN ('failed', 'cancelled')"),
        ),
    )

    @property
    def reference(self) -> str:
        """The public number of the announcement."""
        return f"CG{self.id:06d}-{self.round_number}"

    @hybrid_property
    def is_public(self) -> bool:
        """Published at some time; a draft, even one cancelled unpublished, never was."""
        return self.published_at is not None

    @is_public.inplace.expression
    @classmethod
    def _is_public_expression(cls) -> sa.ColumnElement[bool]:
        return cls.published_at.is_not(None)

    @property
    def has_winner(self) -> bool:
        return self.status in AWARDED_STATUSES

    def is_open_for_bids(self, now: datetime) -> bool:
        """Published and the deadline not reached at ``now``."""
        return self.status is RequestStatus.PUBLISHED and now < self.bidding_deadline

    def is_owned_by(self, user) -> bool:
        """Whether ``user`` works for the enterprise that posted this request."""
        return bool(getattr(user, "is_authenticated", False) and user.organisation_id == self.enterprise_id)

    @property
    def outcome(self) -> dict | None:
        """The stored selection outcome, parsed."""
        return json.loads(self.selection_json) if self.selection_json else None

    @property
    def audit_label(self) -> str:
        return f"purchase_request:{self.id}"

    def __repr__(self) -> str:
        return f"<PurchaseRequest {self.id} r{self.round_number} {self.selection_method} {self.status}>"


class Exclusion(db.Model):
    """An agency kept out of one request, with the public reason (回避, e.g. a conflict of interest)."""

    __tablename__ = "purchase_request_exclusions"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("purchase_requests.id", ondelete="CASCADE"), index=True
    )
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.String(REASON_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    request: Mapped[PurchaseRequest] = relationship(back_populates="exclusions")
    agency: Mapped[Organisation] = relationship()

    __table_args__ = (sa.UniqueConstraint("request_id", "agency_id"),)

    def __repr__(self) -> str:
        return f"<Exclusion request={self.request_id} agency={self.agency_id}>"


# --- bids -----------------------------------------------------------------------------------


class BidStatus(enum.StrEnum):
    """The lifecycle of a bid."""

    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"
    WON = "won"
    LOST = "lost"
    REJECTED = "rejected"

    @property
    def label(self):
        return {
            BidStatus.SUBMITTED: _l("Submitted"),
            BidStatus.WITHDRAWN: _l("Withdrawn"),
            BidStatus.WON: _l("Won"),
            BidStatus.LOST: _l("Not selected"),
            BidStatus.REJECTED: _l("Rejected"),
        }[self]


class AbnormalDecision(enum.StrEnum):
    """The enterprise's decision on an abnormally low price."""

    CONFIRMED = "confirmed"
    REJECTED = "rejected"

    @property
    def label(self):
        return {
            AbnormalDecision.CONFIRMED: _l("Confirmed by the enterprise"),
            AbnormalDecision.REJECTED: _l("Rejected by the enterprise"),
        }[self]


class Bid(db.Model):
    """A sealed price and time offer (报价) of an agency; only its owner sees it before the deadline."""

    __tablename__ = "bids"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("purchase_requests.id"), index=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    price_fen: Mapped[int] = mapped_column(sa.BigInteger)
    days: Mapped[int] = mapped_column()
    status: Mapped[BidStatus] = mapped_column(
        enum_column(BidStatus, "bid_status"), default=BidStatus.SUBMITTED, index=True
    )
    # Bumped by each revision; a revision names the version it changes (no lost updates).
    version: Mapped[int] = mapped_column(default=1)
    # The audit trail records only SHA-256 over these terms and the nonce until bidding closes.
    seal_nonce: Mapped[str] = mapped_column(sa.String(32))
    commitment: Mapped[str] = mapped_column(sa.String(64))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    final_submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    is_abnormal: Mapped[bool] = mapped_column(default=False)
    abnormal_decision: Mapped[AbnormalDecision | None] = mapped_column(
        enum_column(AbnormalDecision, "abnormal_decision")
    )
    decision_reason: Mapped[str] = mapped_column(sa.Text, default="")
    rejection_reason: Mapped[str] = mapped_column(sa.Text, default="")

    request: Mapped[PurchaseRequest] = relationship()
    agency: Mapped[Organisation] = relationship()

    __table_args__ = (
        sa.CheckConstraint("price_fen > 0", name="price_positive"),
        sa.CheckConstraint(f"days BETWEEN 1 AND {MAX_BID_DAYS}", name="days_range"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.CheckConstraint("status <> 'rejected' OR rejection_reason <> ''", name="rejected_has_reason"),
        # One live bid per agency and request (a withdrawn bid may be followed by a new one).
        sa.Index(
            "uq_bids_live_agency", "request_id", "agency_id", unique=True,
            sqlite_where=sa.text("status <> 'withdrawn'"),
            postgresql_where=sa.text("status <> 'withdrawn'"),
        ),
        # At most one winner per request, whatever races happen.
        sa.Index(
            "uq_bids_one_winner", "request_id", unique=True,
            sqlite_where=sa.text("status = 'won'"),
            postgresql_where=sa.text("status = 'won'"),
        ),
    )

    @property
    def audit_label(self) -> str:
        return f"bid:{self.id}"

    def __repr__(self) -> str:
        return f"<Bid {self.id} request={self.request_id} agency={self.agency_id} {self.status}>"
