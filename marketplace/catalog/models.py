"""The public catalogues: approval items, service items, their categories and qualification types."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import UTCDateTime, enum_column, utcnow
from marketplace.extensions import db

CODE_MAX = 40
NAME_MAX = 200
DEPARTMENT_MAX = 200
LEGAL_BASIS_MAX = 2000
DESCRIPTION_MAX = 2000
FEE_DOCUMENT_MAX = 300
DELIVERABLE_MAX = 300
MAX_STATUTORY_DAYS = 3650


class QualificationRule(enum.StrEnum):
    """How a service item's listed qualification types must be held."""

    NONE = "none"
    ANY = "any"
    ALL = "all"

    @property
    def label(self):
        return {
            QualificationRule.NONE: _l("No qualification required"),
            QualificationRule.ANY: _l("Any one of"),
            QualificationRule.ALL: _l("All of"),
        }[self]


class FeeBasis(enum.StrEnum):
    """Whether the fee is set by the market or by a government standard."""

    MARKET = "market"
    GOVERNMENT = "government"

    @property
    def label(self):
        return {
            FeeBasis.MARKET: _l("Market price"),
            FeeBasis.GOVERNMENT: _l("Government-set standard"),
        }[self]


service_item_approval_items = sa.Table(
    "service_item_approval_items",
    db.metadata,
    sa.Column("service_item_id", sa.ForeignKey("service_items.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("approval_item_id", sa.ForeignKey("approval_items.id", ondelete="CASCADE"), primary_key=True,
              index=True),
)

service_item_qualifications = sa.Table(
    "service_item_qualifications",
    db.metadata,
    sa.Column("service_item_id", sa.ForeignKey("service_items.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("qualification_type_id", sa.ForeignKey("qualification_types.id", ondelete="CASCADE"),
              primary_key=True, index=True),
)


class ApprovalItem(db.Model):
    """An administrative approval (行政审批事项) that may need intermediary services."""

    __tablename__ = "approval_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(CODE_MAX), unique=True)
    name: Mapped[str] = mapped_column(sa.String(NAME_MAX), index=True)
    department: Mapped[str] = mapped_column(sa.String(DEPARTMENT_MAX))
    legal_basis: Mapped[str] = mapped_column(sa.Text, default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    service_items: Mapped[list[ServiceItem]] = relationship(
        secondary=service_item_approval_items, back_populates="approval_items",
        order_by="ServiceItem.code",
    )

    def __repr__(self) -> str:
        return f"<ApprovalItem {self.id} {self.code} {self.name}>"


class ServiceCategory(db.Model):
    """A heading of the service-item catalogue (环境评估类, 测绘类, ...)."""

    __tablename__ = "service_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(CODE_MAX), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    sort_order: Mapped[int] = mapped_column(default=0)

    __table_args__ = (sa.CheckConstraint("sort_order BETWEEN 0 AND 10000", name="sort_order_range"),)

    def __repr__(self) -> str:
        return f"<ServiceCategory {self.id} {self.code} {self.name}>"


class QualificationType(db.Model):
    """A kind of qualification certificate (资质) an agency may hold."""

    __tablename__ = "qualification_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(CODE_MAX), unique=True)
    name: Mapped[str] = mapped_column(sa.String(NAME_MAX))
    issuer: Mapped[str] = mapped_column(sa.String(DEPARTMENT_MAX), default="")
    levels: Mapped[str] = mapped_column(sa.String(200), default="")
    is_active: Mapped[bool] = mapped_column(default=True)

    @property
    def level_choices(self) -> list[str]:
        """The grades this certificate comes in (甲级, 乙级, ...), from the comma-separated list."""
        return [part.strip() for part in self.levels.replace("，", ",").split(",") if part.strip()]

    def __repr__(self) -> str:
        return f"<QualificationType {self.id} {self.code} {self.name}>"


class ServiceItem(db.Model):
    """An intermediary service the catalogue allows (中介服务事项), tied to approval items."""

    __tablename__ = "service_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(CODE_MAX), unique=True)
    name: Mapped[str] = mapped_column(sa.String(NAME_MAX), index=True)
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("service_categories.id"), index=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    qualification_rule: Mapped[QualificationRule] = mapped_column(
        enum_column(QualificationRule, "qualification_rule"), default=QualificationRule.NONE
    )
    statutory_days: Mapped[int | None] = mapped_column()
    fee_basis: Mapped[FeeBasis] = mapped_column(enum_column(FeeBasis, "fee_basis"), default=FeeBasis.MARKET)
    fee_document: Mapped[str] = mapped_column(sa.String(FEE_DOCUMENT_MAX), default="")
    deliverable: Mapped[str] = mapped_column(sa.String(DELIVERABLE_MAX), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    category: Mapped[ServiceCategory] = relationship()
    approval_items: Mapped[list[ApprovalItem]] = relationship(
        secondary=service_item_approval_items, back_populates="service_items",
        order_by="ApprovalItem.code",
    )
    qualification_types: Mapped[list[QualificationType]] = relationship(
        secondary=service_item_qualifications, order_by="QualificationType.code",
    )

    __table_args__ = (
        sa.CheckConstraint(
            f"statutory_days IS NULL OR statutory_days BETWEEN 1 AND {MAX_STATUTORY_DAYS}",
            name="statutory_days_range",
        ),
        sa.CheckConstraint(
            "fee_basis <> 'government' OR fee_document <> ''", name="government_fee_has_document"
        ),
    )

    def __repr__(self) -> str:
        return f"<ServiceItem {self.id} {self.code} {self.name}>"
