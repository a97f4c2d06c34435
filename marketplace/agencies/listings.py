"""Listings and their three commitments (fee, time limit, service standard): creating one,
versioning its terms, publishing and withdrawing it (the listing state machine), reading the
terms in force at a moment, the agency's own list, and the exit of a blacklisted agency (清退)
through the sanctions signal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from marketplace.accounts.models import Organisation
from marketplace.agencies import eligibility
from marketplace.agencies.models import (
    CHANGE_NOTE_MAX,
    FEE_BASIS_MAX,
    MAX_DISCOUNT_BP,
    MAX_TIME_LIMIT_DAYS,
    STANDARD_MAX,
    FeeKind,
    Listing,
    ListingStatus,
    ListingVersion,
)
from marketplace.agencies.permissions import check_agency_actor, get_agency
from marketplace.agencies.profile import current_declaration
from marketplace.agencies.states import LISTING_MACHINE
from marketplace.audit.services import record_event
from marketplace.catalog.models import FeeBasis, ServiceItem
from marketplace.core.db import utcnow
from marketplace.core.errors import ConcurrentUpdate, DomainError, NotFound
from marketplace.core.money import MAX_FEN
from marketplace.core.text import MAX_DB_INT, clean_text, is_db_id
from marketplace.extensions import db
from marketplace.sanctions.signals import blacklist_in_force

# --- listings and their commitments ----------------------------------------------------------


@dataclass(frozen=True)
class Commitment:
    """The three commitments of a listing as entered (fee in fen, time in working days)."""

    fee_kind: FeeKind
    time_limit_days: int
    service_standard: str
    fee_basis: str = ""
    fee_min_fen: int | None = None
    fee_max_fen: int | None = None
    discount_bp: int | None = None
    change_note: str = ""


def _check_fen(value, field: str) -> int:
    if value is None:
        raise DomainError(_l("Enter an amount in yuan."), field=field)
    if not isinstance(value, int) or value < 0 or value > MAX_FEN:
        raise DomainError(_l("The amount must be between 0 and 100,000,000,000 yuan."), field=field)
    return value


def check_commitment(item: ServiceItem, terms: Commitment) -> Commitment:
    """Normalise ``terms`` and check them against ``item``.

    Raises:
        DomainError: a fee range whose minimum exceeds its maximum, a discount on an item without
            a government standard, a time limit out of range or above the statutory one, or a
            text too long (``field`` says which).
    """
    kind = FeeKind(terms.fee_kind)
    fee_min = fee_max = discount = None
    if kind is FeeKind.FIXED:
        fee_min = fee_max = _check_fen(terms.fee_min_fen, "fee_amount")
    elif kind is FeeKind.RANGE:
        fee_min = _check_fen(terms.fee_min_fen, "fee_min")
        fee_max = _check_fen(terms.fee_max_fen, "fee_max")
        if fee_min > fee_max:
            raise DomainError(
                _l("The lowest fee must not be higher than the highest fee."), field="fee_max"
            )
    else:
        if item.fee_basis is not FeeBasis.GOVERNMENT:
            raise DomainError(
                _l("This service has no government fee standard; state a fixed fee or a range."),
                field="fee_kind",
            )
        discount = terms.discount_bp
        if not isinstance(discount, int) or not 0 <= discount <= MAX_DISCOUNT_BP:
            raise DomainError(_l("The discount must be between 0 and 99.99 %."), field="discount_percent")
    days = terms.time_limit_days
    if not isinstance(days, int) or not 1 <= days <= MAX_TIME_LIMIT_DAYS:
        raise DomainError(
            _l("The time limit must be between 1 and %(n)d working days.", n=MAX_TIME_LIMIT_DAYS),
            field="time_limit_days",
        )
    if item.statutory_days is not None and days > item.statutory_days:
        raise DomainError(
            _l("The time limit may not exceed the statutory limit of %(n)d working days.",
               n=item.statutory_days),
            field="time_limit_days",
        )
    return Commitment(
        fee_kind=kind,
        fee_min_fen=fee_min,
        fee_max_fen=fee_max,
        discount_bp=discount,
        fee_basis=clean_text(terms.fee_basis, max_len=FEE_BASIS_MAX, field="fee_basis", multiline=True),
        time_limit_days=days,
        service_standard=clean_text(
            terms.service_standard, max_len=STANDARD_MAX, field="service_standard", multiline=True
        ),
        change_note=clean_text(terms.change_note, max_len=CHANGE_NOTE_MAX, field="change_note", required=False),
    )


def _terms_payload(terms: Commitment) -> dict:
    return {
        "fee_kind": str(terms.fee_kind), "fee_min_fen": terms.fee_min_fen,
        "fee_max_fen": terms.fee_max_fen, "discount_bp": terms.discount_bp,
        "fee_basis": terms.fee_basis, "time_limit_days": terms.time_limit_days,
        "service_standard": terms.service_standard, "change_note": terms.change_note,
    }


def _version_from(terms: Commitment, *, listing_id: int, version: int, actor) -> ListingVersion:
    return ListingVersion(
        listing_id=listing_id, version=version, fee_kind=terms.fee_kind,
        fee_min_fen=terms.fee_min_fen, fee_max_fen=terms.fee_max_fen, discount_bp=terms.discount_bp,
        fee_basis=terms.fee_basis, time_limit_days=terms.time_limit_days,
        service_standard=terms.service_standard, change_note=terms.change_note,
        valid_from=utcnow(), created_by_id=getattr(actor, "id", None),
    )


def create_listing(org: Organisation, item: ServiceItem, terms: Commitment, *, actor) -> Listing:
    """Start a listing (a draft) for one service item with its first set of commitments.

    Raises:
        PermissionDenied: the actor is not the agency's staff.
        DomainError: the item is inactive, already listed by this agency, or the terms break a rule.
    """
    check_agency_actor(org, actor)
    if not item.is_active:
        raise DomainError(_l("This service item is no longer in the catalogue."), field="service_item_id")
    terms = check_commitment(item, terms)
    exists = db.session.execute(
        sa.select(Listing.id).where(Listing.organisation_id == org.id, Listing.service_item_id == item.id)
    ).first()
    if exists:
        raise DomainError(
            _l("You already have a listing for this service item; change that one instead."),
            field="service_item_id",
        )
    listing = Listing(organisation_id=org.id, service_item_id=item.id, current_version=1)
    db.session.add(listing)
    db.session.flush()
    db.session.add(_version_from(terms, listing_id=listing.id, version=1, actor=actor))
    db.session.flush()
    record_event(
        "listing.created", listing, actor=actor,
        payload={"org": org.id, "service_item": item.code, "version": 1, **_terms_payload(terms)},
    )
    return listing


def update_commitment(
    listing: Listing, terms: Commitment, *, actor, expected_version: int | None = None
) -> ListingVersion:
    """Change the commitments: a new version in force from now; the old ones stay on record.

    ``expected_version`` is the version the editor saw; if someone saved since, nothing changes.

    Raises:
        PermissionDenied: the actor is not the agency's staff.
        ConcurrentUpdate: the listing changed since the editor loaded it.
        DomainError: the terms break a rule.
    """
    org = get_agency(listing.organisation_id)
    check_agency_actor(org, actor)
    item = db.session.get(ServiceItem, listing.service_item_id)
    terms = check_commitment(item, terms)
    seen = listing.current_version if expected_version is None else expected_version
    if not is_db_id(seen) or seen >= MAX_DB_INT:
        raise ConcurrentUpdate(_l("Someone else changed this listing first. Please reload."))
    new_version = seen + 1
    db.session.flush()
    result = db.session.execute(
        sa.update(Listing)
        .where(Listing.id == listing.id, Listing.current_version == seen)
        .values(current_version=new_version, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise ConcurrentUpdate(_l("Someone else changed this listing first. Please reload."))
    version = _version_from(terms, listing_id=listing.id, version=new_version, actor=actor)
    db.session.add(version)
    db.session.flush()
    db.session.expire(listing, ["current_version", "current", "versions", "updated_at"])
    record_event(
        "listing.commitment_changed", listing, actor=actor,
        payload={"version": new_version, **_terms_payload(terms)},
    )
    return version


def publishing_problems(listing: Listing, *, on: date | None = None) -> list[str]:
    """Why the listing cannot be published (or shown) today; empty when nothing stops it."""
    on = on or eligibility.today()
    problems = []
    item = db.session.get(ServiceItem, listing.service_item_id)
    if not item.is_active:
        problems.append(str(_l("The service item is no longer in the catalogue.")))
    if current_declaration(listing.organisation_id) is None:
        problems.append(str(_l("Sign the independence declaration first.")))
    if not eligibility.agency_qualifies_for(listing.organisation_id, item, on):
        names = ", ".join(q.name for q in item.qualification_types)
        problems.append(str(_l(
            "Your agency holds no valid qualifications meeting this item’s requirement (%(rule)s: %(names)s).",
            rule=item.qualification_rule.label, names=names,
        )))
    version = listing.current
    if item.statutory_days is not None and version.time_limit_days > item.statutory_days:
        problems.append(str(_l(
            "The time limit exceeds the statutory limit of %(n)d working days.", n=item.statutory_days
        )))
    if version.fee_kind is FeeKind.DISCOUNT and item.fee_basis is not FeeBasis.GOVERNMENT:
        problems.append(str(_l("This service has no government fee standard to discount.")))
    if eligibility.agency_is_sanctioned(listing.organisation_id, on):
        problems.append(str(_l("The agency is suspended or blacklisted.")))
    return problems


def publish_listing(listing: Listing, *, actor) -> Listing:
    """Publish a draft or withdrawn listing.

    Raises:
        PermissionDenied: the actor is not the agency's staff.
        DomainError: no independence declaration, no valid qualifications meeting the item's
            requirement, terms that no longer fit the item, or a sanction.
        InvalidTransition / ConcurrentUpdate: the status does not allow it.
    """
    org = get_agency(listing.organisation_id)
    check_agency_actor(org, actor)
    problems = publishing_problems(listing)
    if problems:
        raise DomainError(" ".join(problems))
    return LISTING_MACHINE.transition(
        listing, ListingStatus.PUBLISHED, actor=actor, payload={"version": listing.current_version}
    )


def withdraw_listing(listing: Listing, *, actor, reason: str | None = None) -> Listing:
    """Withdraw a listing from the market (it can be published again later).

    Raises:
        PermissionDenied: the actor is not the agency's staff.
        InvalidTransition / ConcurrentUpdate: the status does not allow it.
    """
    org = get_agency(listing.organisation_id)
    check_agency_actor(org, actor)
    reason = clean_text(reason, max_len=CHANGE_NOTE_MAX, field="reason", required=False) or None
    return LISTING_MACHINE.transition(listing, ListingStatus.WITHDRAWN, actor=actor, reason=reason)


def commitment_at(listing: Listing | int, when: datetime | date) -> ListingVersion | None:
    """The commitments in force at ``when`` (a date means the end of that day in China).

    None if the listing had no terms yet at that moment.
    """
    listing_id = getattr(listing, "id", listing)
    if not isinstance(when, datetime):
        when = eligibility.end_of_day(when)
    return db.session.execute(
        sa.select(ListingVersion)
        .where(ListingVersion.listing_id == listing_id, ListingVersion.valid_from <= when)
        .order_by(ListingVersion.version.desc())
        .limit(1)
    ).scalar_one_or_none()


def listing_history(listing_id: int) -> list[ListingVersion]:
    """Every version of a listing, newest first."""
    return list(
        db.session.execute(
            sa.select(ListingVersion).where(ListingVersion.listing_id == listing_id)
            .order_by(ListingVersion.version.desc())
        ).scalars()
    )


def get_listing(listing_id: int) -> Listing:
    """A listing with its item, agency and current terms.

    Raises:
        NotFound: no such listing.
    """
    if not is_db_id(listing_id):
        raise NotFound(_l("This listing does not exist."))
    listing = db.session.execute(
        sa.select(Listing)
        .options(
            joinedload(Listing.service_item).joinedload(ServiceItem.category),
            joinedload(Listing.organisation),
            joinedload(Listing.current),
        )
        .where(Listing.id == listing_id)
    ).unique().scalar_one_or_none()
    if listing is None:
        raise NotFound(_l("This listing does not exist."))
    return listing


@dataclass
class OwnListing:
    """A listing as its agency sees it: with whether it shows today and why not."""

    listing: Listing
    qualifies: bool
    compliant: bool
    sanctioned: bool

    @property
    def visible(self) -> bool:
        return (self.listing.status is ListingStatus.PUBLISHED and self.qualifies
                and self.compliant and not self.sanctioned)


def own_listings(org_id: int, *, on: date | None = None) -> list[OwnListing]:
    """The agency's listings with today's visibility, in one query."""
    on = on or eligibility.today()
    rows = db.session.execute(
        sa.select(
            Listing,
            eligibility.qualifies_sql(Listing.organisation_id, Listing.service_item_id, on).label("qualifies"),
            eligibility.listing_compliant_sql().label("compliant"),
            eligibility.sanctioned_sql(Listing.organisation_id, on).label("sanctioned"),
        )
        .options(joinedload(Listing.service_item), joinedload(Listing.current))
        .where(Listing.organisation_id == org_id)
        .order_by(Listing.updated_at.desc(), Listing.id.desc())
    ).unique().all()
    return [OwnListing(r[0], bool(r.qualifies), bool(r.compliant), bool(r.sanctioned)) for r in rows]


def listable_items(org_id: int) -> list[ServiceItem]:
    """Active service items the agency has no listing for yet."""
    taken = sa.select(Listing.service_item_id).where(Listing.organisation_id == org_id)
    return list(
        db.session.execute(
            sa.select(ServiceItem)
            .where(ServiceItem.is_active.is_(True), ServiceItem.id.not_in(taken))
            .order_by(ServiceItem.code)
        ).scalars()
    )


# --- a blacklisting's exit (清退) -------------------------------------------------------------


def withdraw_all_listings(org_id: int, *, reason: str, actor) -> int:
    """Withdraw every published listing of an agency (its exit from the market).

    Returns how many listings were withdrawn (0 when none is published: safe to repeat).
    """
    listings = db.session.execute(
        sa.select(Listing).where(Listing.organisation_id == org_id, Listing.status == ListingStatus.PUBLISHED)
        .order_by(Listing.id)
    ).scalars().all()
    for listing in listings:
        withdraw_listing(listing, actor=actor, reason=reason)
    return len(listings)


def _on_blacklist_in_force(case, **_extra) -> None:
    """Sanctions: a blacklisting is in force; its listings leave the market (same transaction)."""
    withdraw_all_listings(case.organisation_id, reason=f"blacklisted: {case.reference}",
                          actor=f"sanction {case.reference}")


blacklist_in_force.connect(_on_blacklist_in_force)
