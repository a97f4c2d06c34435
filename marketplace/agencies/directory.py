"""The public side of the agencies: the fee list of a service item (收费清单), offer statistics,
the agency directory with its cards, and the listings shown today. Each query issues a fixed
number of SQL statements whatever the number of rows, reading the visibility projection when it
is in use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import contains_eager

from marketplace.accounts.models import Organisation, OrgKind
from marketplace.agencies import eligibility, visibility
from marketplace.agencies.models import (
    AgencyProfile,
    AgencyVisibleCount,
    Listing,
    ListingVersion,
    ListingVisibility,
    Qualification,
    ServiceItemOfferStat,
    ServiceRegion,
)
from marketplace.agencies.profile import serves_region_sql
from marketplace.catalog.models import QualificationType, ServiceItem
from marketplace.core.text import clean_query, is_db_id
from marketplace.extensions import db

# --- public queries (a fixed number of SQL statements, whatever the number of rows) ----------

OFFER_SORTS = ("fee", "fee_desc", "time", "time_desc")


def _version_join():
    return sa.and_(ListingVersion.listing_id == Listing.id, ListingVersion.version == Listing.current_version)


def public_offers(
    item: ServiceItem,
    *,
    region: str | None = None,
    sort: str = "fee",
    page: int = 1,
    per_page: int = 20,
    on: date | None = None,
):
    """The public fee list (收费清单) of one service item: visible listings with their terms.

    Sorted by fee (a discount on the government standard sorts after stated amounts) or time.
    """
    on = on or eligibility.today()
    sort = sort if sort in OFFER_SORTS else "fee"
    if visibility.use_projection(on):
        return _projected_offers(item, region=region, sort=sort, page=page, per_page=per_page)
    stmt = (
        sa.select(Listing)
        .join(ListingVersion, _version_join())
        .join(Organisation, Organisation.id == Listing.organisation_id)
        .options(contains_eager(Listing.current), contains_eager(Listing.organisation))
        .where(Listing.service_item_id == item.id, eligibility.listing_visible_sql(on))
    )
    if region:
        stmt = stmt.where(serves_region_sql(Listing.organisation_id, region))
    no_amount = sa.case((ListingVersion.fee_min_fen.is_(None), 1), else_=0)
    order = {
        "fee": (no_amount, ListingVersion.fee_min_fen, ListingVersion.time_limit_days),
        "fee_desc": (no_amount, ListingVersion.fee_max_fen.desc(), ListingVersion.time_limit_days),
        "time": (ListingVersion.time_limit_days, no_amount, ListingVersion.fee_min_fen),
        "time_desc": (ListingVersion.time_limit_days.desc(), no_amount, ListingVersion.fee_min_fen),
    }[sort]
    stmt = stmt.order_by(*order, Listing.id)
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


class _OfferPagination(Pagination):
    """A page of offers found in the projection alone, then loaded by id (a deep page costs
    an index walk, not a join per skipped row)."""

    def _query_items(self) -> list:
        ids = list(db.session.execute(
            self._query_args["ids"].limit(self.per_page).offset(self._query_offset)
        ).scalars())
        if not ids:
            return []
        found = {
            listing.id: listing
            for listing in db.session.execute(
                sa.select(Listing)
                .join(ListingVersion, _version_join())
                .join(Organisation, Organisation.id == Listing.organisation_id)
                .options(contains_eager(Listing.current), contains_eager(Listing.organisation))
                .where(Listing.id.in_(ids))
            ).unique().scalars()
        }
        return [found[i] for i in ids if i in found]

    def _query_count(self) -> int:
        return db.session.execute(self._query_args["count_stmt"]).scalar() or 0


def _projected_offers(item: ServiceItem, *, region: str | None, sort: str, page: int, per_page: int):
    lv = ListingVisibility
    where = [lv.service_item_id == item.id]
    if region:
        where.append(serves_region_sql(lv.organisation_id, region))
    order = {
        "fee": (lv.no_amount, lv.fee_min_fen, lv.time_limit_days),
        "fee_desc": (lv.no_amount, lv.fee_max_fen.desc(), lv.time_limit_days),
        "time": (lv.time_limit_days, lv.no_amount, lv.fee_min_fen),
        "time_desc": (lv.time_limit_days.desc(), lv.no_amount, lv.fee_min_fen),
    }[sort]
    return _OfferPagination(
        page=page, per_page=per_page, error_out=False,
        ids=sa.select(lv.listing_id).where(*where).order_by(*order, lv.listing_id),
        count_stmt=sa.select(sa.func.count()).select_from(lv).where(*where),
    )


def offer_stats(item_ids: list[int], *, on: date | None = None) -> dict[int, dict]:
    """For each service item: how many agencies offer it today and the lowest stated fee."""
    on = on or eligibility.today()
    if not item_ids:
        return {}
    if visibility.use_projection(on):
        stat = ServiceItemOfferStat
        rows = db.session.execute(
            sa.select(stat.service_item_id, stat.offer_count, stat.min_fee_fen, stat.min_days)
            .where(stat.service_item_id.in_(item_ids))
        ).all()
    else:
        rows = db.session.execute(
            sa.select(
                Listing.service_item_id,
                sa.func.count(Listing.id),
                sa.func.min(ListingVersion.fee_min_fen),
                sa.func.min(ListingVersion.time_limit_days),
            )
            .join(ListingVersion, _version_join())
            .where(Listing.service_item_id.in_(item_ids), eligibility.listing_visible_sql(on))
            .group_by(Listing.service_item_id)
        ).all()
    return {r[0]: {"count": r[1], "min_fee_fen": r[2], "min_days": r[3]} for r in rows}


@dataclass
class AgencyCard:
    """What the directory shows of one agency."""

    organisation: Organisation
    nationwide: bool
    regions: list[str]
    qualifications: list[tuple[str, str]]
    offers: list[tuple[int, str]]


def agency_directory(
    *,
    q: str = "",
    region: str | None = None,
    category_id: int | None = None,
    service_item_id: int | None = None,
    page: int = 1,
    per_page: int = 20,
    on: date | None = None,
):
    """Agencies (those with offers first), filtered; returns (pagination, cards in page order)."""
    on = on or eligibility.today()
    stmt = agency_directory_query(q=q, region=region, category_id=category_id,
                                  service_item_id=service_item_id, on=on)
    pagination = db.paginate(stmt, page=page, per_page=per_page, error_out=False)
    return pagination, agency_cards(pagination.items, on=on)


def agency_directory_query(
    *,
    q: str = "",
    region: str | None = None,
    category_id: int | None = None,
    service_item_id: int | None = None,
    on: date | None = None,
) -> sa.Select:
    """The query behind :func:`agency_directory` (the page and the API share it)."""
    on = on or eligibility.today()
    projected = visibility.use_projection(on)
    if projected:
        # Every agency has its row there, with its name: the order below is an index walk.
        counts = AgencyVisibleCount
        stmt = (
            sa.select(Organisation)
            .join(counts, counts.organisation_id == Organisation.id)
            .where(Organisation.kind == OrgKind.AGENCY)
        )
        order = (counts.visible_count.desc(), counts.name, counts.organisation_id)
    else:
        visible_count = (
            sa.select(sa.func.count(Listing.id))
            .where(Listing.organisation_id == Organisation.id, eligibility.listing_visible_sql(on))
            .scalar_subquery()
        )
        stmt = sa.select(Organisation).where(Organisation.kind == OrgKind.AGENCY)
        order = (visible_count.desc(), Organisation.name, Organisation.id)
    q = clean_query(q)
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(Organisation.name.like(f"%{escaped}%", escape="\\"))
    if region:
        stmt = stmt.where(serves_region_sql(Organisation.id, region))
    category_id = category_id if is_db_id(category_id) else None
    service_item_id = service_item_id if is_db_id(service_item_id) else None
    if (category_id or service_item_id) and projected:
        lv = ListingVisibility
        offered = sa.select(lv.listing_id).where(lv.organisation_id == Organisation.id)
        if category_id:
            offered = offered.where(lv.category_id == category_id)
        if service_item_id:
            offered = offered.where(lv.service_item_id == service_item_id)
        stmt = stmt.where(offered.exists())
    elif category_id or service_item_id:
        offered = (
            sa.select(Listing.id)
            .join(ServiceItem, ServiceItem.id == Listing.service_item_id)
            .where(Listing.organisation_id == Organisation.id, eligibility.listing_visible_sql(on))
        )
        if category_id:
            offered = offered.where(ServiceItem.category_id == category_id)
        if service_item_id:
            offered = offered.where(Listing.service_item_id == service_item_id)
        stmt = stmt.where(offered.exists())
    return stmt.order_by(*order)


def agency_cards(orgs: list[Organisation], *, on: date | None = None) -> list[AgencyCard]:
    """Regions, valid qualifications and visible offers for many agencies in four queries."""
    on = on or eligibility.today()
    ids = [o.id for o in orgs]
    if not ids:
        return []
    nationwide = {
        org_id: flag
        for org_id, flag in db.session.execute(
            sa.select(AgencyProfile.organisation_id, AgencyProfile.serves_nationwide)
            .where(AgencyProfile.organisation_id.in_(ids))
        ).all()
    }
    regions: dict[int, list[str]] = {}
    for org_id, code in db.session.execute(
        sa.select(ServiceRegion.organisation_id, ServiceRegion.region_code)
        .where(ServiceRegion.organisation_id.in_(ids))
        .order_by(ServiceRegion.region_code)
    ).all():
        regions.setdefault(org_id, []).append(code)
    quals: dict[int, list[tuple[str, str]]] = {}
    for org_id, name, level in db.session.execute(
        sa.select(Qualification.organisation_id, QualificationType.name, Qualification.level)
        .join(QualificationType, QualificationType.id == Qualification.qualification_type_id)
        .where(Qualification.organisation_id.in_(ids), Qualification.valid_from <= on,
               Qualification.valid_to >= on)
        .order_by(QualificationType.code, Qualification.id)
    ).all():
        quals.setdefault(org_id, []).append((name, level))
    offers: dict[int, list[tuple[int, str]]] = {}
    if visibility.use_projection(on):
        lv = ListingVisibility
        offered = (
            sa.select(lv.organisation_id, ServiceItem.id, ServiceItem.name)
            .join(ServiceItem, ServiceItem.id == lv.service_item_id)
            .where(lv.organisation_id.in_(ids))
        )
    else:
        offered = (
            sa.select(Listing.organisation_id, ServiceItem.id, ServiceItem.name)
            .join(ServiceItem, ServiceItem.id == Listing.service_item_id)
            .where(Listing.organisation_id.in_(ids), eligibility.listing_visible_sql(on))
        )
    for org_id, item_id, name in db.session.execute(offered.order_by(ServiceItem.code)).all():
        offers.setdefault(org_id, []).append((item_id, name))
    return [
        AgencyCard(
            organisation=o,
            nationwide=nationwide.get(o.id, True),
            regions=regions.get(o.id, []),
            qualifications=quals.get(o.id, []),
            offers=offers.get(o.id, []),
        )
        for o in orgs
    ]


def visible_listings(org_id: int, *, on: date | None = None) -> list[Listing]:
    """The agency's listings shown today, with item and current terms."""
    on = on or eligibility.today()
    return list(
        db.session.execute(
            sa.select(Listing)
            .join(ListingVersion, _version_join())
            .join(ServiceItem, ServiceItem.id == Listing.service_item_id)
            .options(contains_eager(Listing.current), contains_eager(Listing.service_item))
            .where(Listing.organisation_id == org_id, visibility.visible_sql(on))
            .order_by(ServiceItem.code)
        ).scalars()
    )


def public_listings_query(*, service_item_id: int | None = None, on: date | None = None) -> sa.Select:
    """Every listing shown publicly today (optionally of one service item), with its current terms."""
    on = on or eligibility.today()
    stmt = (
        sa.select(Listing)
        .join(ListingVersion, _version_join())
        .join(ServiceItem, ServiceItem.id == Listing.service_item_id)
        .join(Organisation, Organisation.id == Listing.organisation_id)
        .options(contains_eager(Listing.current), contains_eager(Listing.service_item),
                 contains_eager(Listing.organisation))
        .where(visibility.visible_sql(on))
    )
    if service_item_id is not None:
        stmt = stmt.where(Listing.service_item_id == service_item_id)
    return stmt
