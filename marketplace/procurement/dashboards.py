"""The dashboards: what an enterprise or an agency must do next and by when, its requests or its
own bids, and the open announcements an agency could bid on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from marketplace.agencies.eligibility import listing_visible_sql
from marketplace.agencies.models import Listing
from marketplace.extensions import db
from marketplace.procurement._common import china_date
from marketplace.procurement.award import award_is_final
from marketplace.procurement.bidding import live_bid
from marketplace.procurement.evaluation import pending_decisions
from marketplace.procurement.models import (
    Bid,
    BidStatus,
    PurchaseRequest,
    RequestStatus,
    SelectionMethod,
)
from marketplace.procurement.requests import next_round_of


@dataclass
class Task:
    """Something a user must do, and by when."""

    request: PurchaseRequest
    action: object
    due: datetime | None = None
    bid: Bid | None = None


def enterprise_tasks(org_id: int, now: datetime) -> list[Task]:
    """What the enterprise must do: publish drafts, decide abnormal prices, watch objection periods."""
    tasks = []
    reqs = db.session.execute(
        sa.select(PurchaseRequest).where(
            PurchaseRequest.enterprise_id == org_id,
            PurchaseRequest.status.in_([RequestStatus.DRAFT, RequestStatus.BIDDING_CLOSED,
                                        RequestStatus.AWARDED, RequestStatus.FAILED]),
        ).order_by(PurchaseRequest.id)
    ).scalars()
    for req in reqs:
        if req.status is RequestStatus.DRAFT:
            tasks.append(Task(req, _l("Check the draft and publish it"), req.bidding_deadline))
        elif req.status is RequestStatus.BIDDING_CLOSED and pending_decisions(req):
            tasks.append(Task(req, _l("Confirm or reject the abnormally low price(s) before the award")))
        elif req.status is RequestStatus.AWARDED and not award_is_final(req):
            tasks.append(Task(req, _l("Objection period running; the award becomes final after it"),
                              req.objection_deadline))
        elif req.status is RequestStatus.FAILED and next_round_of(req) is None:
            tasks.append(Task(req, _l("Bidding failed: publish the request again or cancel the need")))
    return tasks


def enterprise_requests(org_id: int, *, page: int = 1):
    """All the enterprise's requests, newest first."""
    return db.paginate(
        sa.select(PurchaseRequest).options(joinedload(PurchaseRequest.service_item))
        .where(PurchaseRequest.enterprise_id == org_id).order_by(PurchaseRequest.id.desc()),
        page=page, per_page=30, error_out=False,
    )


def agency_bids(org_id: int) -> list[Bid]:
    """The agency's own bids, newest first (its own: never anyone else's)."""
    return list(db.session.execute(
        sa.select(Bid).options(joinedload(Bid.request).joinedload(PurchaseRequest.service_item))
        .where(Bid.agency_id == org_id).order_by(Bid.id.desc()).limit(200)
    ).scalars())


def latest_bid_of(req: PurchaseRequest, org_id: int | None) -> Bid | None:
    """The organisation's newest bid on ``req`` (withdrawn ones included), for the bidder's own eyes."""
    if org_id is None:
        return None
    return db.session.execute(
        sa.select(Bid).where(Bid.request_id == req.id, Bid.agency_id == org_id).order_by(Bid.id.desc()).limit(1)
    ).scalar_one_or_none()


def agency_tasks(org_id: int, now: datetime) -> list[Task]:
    """What the agency must do: confirm direct selections, keep open bids current, answer awards."""
    tasks = []
    invited = db.session.execute(
        sa.select(PurchaseRequest).where(
            PurchaseRequest.status == RequestStatus.PUBLISHED,
            PurchaseRequest.selection_method == SelectionMethod.DIRECT,
            PurchaseRequest.direct_agency_id == org_id,
            PurchaseRequest.bidding_deadline > now,
        ).order_by(PurchaseRequest.bidding_deadline)
    ).scalars()
    for req in invited:
        if live_bid(req.id, org_id) is None:
            tasks.append(Task(req, _l("You were selected directly: confirm with your price and time"),
                              req.bidding_deadline))
    for bid in agency_bids(org_id):
        req = bid.request
        if bid.status is BidStatus.SUBMITTED and req.is_open_for_bids(now):
            tasks.append(Task(req, _l("Your bid can be revised or withdrawn until the deadline"),
                              req.bidding_deadline, bid))
        elif bid.status is BidStatus.WON and req.status is RequestStatus.AWARDED:
            tasks.append(Task(req, _l("You won: the award becomes final after the objection period"),
                              req.objection_deadline, bid))
    return tasks


def open_opportunities(org_id: int, now: datetime, limit: int = 20) -> list[PurchaseRequest]:
    """Open announcements for the service items the agency lists, soonest deadline first."""
    on = china_date(now)
    items = sa.select(Listing.service_item_id).where(Listing.organisation_id == org_id, listing_visible_sql(on))
    return list(db.session.execute(
        sa.select(PurchaseRequest).options(joinedload(PurchaseRequest.service_item))
        .where(PurchaseRequest.status == RequestStatus.PUBLISHED, PurchaseRequest.bidding_deadline > now,
               PurchaseRequest.service_item_id.in_(items),
               PurchaseRequest.selection_method != SelectionMethod.DIRECT)
        .order_by(PurchaseRequest.bidding_deadline).limit(limit)
    ).scalars())
