"""Who may bid on a request (eligibility to bid): a visible listing, a valid qualification, no
sanction, no tie to the deciding department, not a related party of the enterprise, not excluded;
and whether an offer's price and days keep to the request and to the agency's listing.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import Organisation, OrgKind
from marketplace.agencies.eligibility import (
    agency_is_conflicted,
    agency_is_sanctioned,
    agency_qualifies_for,
    listing_visible_sql,
    valid_qualification_sql,
)
from marketplace.agencies.models import FeeKind, Listing
from marketplace.agencies.services import commitment_at
from marketplace.core.db import utcnow
from marketplace.core.money import MAX_FEN, format_fen
from marketplace.extensions import db
from marketplace.procurement._common import _norm_code, _norm_person, china_date
from marketplace.procurement.models import (
    MAX_BID_DAYS,
    PurchaseRequest,
    RequestStatus,
    SelectionMethod,
)


def active_listing(org_id: int, service_item_id: int, on: date) -> Listing | None:
    """The agency's published listing for the item, if it is visible (qualified, not sanctioned) on ``on``."""
    return db.session.execute(
        sa.select(Listing).where(
            Listing.organisation_id == org_id, Listing.service_item_id == service_item_id,
            listing_visible_sql(on),
        )
    ).scalar_one_or_none()


def listed_agencies(service_item_id: int, on: date) -> list[Organisation]:
    """Agencies with a visible listing for the item on ``on``, by name."""
    return list(db.session.execute(
        sa.select(Organisation).join(Listing, Listing.organisation_id == Organisation.id)
        .where(Listing.service_item_id == service_item_id, listing_visible_sql(on))
        .order_by(Organisation.name)
    ).scalars())


def is_related_party(agency: Organisation, enterprise: Organisation) -> bool:
    """Same unified social credit code or same legal representative: the agency may not bid."""
    if _norm_code(agency.uscc) == _norm_code(enterprise.uscc):
        return True
    rep = _norm_person(agency.legal_representative)
    return bool(rep) and rep == _norm_person(enterprise.legal_representative)


def bid_problems(req: PurchaseRequest, org: Organisation | None, now: datetime, *,
                 check_status: bool = True) -> list:
    """Why ``org`` may not bid on ``req`` at ``now`` (translated lazily); empty when it may."""
    if org is None:
        return [_l("Only intermediary agencies can bid.")]
    problems = []
    if check_status:
        if req.status is RequestStatus.CANCELLED:
            return [_l("This request was cancelled.")]
        if req.status is not RequestStatus.PUBLISHED:
            return [_l("This request is not open for bids.")]
        if now >= req.bidding_deadline:
            return [_l("The bidding deadline has passed.")]
    if org.id == req.enterprise_id:
        return [_l("An enterprise cannot bid on its own request.")]
    if org.kind is not OrgKind.AGENCY:
        return [_l("Only intermediary agencies can bid.")]
    if is_related_party(org, req.enterprise):
        problems.append(_l("Your agency shares its unified social credit code or legal representative "
                           "with the enterprise, so it may not bid."))
    if req.selection_method is SelectionMethod.DIRECT and org.id != req.direct_agency_id:
        problems.append(_l("This request selects one agency directly; no other agency can bid."))
    excluded = next((e for e in req.exclusions if e.agency_id == org.id), None)
    if excluded is not None:
        problems.append(_l("Your agency is excluded from this request: %(reason)s", reason=excluded.reason))
    on = china_date(now)
    if agency_is_sanctioned(org.id, on):
        problems.append(_l("Your agency is suspended or blacklisted and cannot bid."))
    if agency_is_conflicted(org.id, req.approval_case.department_id):
        problems.append(_l("A regulator found your agency tied to %(department)s, the department "
                           "deciding this approval case, so it may not take part in this request.",
                           department=req.approval_case.department.name))
    if not agency_qualifies_for(org, req.service_item, on):
        problems.append(_l("Your agency holds no valid qualification meeting this service item's requirement."))
    for qtype in req.required_qualifications:
        held = db.session.execute(sa.select(valid_qualification_sql(org.id, qtype.id, on))).scalar()
        if not held:
            problems.append(_l("This request requires a valid “%(name)s” certificate.", name=qtype.name))
    if active_listing(org.id, req.service_item_id, on) is None:
        problems.append(_l("Your agency has no published listing for this service item that is shown today."))
    return problems


def can_bid(req: PurchaseRequest, org: Organisation | None, now: datetime | None = None) -> bool:
    """Whether ``org`` may bid on ``req`` now."""
    return not bid_problems(req, org, now or utcnow())


def _offer_problem(req: PurchaseRequest, org_id: int, price_fen, days, when: datetime):
    """The first reason the price/time offer breaks a rule, as (message, field), or None."""
    if not isinstance(price_fen, int) or price_fen <= 0 or price_fen > MAX_FEN:
        return _l("Enter a price above zero."), "price"
    if not isinstance(days, int) or not 1 <= days <= MAX_BID_DAYS:
        return _l("Enter the number of working days, from 1 to %(n)d.", n=MAX_BID_DAYS), "days"
    if req.is_budgeted and price_fen > req.budget_ceiling_fen:
        return _l("The price is above the budget ceiling of %(ceiling)s.",
                  ceiling=format_fen(req.budget_ceiling_fen)), "price"
    if not req.is_budgeted and not req.quote_min_fen <= price_fen <= req.quote_max_fen:
        return _l("The price must be within the quote range %(low)s – %(high)s.",
                  low=format_fen(req.quote_min_fen), high=format_fen(req.quote_max_fen)), "price"
    listing = db.session.execute(
        sa.select(Listing).where(Listing.organisation_id == org_id,
                                 Listing.service_item_id == req.service_item_id)
    ).scalar_one_or_none()
    terms = commitment_at(listing, when) if listing is not None else None
    if terms is None:
        return _l("Your agency has no listing for this service item."), "price"
    if days > terms.time_limit_days:
        return _l("Your listing commits to at most %(n)d working days; you cannot offer more.",
                  n=terms.time_limit_days), "days"
    if terms.fee_kind in (FeeKind.FIXED, FeeKind.RANGE) and price_fen > terms.fee_max_fen:
        return _l("The price is above the fee your listing commits to (at most %(fee)s).",
                  fee=format_fen(terms.fee_max_fen)), "price"
    return None
