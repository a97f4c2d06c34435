"""Inspection plans, their verifiable draw, the inspections drawn and their results."""

from __future__ import annotations

import enum
import json
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Organisation, User
from marketplace.catalog.models import ServiceItem
from marketplace.core.db import UTCDateTime, enum_column, utcnow
from marketplace.extensions import db

TITLE_MAX = 200
BASIS_MAX = 4000
FINDINGS_MAX = 4000
REASON_MAX = 2000
MAX_SAMPLE = 500
MAX_INSPECTORS = 100
MAX_PER_CHECK = 5


class ScopeKind(enum.StrEnum):
    """Which agencies a plan draws from."""

    ALL = "all"  # every agency with a published listing
    SERVICE_ITEM = "service_item"  # agencies with a published listing of one service item
    REGION = "region"  # agencies registered in a region (a province, city or district prefix)

    @property
    def label(self):
        return {
            ScopeKind.ALL: _l("All active agencies"),
            ScopeKind.SERVICE_ITEM: _l("Agencies offering one service item"),
            ScopeKind.REGION: _l("Agencies registered in one region"),
        }[self]


class PlanStatus(enum.StrEnum):
    """Where an inspection plan stands."""

    DRAFT = "draft"
    DRAWN = "drawn"
    PUBLISHED = "published"
    CANCELLED = "cancelled"

    @property
    def label(self):
        return {
            PlanStatus.DRAFT: _l("Draft"),
            PlanStatus.DRAWN: _l("Drawn, inspections under way"),
            PlanStatus.PUBLISHED: _l("Results published, closed"),
            PlanStatus.CANCELLED: _l("Cancelled"),
        }[self]


class InspectionStatus(enum.StrEnum):
    """The result of one inspection."""

    PENDING = "pending"
    PASSED = "passed"
    PROBLEMS = "problems"
    REFERRED = "referred"

    @property
    def label(self):
        return {
            InspectionStatus.PENDING: _l("Not yet inspected"),
            InspectionStatus.PASSED: _l("Passed"),
            InspectionStatus.PROBLEMS: _l("Problems found"),
            InspectionStatus.REFERRED: _l("Referred for sanction"),
        }[self]


DRAWN_FAMILY = ("drawn", "published")


class InspectionPlan(db.Model):
    """A random-inspection plan: scope, sample sizes, the committed seeds, the frozen pools.

    Two seeds (one for agencies, one for inspectors) are drawn when the plan is created and only
    their SHA-256 commitments are shown until the draw; the draw freezes both pools, reveals the
    seeds and ranks each pool by ``procurement.selection.draw_key`` exactly as a random-draw
    purchase request does, so ``docs/verify_draw.py`` recomputes it.
    """

    __tablename__ = "inspection_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(TITLE_MAX))
    basis: Mapped[str] = mapped_column(sa.Text, default="")
    scope: Mapped[ScopeKind] = mapped_column(enum_column(ScopeKind, "inspection_scope"))
    service_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_items.id"))
    region_code: Mapped[str | None] = mapped_column(sa.String(6))
    agency_sample_size: Mapped[int] = mapped_column()
    inspector_count: Mapped[int] = mapped_column()
    inspectors_per_check: Mapped[int] = mapped_column()
    status: Mapped[PlanStatus] = mapped_column(
        enum_column(PlanStatus, "inspection_plan_status"), default=PlanStatus.DRAFT, index=True
    )
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The seeds stay secret until the draw; their commitments are on record from the creation.
    agency_seed: Mapped[str] = mapped_column(sa.String(64))
    agency_commitment: Mapped[str] = mapped_column(sa.String(64))
    inspector_seed: Mapped[str] = mapped_column(sa.String(64))
    inspector_commitment: Mapped[str] = mapped_column(sa.String(64))
    drawn_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    agency_pool: Mapped[str] = mapped_column(sa.Text, default="[]")  # JSON: ascending ids
    inspector_pool: Mapped[str] = mapped_column(sa.Text, default="[]")
    agency_list_hash: Mapped[str | None] = mapped_column(sa.String(64))
    inspector_list_hash: Mapped[str | None] = mapped_column(sa.String(64))
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_reason: Mapped[str] = mapped_column(sa.Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    service_item: Mapped[ServiceItem | None] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    drawn_by: Mapped[User | None] = relationship(foreign_keys=[drawn_by_id])
    inspections: Mapped[list[Inspection]] = relationship(
        back_populates="plan", order_by="Inspection.rank", cascade="all, delete-orphan"
    )
    inspectors: Mapped[list[PlanInspector]] = relationship(
        back_populates="plan", order_by="PlanInspector.rank", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.CheckConstraint(f"agency_sample_size BETWEEN 1 AND {MAX_SAMPLE}", name="sample_range"),
        sa.CheckConstraint(f"inspector_count BETWEEN 1 AND {MAX_INSPECTORS}", name="inspector_range"),
        sa.CheckConstraint(
            f"inspectors_per_check BETWEEN 1 AND {MAX_PER_CHECK} AND inspectors_per_check <= inspector_count",
            name="per_check_range",
        ),
        sa.CheckConstraint(
            "(scope = 'service_item') = (service_item_id IS NOT NULL) "
            "AND (scope = 'region') = (region_code IS NOT NULL)",
            name="scope_data",
        ),
        sa.CheckConstraint(
            "status NOT IN ('drawn', 'published') OR (drawn_at IS NOT NULL AND drawn_by_id IS NOT NULL "
            "AND agency_list_hash IS NOT NULL AND inspector_list_hash IS NOT NULL)",
            name="drawn_data",
        ),
        sa.CheckConstraint("status <> 'published' OR published_at IS NOT NULL", name="published_data"),
    )

    @property
    def reference(self) -> str:
        """The public reference of the plan, e.g. ``CC000003`` (抽查)."""
        return f"CC{self.id:06d}"

    @property
    def is_drawn(self) -> bool:
        return self.status.value in DRAWN_FAMILY

    def pool(self, which: str) -> list[int]:
        """The frozen pool (``"agencies"`` or ``"inspectors"``): ascending ids."""
        raw = self.agency_pool if which == "agencies" else self.inspector_pool
        try:
            value = json.loads(raw or "[]")
        except ValueError:
            return []
        return [int(i) for i in value] if isinstance(value, list) else []

    @property
    def audit_label(self) -> str:
        return f"inspection_plan:{self.id} {self.reference}"

    def __repr__(self) -> str:
        return f"<InspectionPlan {self.id} {self.scope} {self.status}>"


class PlanInspector(db.Model):
    """An inspector (a regulator) drawn for a plan, with their place in the draw."""

    __tablename__ = "inspection_plan_inspectors"

    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("inspection_plans.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True, index=True)
    rank: Mapped[int] = mapped_column()
    draw_key: Mapped[str] = mapped_column(sa.String(64))

    plan: Mapped[InspectionPlan] = relationship(back_populates="inspectors")
    user: Mapped[User] = relationship()

    __table_args__ = (sa.UniqueConstraint("plan_id", "rank"),)

    def __repr__(self) -> str:
        return f"<PlanInspector plan={self.plan_id} user={self.user_id} #{self.rank}>"


inspection_assignments = sa.Table(
    "inspection_assignments",
    db.metadata,
    sa.Column("inspection_id", sa.ForeignKey("inspections.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id"), primary_key=True, index=True),
)


class Inspection(db.Model):
    """One drawn agency in a plan, the inspectors assigned to it, and the result."""

    __tablename__ = "inspections"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("inspection_plans.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    rank: Mapped[int] = mapped_column()
    draw_key: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[InspectionStatus] = mapped_column(
        enum_column(InspectionStatus, "inspection_status"), default=InspectionStatus.PENDING, index=True
    )
    findings: Mapped[str] = mapped_column(sa.Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    plan: Mapped[InspectionPlan] = relationship(back_populates="inspections")
    organisation: Mapped[Organisation] = relationship()
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    inspectors: Mapped[list[User]] = relationship(secondary=inspection_assignments, order_by="User.id")

    __table_args__ = (
        sa.UniqueConstraint("plan_id", "organisation_id"),
        sa.UniqueConstraint("plan_id", "rank"),
        sa.CheckConstraint(
            "status = 'pending' OR (recorded_by_id IS NOT NULL AND recorded_at IS NOT NULL)",
            name="recorded_data",
        ),
        sa.CheckConstraint("status IN ('pending', 'passed') OR findings <> ''", name="findings_given"),
    )

    @property
    def audit_label(self) -> str:
        return f"inspection:{self.id} plan {self.plan_id}"

    def __repr__(self) -> str:
        return f"<Inspection {self.id} plan={self.plan_id} org={self.organisation_id} {self.status}>"
