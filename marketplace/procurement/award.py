"""The award (中选): the enterprise's decision on abnormally low prices, the award to the first
valid bid of the ranking, passing it on to the next when the winner refuses or becomes ineligible,
its finality once the objection period ends with no objection open, and the time-driven steps the
job takes on a request.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import User
from marketplace.audit.services import record_event
from marketplace.core.db import utcnow
from marketplace.core.errors import (
    ConcurrentUpdate,
    DomainError,
    InvalidTransition,
    PermissionDenied,
)
from marketplace.core.text import clean_text
from marketplace.extensions import db
from marketplace.procurement._common import (
    SYSTEM,
    _check_owner,
    _is_official,
    _lock_request,
    record_text,
)
from marketplace.procurement.bidding import _own_bid
from marketplace.procurement.deadlines import objection_deadline_for
from marketplace.procurement.eligibility import bid_problems
from marketplace.procurement.evaluation import (
    _bids_of,
    _evaluate,
    _fail,
    close_bidding,
    pending_decisions,
)
from marketplace.procurement.events import index_announcement, request_event
from marketplace.procurement.models import (
    REASON_MAX,
    AbnormalDecision,
    Bid,
    BidStatus,
    PurchaseRequest,
    RequestStatus,
)
from marketplace.procurement.signals import award_finalised, award_passed, has_open_objection
from marketplace.procurement.states import BID_MACHINE, REQUEST_MACHINE


def decide_abnormal_bid(req: PurchaseRequest, bid: Bid, *, confirm: bool, reason: str, actor: User,
                        now: datetime | None = None) -> PurchaseRequest:
    """The enterprise confirms or rejects an abnormally low price, with a reason; the award follows
    once nothing is left to decide.

    Raises:
        PermissionDenied: not the owner.
        DomainError: the bid is not awaiting a decision, or no reason is given.
        ConcurrentUpdate: someone decided first.
    """
    now = now or utcnow()
    _check_owner(req.enterprise_id, actor)
    if bid.request_id != req.id or req.status is not RequestStatus.BIDDING_CLOSED:
        raise DomainError(_l("This bid is not awaiting a decision."))
    if not bid.is_abnormal or bid.abnormal_decision is not None or bid.status is not BidStatus.SUBMITTED:
        raise DomainError(_l("This bid is not awaiting a decision."))
    reason = clean_text(reason, max_len=REASON_MAX, field="reason", multiline=True)
    _lock_request(req, PurchaseRequest.status == RequestStatus.BIDDING_CLOSED,
                  message=_l("This request changed meanwhile. Please reload."))
    decision = AbnormalDecision.CONFIRMED if confirm else AbnormalDecision.REJECTED
    result = db.session.execute(
        sa.update(Bid)
        .where(Bid.id == bid.id, Bid.abnormal_decision.is_(None), Bid.status == BidStatus.SUBMITTED)
        .values(abnormal_decision=decision, decision_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise ConcurrentUpdate(_l("Someone else decided on this bid first. Please reload."))
    db.session.expire(bid)
    record_event(f"bid.abnormal_{decision}", bid, actor=actor, payload={"reason": reason})
    if not confirm:
        bid.rejection_reason = reason
        BID_MACHINE.transition(bid, BidStatus.REJECTED, actor=actor, reason=reason)
        if not _evaluate(req, _bids_of(req, BidStatus.SUBMITTED), actor=actor, now=now):
            return req
    if not pending_decisions(req):
        award_request(req, actor=actor, now=now)
    return req


def _set_winner(req: PurchaseRequest, bid: Bid, now: datetime) -> None:
    req.awarded_org_id = bid.agency_id
    req.awarded_price_fen = bid.price_fen
    req.awarded_days = bid.days
    req.awarded_at = now
    req.objection_deadline = objection_deadline_for(now)
    req.award_finalised_at = None


def award_request(req: PurchaseRequest, *, actor=SYSTEM, now: datetime | None = None) -> PurchaseRequest:
    """Award the request to the first valid bid of the stored ranking; the objection period opens.

    Raises:
        DomainError: abnormally low prices still await the enterprise's decision.
        InvalidTransition / ConcurrentUpdate: bidding is not closed (or someone awarded first).
    """
    now = now or utcnow()
    if req.status is not RequestStatus.BIDDING_CLOSED or req.outcome is None:
        raise InvalidTransition(_l("Only a request whose bidding has closed can be awarded."))
    if pending_decisions(req):
        raise DomainError(_l("Confirm or reject the abnormally low prices first."))
    submitted = {b.id: b for b in _bids_of(req, BidStatus.SUBMITTED)}
    entry = None
    # Eligibility is checked again at award time: a bidder flagged or sanctioned since the
    # close loses its place, on the record, and the award goes to the next in the ranking.
    for candidate in (e for e in req.outcome["ranking"] if e["bid_id"] in submitted):
        bid = submitted[candidate["bid_id"]]
        problems = bid_problems(req, bid.agency, now, check_status=False)
        if not problems:
            entry = candidate
            break
        bid.rejection_reason = record_text(problems[0])
        BID_MACHINE.transition(bid, BidStatus.REJECTED, actor=actor, reason=bid.rejection_reason)
        del submitted[bid.id]
    if entry is None:
        _fail(req, record_text(_l("No valid bid is left to award.")), actor=actor, now=now)
        return req
    winner = submitted[entry["bid_id"]]
    _set_winner(req, winner, now)
    REQUEST_MACHINE.transition(req, RequestStatus.AWARDED, actor=actor, payload={
        "winner": winner.agency_id, "bid": winner.id, "rank": entry["rank"],
        "price_fen": winner.price_fen, "days": winner.days, "at": now.isoformat(),
        "objection_deadline": req.objection_deadline.isoformat(),
    })
    BID_MACHINE.transition(winner, BidStatus.WON, actor=actor)
    for bid in submitted.values():
        if bid.id != winner.id:
            BID_MACHINE.transition(bid, BidStatus.LOST, actor=actor)
    index_announcement(req)
    request_event(req, "request.awarded", passed_from=None)
    return req


def winning_bid(req: PurchaseRequest) -> Bid | None:
    """The bid that holds the award (after the award only)."""
    if not req.has_winner:
        return None
    return db.session.execute(
        sa.select(Bid).where(Bid.request_id == req.id, Bid.status == BidStatus.WON)
    ).scalar_one_or_none()


def _may_pass_award(req: PurchaseRequest, actor) -> bool:
    # Only the system (jobs, signals) acts for no organisation; an API token acts for its own.
    if not hasattr(actor, "organisation_id") or _is_official(actor):
        return True
    return actor.organisation_id in (req.enterprise_id, req.awarded_org_id)


def pass_award_to_next(req: PurchaseRequest, reason: str, actor, *, now: datetime | None = None) -> Bid | None:
    """The winner refused or was found ineligible: the award passes to the next valid bid of the
    ranking, on the record; with nobody left the request fails. Returns the new winning bid.

    Raises:
        PermissionDenied: the actor is neither party (nor an official).
        DomainError: no reason given.
        InvalidTransition / ConcurrentUpdate: the request is not awarded (or changed meanwhile).
    """
    now = now or utcnow()
    if not _may_pass_award(req, actor):
        raise PermissionDenied(_l("Only the enterprise, the winner or an official can do this."))
    reason = clean_text(reason, max_len=REASON_MAX, field="reason", multiline=True)
    if req.status is not RequestStatus.AWARDED:
        raise InvalidTransition(_l("The award can pass on only before the contract is signed."))
    current = winning_bid(req)
    if current is None:
        raise InvalidTransition(_l("This request has no winner."))
    current.rejection_reason = reason
    BID_MACHINE.transition(current, BidStatus.REJECTED, actor=actor, reason=reason)
    losers = {b.id: b for b in _bids_of(req, BidStatus.LOST)}
    following = [e for e in req.outcome["ranking"] if e["bid_id"] in losers]
    nxt = None
    for entry in following:
        bid = losers[entry["bid_id"]]
        problems = bid_problems(req, bid.agency, now, check_status=False)
        if not problems:
            nxt = (bid, entry)
            break
        bid.rejection_reason = record_text(problems[0])
        BID_MACHINE.transition(bid, BidStatus.REJECTED, actor=actor, reason=bid.rejection_reason)
    from_org = current.agency_id
    if nxt is None:
        record_event("purchase_request.award_passed", req, actor=actor,
                     payload={"from": from_org, "to": None, "reason": reason, "at": now.isoformat()})
        _fail(req, record_text(_l("The award could not pass on: no valid bid is left in the ranking.")),
              actor=actor, now=now)
        award_passed.send(req, from_org_id=from_org, to_org_id=None, reason=reason)
        return None
    bid, entry = nxt
    BID_MACHINE.transition(bid, BidStatus.WON, actor=actor, reason=reason)
    _set_winner(req, bid, now)
    db.session.flush()
    record_event("purchase_request.award_passed", req, actor=actor, payload={
        "from": from_org, "to": bid.agency_id, "bid": bid.id, "rank": entry["rank"], "reason": reason,
        "price_fen": bid.price_fen, "days": bid.days, "at": now.isoformat(),
        "objection_deadline": req.objection_deadline.isoformat(),
    })
    award_passed.send(req, from_org_id=from_org, to_org_id=bid.agency_id, reason=reason)
    index_announcement(req)
    request_event(req, "request.awarded", passed_from=from_org)
    return bid


def decline_award(bid: Bid, reason: str, *, actor: User, now: datetime | None = None) -> Bid | None:
    """The winning agency refuses the award; it passes to the next in the ranking.

    Raises:
        PermissionDenied: not the winning agency's staff.
        DomainError: the bid does not hold the award.
    """
    _own_bid(bid, actor)
    if bid.status is not BidStatus.WON or bid.request.status is not RequestStatus.AWARDED:
        raise DomainError(_l("This bid does not hold an award you can refuse."))
    return pass_award_to_next(bid.request, reason, actor, now=now)


def award_is_final(req: PurchaseRequest) -> bool:
    """Whether the award is final: the objection period ended with no objection open."""
    return req.has_winner and req.award_finalised_at is not None


def finalise_award(req: PurchaseRequest, *, now: datetime | None = None, actor=SYSTEM) -> bool:
    """Make the award final once the objection period is over and no objection is open; sends
    ``award_finalised``. Returns whether it did.
    """
    now = now or utcnow()
    if (req.status is not RequestStatus.AWARDED or req.award_finalised_at is not None
            or req.objection_deadline is None or now < req.objection_deadline or has_open_objection(req)):
        return False
    db.session.flush()
    result = db.session.execute(
        sa.update(PurchaseRequest)
        .where(PurchaseRequest.id == req.id, PurchaseRequest.status == RequestStatus.AWARDED,
               PurchaseRequest.award_finalised_at.is_(None),
               PurchaseRequest.awarded_org_id == req.awarded_org_id)
        .values(award_finalised_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        return False
    req.__dict__["award_finalised_at"] = now
    record_event("purchase_request.award_finalised", req, actor=actor,
                 payload={"winner": req.awarded_org_id, "at": now.isoformat(),
                          "objection_deadline": req.objection_deadline.isoformat()})
    award_finalised.send(req)
    return True


def advance_request(req: PurchaseRequest, now: datetime) -> bool:
    """Do whatever time allows on one request (close, award, finalise); True if anything changed."""
    changed = False
    if req.status is RequestStatus.PUBLISHED and now >= req.bidding_deadline:
        close_bidding(req, now=now)
        changed = True
    if req.status is RequestStatus.BIDDING_CLOSED and not pending_decisions(req):
        award_request(req, now=now)
        changed = True
    if req.status is RequestStatus.AWARDED and finalise_award(req, now=now):
        changed = True
    return changed


def due_request_ids(now: datetime) -> list[int]:
    """Requests a deadline has caught up with: to close, to award, or whose award may become final."""
    return list(db.session.execute(
        sa.select(PurchaseRequest.id).where(sa.or_(
            sa.and_(PurchaseRequest.status == RequestStatus.PUBLISHED,
                    PurchaseRequest.bidding_deadline <= now),
            PurchaseRequest.status == RequestStatus.BIDDING_CLOSED,
            sa.and_(PurchaseRequest.status == RequestStatus.AWARDED,
                    PurchaseRequest.award_finalised_at.is_(None),
                    PurchaseRequest.objection_deadline <= now),
        )).order_by(PurchaseRequest.id)
    ).scalars())
