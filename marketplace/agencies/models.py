"""Agency profiles (qualifications, practitioners, regions, independence) and listings."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from marketplace.accounts.models import Organisation
from marketplace.catalog.models import QualificationType, ServiceItem
from marketplace.core.db import UTCDateTime, enum_column, utcnow
from marketplace.core.uploads import StoredFile
from marketplace.extensions import db

INTRODUCTION_MAX = 2000
WEBSITE_MAX = 200
CERTIFICATE_MAX = 100
LEVEL_MAX = 50
ISSUER_MAX = 200
PERSON_MAX = 100
NOTE_MAX = 1000
FEE_BASIS_MAX = 500
STANDARD_MAX = 5000
CHANGE_NOTE_MAX = 300
MAX_REGIONS = 50
MAX_TIME_LIMIT_DAYS = 3650
MAX_DISCOUNT_BP = 9999  # a reduction of at most 99.99 % of the government standard


class AgencyProfile(db.Model):
    """What an agency says about itself beyond its registration data."""

    __tablename__ = "agency_profiles"

    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), primary_key=True)
    introduction: Mapped[str] = mapped_column(sa.Text, default="")
    website: Mapped[str] = mapped_column(sa.String(WEBSITE_MAX), default="")
    # Where the agency offers its services; never where it is registered (no local-registration rule).
    serves_nationwide: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    organisation: Mapped[Organisation] = relationship()

    def __repr__(self) -> str:
        return f"<AgencyProfile org={self.organisation_id}>"


class ServiceRegion(db.Model):
    """One administrative division an agency serves (a province, a city or a district)."""

    __tablename__ = "agency_service_regions"

    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), primary_key=True)
    region_code: Mapped[str] = mapped_column(sa.String(6), primary_key=True, index=True)

    def __repr__(self) -> str:
        return f"<ServiceRegion org={self.organisation_id} {self.region_code}>"


class IndependenceDeclaration(db.Model):
    """A signed statement that the agency is decoupled from every government department (脱钩).

    Append-only: signing again adds a row; the newest row is the one in force.
    """

    __tablename__ = "independence_declarations"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    statement: Mapped[str] = mapped_column(sa.Text)
    decoupling_note: Mapped[str] = mapped_column(sa.Text, default="")
    signer_name: Mapped[str] = mapped_column(sa.String(PERSON_MAX))
    signer_position: Mapped[str] = mapped_column(sa.String(PERSON_MAX))
    signed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<IndependenceDeclaration {self.id} org={self.organisation_id} {self.signed_at}>"


class Practitioner(db.Model):
    """A certified professional working for the agency (注册执业人员)."""

    __tablename__ = "agency_practitioners"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(PERSON_MAX))
    certificate_no: Mapped[str] = mapped_column(sa.String(CERTIFICATE_MAX))
    specialty: Mapped[str] = mapped_column(sa.String(PERSON_MAX), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("organisation_id", "certificate_no"),)

    def __repr__(self) -> str:
        return f"<Practitioner {self.id} {self.name}>"


class Qualification(db.Model):
    """A qualification certificate (资质证书) held by an agency.

    It counts from ``valid_from`` through ``valid_to`` inclusive; on the day after ``valid_to``
    (its expiry day) it stops counting, computed at query time so that nobody has to act.
    """

    __tablename__ = "agency_qualifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    qualification_type_id: Mapped[int] = mapped_column(sa.ForeignKey("qualification_types.id"), index=True)
    certificate_no: Mapped[str] = mapped_column(sa.String(CERTIFICATE_MAX))
    level: Mapped[str] = mapped_column(sa.String(LEVEL_MAX), default="")
    issuer: Mapped[str] = mapped_column(sa.String(ISSUER_MAX))
    valid_from: Mapped[date] = mapped_column(sa.Date)
    valid_to: Mapped[date] = mapped_column(sa.Date)
    scan_file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    qualification_type: Mapped[QualificationType] = relationship()
    scan: Mapped[StoredFile | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint("valid_to >= valid_from", name="valid_range"),
        sa.UniqueConstraint("organisation_id", "qualification_type_id", "certificate_no"),
        sa.Index("ix_agency_qualifications_validity", "organisation_id", "qualification_type_id", "valid_to"),
    )

    def is_valid_on(self, day: date) -> bool:
        """Whether the certificate counts on ``day``."""
        return self.valid_from <= day <= self.valid_to

    def __repr__(self) -> str:
        return f"<Qualification {self.id} {self.certificate_no} {self.valid_from}..{self.valid_to}>"


class ListingStatus(enum.StrEnum):
    """The lifecycle of a listing. Being *visible* is not a status: it is computed each day."""

    DRAFT = "draft"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"

    @property
    def label(self):
        return {
            ListingStatus.DRAFT: _l("Draft"),
            ListingStatus.PUBLISHED: _l("Published"),
            ListingStatus.WITHDRAWN: _l("Withdrawn"),
        }[self]


class FeeKind(enum.StrEnum):
    """How a listing states its fee."""

    FIXED = "fixed"
    RANGE = "range"
    DISCOUNT = "discount"

    @property
    def label(self):
        return {
            FeeKind.FIXED: _l("Fixed fee"),
            FeeKind.RANGE: _l("Fee range"),
            FeeKind.DISCOUNT: _l("Discount on the government standard"),
        }[self]


class Listing(db.Model):
    """An agency's offer of one service item; its terms live in ``ListingVersion`` rows."""

    __tablename__ = "agency_listings"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    service_item_id: Mapped[int] = mapped_column(sa.ForeignKey("service_items.id"), index=True)
    status: Mapped[ListingStatus] = mapped_column(
        enum_column(ListingStatus, "listing_status"), default=ListingStatus.DRAFT, index=True
    )
    current_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    organisation: Mapped[Organisation] = relationship()
    service_item: Mapped[ServiceItem] = relationship()
    current: Mapped[ListingVersion] = relationship(
        primaryjoin=lambda: sa.and_(
            foreign(ListingVersion.listing_id) == Listing.id,
            foreign(ListingVersion.version) == Listing.current_version,
        ),
        viewonly=True,
        uselist=False,
    )
    versions: Mapped[list[ListingVersion]] = relationship(
        back_populates="listing", order_by="ListingVersion.version.desc()",
        cascade="all, delete-orphan",
    )

    __table_args__ = (
        sa.UniqueConstraint("organisation_id", "service_item_id"),
        sa.CheckConstraint("current_version >= 1", name="version_positive"),
    )

    @property
    def audit_label(self) -> str:
        return f"listing:{self.id}"

    def __repr__(self) -> str:
        return f"<Listing {self.id} org={self.organisation_id} item={self.service_item_id} {self.status}>"


class ListingVersion(db.Model):
    """One set of the three commitments (fee, time limit, service standard), never changed.

    The version in force at a moment is the newest whose ``valid_from`` is not after it.
    """

    __tablename__ = "listing_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(sa.ForeignKey("agency_listings.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column()
    fee_kind: Mapped[FeeKind] = mapped_column(enum_column(FeeKind, "fee_kind"))
    fee_min_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    fee_max_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    discount_bp: Mapped[int | None] = mapped_column()
    fee_basis: Mapped[str] = mapped_column(sa.String(FEE_BASIS_MAX), default="")
    time_limit_days: Mapped[int] = mapped_column()
    service_standard: Mapped[str] = mapped_column(sa.Text)
    change_note: Mapped[str] = mapped_column(sa.String(CHANGE_NOTE_MAX), default="")
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    listing: Mapped[Listing] = relationship(back_populates="versions")

    __table_args__ = (
        sa.UniqueConstraint("listing_id", "version"),
        sa.CheckConstraint(f"time_limit_days BETWEEN 1 AND {MAX_TIME_LIMIT_DAYS}", name="time_limit_range"),
        sa.CheckConstraint(
            "(fee_kind = 'fixed' AND fee_min_fen IS NOT NULL AND fee_max_fen = fee_min_fen"
            " AND discount_bp IS NULL)"
            " OR (fee_kind = 'range' AND fee_min_fen IS NOT NULL AND fee_max_fen >= fee_min_fen"
            " AND discount_bp IS NULL)"
            f" OR (fee_kind = 'discount' AND discount_bp BETWEEN 0 AND {MAX_DISCOUNT_BP}"
            " AND fee_min_fen IS NULL AND fee_max_fen IS NULL)",
            name="fee_shape",
        ),
        sa.CheckConstraint("fee_min_fen IS NULL OR fee_min_fen >= 0", name="fee_not_negative"),
    )

    @property
    def discount_percent(self) -> str:
        """The reduction as a percentage string, e.g. ``"15"`` or ``"12.5"``."""
        if self.discount_bp is None:
            return ""
        return f"{self.discount_bp / 100:.2f}".rstrip("0").rstrip(".")

    def __repr__(self) -> str:
        return f"<ListingVersion listing={self.listing_id} v{self.version} {self.fee_kind}>"


# --- the visibility projection (see ``marketplace.agencies.visibility``) ----------------------


class VisibilityState(db.Model):
    """The day the visibility projection holds (one row; none until it was first built)."""

    __tablename__ = "listing_visibility_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    as_of: Mapped[date] = mapped_column(sa.Date)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.CheckConstraint("id = 1", name="single_row"),)

    def __repr__(self) -> str:
        return f"<VisibilityState as_of={self.as_of}>"


class ListingVisibility(db.Model):
    """A listing shown on public pages on ``VisibilityState.as_of``, with what the lists sort by.

    Filled from ``eligibility.listing_visible_sql`` (the one definition of the rule) and kept
    exact in the transaction of every change the rule reads; never edited by hand.
    """

    __tablename__ = "listing_visibility"

    listing_id: Mapped[int] = mapped_column(
        sa.ForeignKey("agency_listings.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id", ondelete="CASCADE"))
    service_item_id: Mapped[int] = mapped_column(sa.ForeignKey("service_items.id", ondelete="CASCADE"))
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("service_categories.id", ondelete="CASCADE"))
    # 1 for a discount on the government standard (no stated amount): it sorts after amounts.
    no_amount: Mapped[int] = mapped_column(sa.SmallInteger)
    fee_min_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    fee_max_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    time_limit_days: Mapped[int] = mapped_column()

    __table_args__ = (
        # The offers page, cheapest first (its default order), and the items' statistics.
        sa.Index("ix_listing_visibility_item_fee", "service_item_id", "no_amount", "fee_min_fen",
                 "time_limit_days", "listing_id"),
        # The directory's category / service item filters and the agencies' offers.
        sa.Index("ix_listing_visibility_org_item", "organisation_id", "service_item_id"),
        sa.Index("ix_listing_visibility_org_category", "organisation_id", "category_id"),
    )

    def __repr__(self) -> str:
        return f"<ListingVisibility listing={self.listing_id} org={self.organisation_id}>"


class AgencyVisibleCount(db.Model):
    """One row per agency: how many of its listings the projection shows, and its name, so that
    the directory's order (most offers first, then name) is an index walk, deep pages too."""

    __tablename__ = "agency_visible_counts"

    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    visible_count: Mapped[int] = mapped_column()
    name: Mapped[str] = mapped_column(sa.String(200))

    def __repr__(self) -> str:
        return f"<AgencyVisibleCount org={self.organisation_id} {self.visible_count}>"


sa.Index(
    "ix_agency_visible_counts_order",
    AgencyVisibleCount.visible_count.desc(), AgencyVisibleCount.name, AgencyVisibleCount.organisation_id,
)


class ServiceItemOfferStat(db.Model):
    """For one service item: the visible offers, the lowest stated fee and the shortest time."""

    __tablename__ = "service_item_offer_stats"

    service_item_id: Mapped[int] = mapped_column(
        sa.ForeignKey("service_items.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    offer_count: Mapped[int] = mapped_column()
    min_fee_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    min_days: Mapped[int | None] = mapped_column()

    def __repr__(self) -> str:
        return f"<ServiceItemOfferStat item={self.service_item_id} {self.offer_count}>"
