"""Closing bidding at the deadline (开标): the bids are revealed on the record, checked again, and
the request's selection method (the strategies in ``selection.py``) ranks the valid ones; too few
and the request fails (流标). Abnormally low prices flagged here await the enterprise's decision.
"""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from marketplace.audit.services import record_event
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, InvalidTransition
from marketplace.extensions import db
from marketplace.procurement._common import SYSTEM, _config, record_text
from marketplace.procurement.eligibility import _offer_problem, bid_problems
from marketplace.procurement.events import index_announcement, request_event
from marketplace.procurement.models import (
    Bid,
    BidStatus,
    PurchaseRequest,
    RequestStatus,
    SelectionMethod,
)
from marketplace.procurement.selection import Candidate, SelectionContext, strategy_for
from marketplace.procurement.states import BID_MACHINE, REQUEST_MACHINE


def _bids_of(req: PurchaseRequest, *statuses: BidStatus) -> list[Bid]:
    stmt = sa.select(Bid).options(joinedload(Bid.agency)).where(Bid.request_id == req.id).order_by(Bid.id)
    if statuses:
        stmt = stmt.where(Bid.status.in_(statuses))
    return list(db.session.execute(stmt.execution_options(populate_existing=True)).scalars())


def selection_context(req: PurchaseRequest) -> SelectionContext:
    """What the request's method needs, from the request and the configuration."""
    weights = None
    if req.selection_method is SelectionMethod.SCORING:
        weights = (req.weight_price, req.weight_time, req.weight_credit)
    return SelectionContext(
        seed_hex=req.draw_seed, weights=weights, direct_agency_id=req.direct_agency_id,
        abnormal_mean_pct=_config("PROCUREMENT_ABNORMAL_MEAN_PCT"),
        abnormal_next_pct=_config("PROCUREMENT_ABNORMAL_NEXT_PCT"),
    )


def _candidates(bids: list[Bid]) -> list[Candidate]:
    return [Candidate(b.id, b.agency_id, b.agency.name, b.price_fen, b.days, b.final_submitted_at)
            for b in bids]


def _evaluate(req: PurchaseRequest, valid: list[Bid], *, actor, now: datetime) -> bool:
    """Rank the valid bids and store the outcome; fail the request if too few. True if it can go on."""
    strategy = strategy_for(req.selection_method)
    minimum = strategy.min_valid_bids(current_app.config)
    outcome = strategy.rank(_candidates(valid), selection_context(req))
    data = outcome.as_dict()
    data.update({"valid_bids": len(valid), "minimum": minimum, "evaluated_at": now.isoformat()})
    flagged = set(outcome.flagged)
    for bid in valid:
        bid.is_abnormal = bid.id in flagged
    req.selection_json = json.dumps(data, ensure_ascii=False, sort_keys=True)
    db.session.flush()
    record_event("purchase_request.evaluated", req, actor=actor, payload=data)
    if len(valid) < minimum:
        _fail(req, record_text(_l("Only %(n)d valid bid(s); the method needs at least %(min)d.",
                                  n=len(valid), min=minimum)), actor=actor, now=now)
        return False
    return True


def _fail(req: PurchaseRequest, reason: str, *, actor, now: datetime) -> None:
    req.failure_reason = reason
    req.ended_at = now
    REQUEST_MACHINE.transition(req, RequestStatus.FAILED, actor=actor, reason=reason)
    for bid in _bids_of(req, BidStatus.SUBMITTED):
        BID_MACHINE.transition(bid, BidStatus.LOST, actor=actor)
    index_announcement(req)
    request_event(req, "request.failed", reason=reason)


def close_bidding(req: PurchaseRequest, *, now: datetime | None = None, actor=SYSTEM) -> RequestStatus:
    """Close bidding at the deadline: reveal the bids, re-check them, apply the method.

    Fails the request when fewer valid bids remain than the method needs; otherwise the ranking
    is stored and the award follows (``award_request``) unless the enterprise must first decide
    on an abnormally low price.

    Raises:
        DomainError: the deadline has not been reached.
        InvalidTransition / ConcurrentUpdate: the request is not (or no longer) published.
    """
    now = now or utcnow()
    if req.status is not RequestStatus.PUBLISHED:
        raise InvalidTransition(_l("Bidding is not open on this request."))
    if now < req.bidding_deadline:
        raise DomainError(_l("Bidding is open until the deadline."))
    req.closed_at = now
    REQUEST_MACHINE.transition(req, RequestStatus.BIDDING_CLOSED, actor=actor,
                               payload={"deadline": req.bidding_deadline.isoformat()})
    request_event(req, "request.closed", closed_at=now.isoformat())
    for bid in _bids_of(req):
        record_event("bid.revealed", bid, actor=actor, payload={
            "request": req.id, "agency": bid.agency_id, "price_fen": bid.price_fen, "days": bid.days,
            "version": bid.version, "nonce": bid.seal_nonce, "commitment": bid.commitment,
            "status": str(bid.status), "final_submitted_at": bid.final_submitted_at.isoformat(),
        })
    valid = []
    for bid in _bids_of(req, BidStatus.SUBMITTED):
        problems = bid_problems(req, bid.agency, now, check_status=False)
        offer = _offer_problem(req, bid.agency_id, bid.price_fen, bid.days, bid.final_submitted_at)
        if offer:
            problems.append(offer[0])
        if problems:
            bid.rejection_reason = record_text(problems[0])
            BID_MACHINE.transition(bid, BidStatus.REJECTED, actor=actor, reason=bid.rejection_reason)
        else:
            valid.append(bid)
    if _evaluate(req, valid, actor=actor, now=now):
        index_announcement(req)
        return RequestStatus.BIDDING_CLOSED
    return RequestStatus.FAILED


def pending_decisions(req: PurchaseRequest) -> list[Bid]:
    """Abnormally low bids the enterprise has not yet confirmed or rejected."""
    return list(db.session.execute(
        sa.select(Bid).where(Bid.request_id == req.id, Bid.status == BidStatus.SUBMITTED,
                             Bid.is_abnormal.is_(True), Bid.abnormal_decision.is_(None))
        .order_by(Bid.price_fen, Bid.id)
    ).scalars())
