"""Who may offer what, on which day: the predicates other domains rely on.

Everything here is an SQL expression first, so that public pages filter in the database and
the answer changes at midnight (Asia/Shanghai) without anyone acting. The Python predicates
run the very same expressions, so both always agree.

Hooks for later issues:
- ``sanctioned_sql`` / ``agency_is_sanctioned``: suspensions and the blacklist, from the
  sanctions domain (SQL-expressible, so lists filter in the database).
- ``agency_qualifies_for``: the procurement issue checks bidders with it.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from marketplace.agencies.models import (
    FeeKind,
    Listing,
    ListingStatus,
    ListingVersion,
    Qualification,
)
from marketplace.catalog.models import (
    FeeBasis,
    QualificationRule,
    ServiceItem,
    service_item_qualifications,
)
from marketplace.extensions import db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def today() -> date:
    """Today's date in China (Asia/Shanghai): the day validity is judged on."""
    return datetime.now(SHANGHAI).date()


def end_of_day(day: date) -> datetime:
    """The last instant of ``day`` in Asia/Shanghai, timezone-aware."""
    return datetime.combine(day, time.max, tzinfo=SHANGHAI)


def sanctioned_sql(org_id, on: date):
    """SQL: true when the agency is suspended or blacklisted on ``on``.

    ``org_id`` is a column or expression holding the organisation id.
    """
    from marketplace.sanctions.eligibility import sanctioned_sql as in_force

    return in_force(org_id, on)


def agency_is_sanctioned(org_id: int, on: date | None = None) -> bool:
    """Whether the agency is suspended or blacklisted on ``on`` (default: today)."""
    on = on or today()
    return bool(db.session.execute(sa.select(sanctioned_sql(sa.literal(org_id), on))).scalar())


def conflicted_sql(org_id, department_id):
    """SQL: true when the agency is barred from ``department_id``'s approval cases (红顶中介).

    An active independence flag ties the agency to that department; ``org_id`` and
    ``department_id`` are columns or expressions.
    """
    from marketplace.independence.eligibility import flagged_sql

    return flagged_sql(org_id, department_id)


def agency_is_conflicted(org_id: int, department_id: int) -> bool:
    """Whether an active independence flag bars the agency from the department's approval cases."""
    return bool(db.session.execute(
        sa.select(conflicted_sql(sa.literal(org_id), sa.literal(department_id)))
    ).scalar())


def valid_qualification_sql(org_id, qualification_type_id, on: date):
    """SQL: the agency holds a certificate of that type valid on ``on``."""
    return (
        sa.select(Qualification.id)
        .where(
            Qualification.organisation_id == org_id,
            Qualification.qualification_type_id == qualification_type_id,
            Qualification.valid_from <= on,
            Qualification.valid_to >= on,
        )
        # Correlate to whichever enclosing query supplies the organisation and the type.
        .correlate_except(Qualification)
        .exists()
    )


def qualifies_sql(org_id, service_item_id, on: date):
    """SQL: the agency's valid certificates satisfy the item's "any of" / "all of" requirement."""
    siq = service_item_qualifications.alias("siq")
    held = valid_qualification_sql(org_id, siq.c.qualification_type_id, on)
    any_held = sa.select(siq.c.qualification_type_id).where(
        siq.c.service_item_id == service_item_id, held
    ).exists()
    one_missing = sa.select(siq.c.qualification_type_id).where(
        siq.c.service_item_id == service_item_id, ~held
    ).exists()
    si = sa.orm.aliased(ServiceItem, name="si_rule")
    rule = sa.select(si.qualification_rule).where(si.id == service_item_id).scalar_subquery()
    return sa.case(
        (rule.is_(None), sa.false()),
        (rule == QualificationRule.NONE, sa.true()),
        (rule == QualificationRule.ANY, any_held),
        else_=~one_missing,
    )


def agency_qualifies_for(org, service_item, on: date | None = None) -> bool:
    """Whether ``org`` holds qualifications satisfying ``service_item``'s requirement on ``on``."""
    on = on or today()
    org_id = getattr(org, "id", org)
    item_id = getattr(service_item, "id", service_item)
    return bool(
        db.session.execute(
            sa.select(qualifies_sql(sa.literal(org_id), sa.literal(item_id), on))
        ).scalar()
    )


def listing_compliant_sql():
    """SQL: the listing's current terms fit its service item as the catalogue stands today.

    The item must be active; the time limit must not exceed the statutory one (an administrator
    may lower it after the listing was published); a discount needs a government standard.
    """
    si = sa.orm.aliased(ServiceItem, name="si_fit")
    lv = sa.orm.aliased(ListingVersion, name="lv_fit")
    return (
        sa.select(si.id)
        .join(lv, sa.and_(lv.listing_id == Listing.id, lv.version == Listing.current_version))
        .where(
            si.id == Listing.service_item_id,
            si.is_active.is_(True),
            sa.or_(si.statutory_days.is_(None), lv.time_limit_days <= si.statutory_days),
            sa.or_(lv.fee_kind != FeeKind.DISCOUNT, si.fee_basis == FeeBasis.GOVERNMENT),
        )
        .exists()
    )


def listing_visible_sql(on: date):
    """SQL (over ``Listing``): shown on public pages on ``on``.

    Published, terms fitting the catalogue, the agency qualified that day and not sanctioned.
    """
    return sa.and_(
        Listing.status == ListingStatus.PUBLISHED,
        listing_compliant_sql(),
        qualifies_sql(Listing.organisation_id, Listing.service_item_id, on),
        sa.not_(sanctioned_sql(Listing.organisation_id, on)),
    )


def is_listing_visible(listing: Listing, on: date | None = None) -> bool:
    """Whether one listing is shown on public pages on ``on`` (default: today).

    Answered from the visibility projection when it holds ``on`` (see ``agencies.visibility``).
    """
    from marketplace.agencies.visibility import is_visible

    return is_visible(getattr(listing, "id", listing), on or today())
