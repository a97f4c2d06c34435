"""Sealed bids: submitting, revising and withdrawing a bid before the deadline, its commitment
(the audit trail holds only SHA-256 over the terms and a random nonce until bidding closes), and
the rejection of a blacklisted agency's open bids (清退).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from marketplace.accounts.models import Organisation, Role, User
from marketplace.audit.services import canonical_json, record_event
from marketplace.core.db import utcnow
from marketplace.core.errors import ConcurrentUpdate, DomainError, PermissionDenied
from marketplace.extensions import db
from marketplace.procurement._common import _lock_request
from marketplace.procurement.eligibility import _offer_problem, bid_problems
from marketplace.procurement.models import Bid, BidStatus, PurchaseRequest, RequestStatus
from marketplace.procurement.states import BID_MACHINE
from marketplace.sanctions.signals import blacklist_in_force


def seal_commitment(*, request_id: int, agency_id: int, price_fen: int, days: int, version: int,
                    nonce: str) -> str:
    """SHA-256 over the canonical JSON of a bid's terms and its nonce (revealed at close)."""
    body = canonical_json({"request": request_id, "agency": agency_id, "price_fen": price_fen,
                           "days": days, "version": version, "nonce": nonce})
    return hashlib.sha256(body.encode()).hexdigest()


def _is_agency_staff(actor, org_id: int) -> bool:
    # A signed-in user or an API token acting for its organisation (``TokenActor``); never a
    # job's string actor.
    return (not isinstance(actor, str) and getattr(actor, "role", None) is Role.AGENCY_STAFF
            and getattr(actor, "organisation_id", None) == org_id)


def _check_bidder(org: Organisation, actor) -> None:
    if not _is_agency_staff(actor, org.id):
        raise PermissionDenied(_l("Only the agency's own staff can bid for it."))


def _bidding_open_conditions(now: datetime):
    return (PurchaseRequest.status == RequestStatus.PUBLISHED, PurchaseRequest.bidding_deadline > now)


def live_bid(req_id: int, org_id: int) -> Bid | None:
    """The agency's own bid on the request that is not withdrawn (only ever shown to its owner)."""
    return db.session.execute(
        sa.select(Bid).where(Bid.request_id == req_id, Bid.agency_id == org_id,
                             Bid.status != BidStatus.WITHDRAWN)
    ).scalar_one_or_none()


def submit_bid(req: PurchaseRequest, *, org: Organisation, price_fen: int, days: int, actor: User,
               now: datetime | None = None) -> Bid:
    """Submit a sealed bid; the audit trail records only its commitment.

    Raises:
        PermissionDenied: the actor is not the agency's staff.
        DomainError: bidding is closed or cancelled, the agency is not eligible or excluded, the
            price is above the ceiling or the listing's fee, the days exceed the listing's
            commitment, or the agency already has a bid (``field`` says which when it is one).
    """
    now = now or utcnow()
    _check_bidder(org, actor)
    problems = bid_problems(req, org, now)
    if problems:
        raise DomainError(problems[0])
    if live_bid(req.id, org.id) is not None:
        raise DomainError(_l("You have already submitted a bid on this request; reload the page to revise it."))
    problem = _offer_problem(req, org.id, price_fen, days, now)
    if problem:
        raise DomainError(problem[0], field=problem[1])
    _lock_request(req, *_bidding_open_conditions(now), message=_l("The bidding deadline has passed."))
    nonce = secrets.token_hex(16)
    bid = Bid(
        request_id=req.id, agency_id=org.id, price_fen=price_fen, days=days, version=1,
        seal_nonce=nonce, submitted_at=now, final_submitted_at=now, submitted_by_id=actor.id,
        commitment=seal_commitment(request_id=req.id, agency_id=org.id, price_fen=price_fen,
                                   days=days, version=1, nonce=nonce),
    )
    try:
        with db.session.begin_nested():
            db.session.add(bid)
            db.session.flush()
    except IntegrityError as exc:
        raise DomainError(_l("You have already submitted a bid on this request; reload the page to revise it.")) from exc
    record_event("bid.submitted", bid, actor=actor, payload={"commitment": bid.commitment, "version": 1})
    return bid


def place_bid(req: PurchaseRequest, *, org: Organisation, price_fen: int, days: int,
              expected_version: int | None, actor: User, now: datetime | None = None) -> Bid:
    """Submit the first bid, or revise the one the agency saw (``expected_version``).

    ``expected_version`` None means the agency saw no bid of its own: a second first submission
    (a double click, a second tab) is refused and changes nothing, never taken as a revision.

    Raises:
        PermissionDenied / DomainError: as :func:`submit_bid` and :func:`revise_bid`; also when a
            bid exists though the agency expected none.
        ConcurrentUpdate: the bid the agency saw was revised or withdrawn meanwhile.
    """
    if expected_version is None:
        return submit_bid(req, org=org, price_fen=price_fen, days=days, actor=actor, now=now)
    own = live_bid(req.id, org.id)
    if own is None:
        raise ConcurrentUpdate(_l("Your bid was changed elsewhere since you opened it. Please reload."))
    return revise_bid(own, price_fen=price_fen, days=days, expected_version=expected_version,
                      actor=actor, now=now)


def _own_bid(bid: Bid, actor) -> None:
    if not _is_agency_staff(actor, bid.agency_id):
        raise PermissionDenied(_l("Only the agency that made this bid can change it."))


def revise_bid(bid: Bid, *, price_fen: int, days: int, expected_version: int, actor: User,
               now: datetime | None = None) -> Bid:
    """Change a bid's price and days before the deadline; ``expected_version`` is the one the agency saw.

    Raises:
        PermissionDenied: not the bid's agency.
        ConcurrentUpdate: the bid was revised or withdrawn since the agency loaded it.
        DomainError: bidding is closed or the new offer breaks a rule.
    """
    now = now or utcnow()
    _own_bid(bid, actor)
    req = bid.request
    if bid.status is not BidStatus.SUBMITTED:
        raise DomainError(_l("This bid can no longer be changed."))
    problems = bid_problems(req, bid.agency, now)
    if problems:
        raise DomainError(problems[0])
    problem = _offer_problem(req, bid.agency_id, price_fen, days, now)
    if problem:
        raise DomainError(problem[0], field=problem[1])
    _lock_request(req, *_bidding_open_conditions(now), message=_l("The bidding deadline has passed."))
    version = int(expected_version) + 1
    nonce = secrets.token_hex(16)
    commitment = seal_commitment(request_id=req.id, agency_id=bid.agency_id, price_fen=price_fen,
                                 days=days, version=version, nonce=nonce)
    result = db.session.execute(
        sa.update(Bid)
        .where(Bid.id == bid.id, Bid.version == int(expected_version), Bid.status == BidStatus.SUBMITTED)
        .values(price_fen=price_fen, days=days, version=version, seal_nonce=nonce,
                commitment=commitment, final_submitted_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise ConcurrentUpdate(_l("Your bid was changed elsewhere since you opened it. Please reload."))
    db.session.expire(bid)
    record_event("bid.revised", bid, actor=actor, payload={"commitment": commitment, "version": version})
    return bid


def withdraw_bid(bid: Bid, *, actor: User, now: datetime | None = None) -> Bid:
    """Withdraw a bid before the deadline (the agency may bid again while bidding is open).

    Raises:
        PermissionDenied: not the bid's agency.
        DomainError: bidding has closed.
        InvalidTransition / ConcurrentUpdate: the bid is no longer submitted.
    """
    now = now or utcnow()
    _own_bid(bid, actor)
    _lock_request(bid.request, *_bidding_open_conditions(now), message=_l("The bidding deadline has passed."))
    return BID_MACHINE.transition(bid, BidStatus.WITHDRAWN, actor=actor, payload={"version": bid.version})


def reject_open_bids(agency_id: int, reason: str, *, actor, now: datetime | None = None) -> int:
    """Reject an agency's submitted bids on requests still open for bidding, with ``reason``.

    Bids on requests whose bidding closed are left to the award, which checks eligibility again.
    Returns how many bids were rejected (0 when none is open: safe to repeat).

    Raises:
        InvalidTransition / ConcurrentUpdate: a bid moved meanwhile (bidding closed under us).
    """
    now = now or utcnow()
    bids = db.session.execute(
        sa.select(Bid).join(PurchaseRequest, PurchaseRequest.id == Bid.request_id)
        .where(Bid.agency_id == agency_id, Bid.status == BidStatus.SUBMITTED, *_bidding_open_conditions(now))
        .order_by(Bid.id)
    ).scalars().all()
    for bid in bids:
        bid.rejection_reason = reason
        BID_MACHINE.transition(bid, BidStatus.REJECTED, actor=actor, reason=reason)
    return len(bids)


def _on_blacklist_in_force(case, **extra) -> None:
    """Sanctions: a blacklisting is in force; its open bids are rejected (same transaction)."""
    reject_open_bids(case.organisation_id, f"blacklisted: {case.reference}",
                     actor=f"sanction {case.reference}", now=extra.get("now"))


blacklist_in_force.connect(_on_blacklist_in_force)
