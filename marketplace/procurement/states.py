"""The lifecycles of approval cases, purchase requests and bids.

Purchase request: draft → published → bidding_closed → awarded → contracted → in_service →
delivered → accepted → closed (once the payment is settled), with the exits failed (流标: too few
valid bids, or nobody left to pass the award to) and cancelled (with a public reason; also when
the contract is terminated before acceptance). A failed request is re-published
as a new request (the next round), so ``failed`` itself is final.

Bid: submitted → withdrawn | won | lost | rejected. The award can pass on: the winner is
rejected (refused or found ineligible) and a losing bid wins, unless it too is found ineligible
by then (lost → rejected).
"""

from __future__ import annotations

from marketplace.core.states import StateMachine
from marketplace.procurement.models import BidStatus, CaseStatus, RequestStatus

R = RequestStatus

REQUEST_TRANSITIONS = {
    R.DRAFT: {R.PUBLISHED, R.CANCELLED},
    R.PUBLISHED: {R.BIDDING_CLOSED, R.CANCELLED},
    R.BIDDING_CLOSED: {R.AWARDED, R.FAILED, R.CANCELLED},
    R.AWARDED: {R.CONTRACTED, R.FAILED, R.CANCELLED},
    R.CONTRACTED: {R.IN_SERVICE, R.CANCELLED},
    # A contract terminated before acceptance cancels its request, with the termination as reason.
    R.IN_SERVICE: {R.DELIVERED, R.CANCELLED},
    R.DELIVERED: {R.ACCEPTED, R.IN_SERVICE, R.CANCELLED},
    R.ACCEPTED: {R.CLOSED},
    R.CLOSED: set(),
    R.FAILED: set(),
    R.CANCELLED: set(),
}

BID_TRANSITIONS = {
    BidStatus.SUBMITTED: {BidStatus.WITHDRAWN, BidStatus.WON, BidStatus.LOST, BidStatus.REJECTED},
    BidStatus.WITHDRAWN: set(),
    BidStatus.WON: {BidStatus.REJECTED},
    BidStatus.LOST: {BidStatus.WON, BidStatus.REJECTED},
    BidStatus.REJECTED: set(),
}

CASE_TRANSITIONS = {
    CaseStatus.OPEN: {CaseStatus.APPROVED, CaseStatus.REJECTED, CaseStatus.WITHDRAWN},
    CaseStatus.APPROVED: set(),
    CaseStatus.REJECTED: set(),
    CaseStatus.WITHDRAWN: set(),
}

REQUEST_MACHINE = StateMachine(RequestStatus, REQUEST_TRANSITIONS, audit_type="purchase_request")
BID_MACHINE = StateMachine(BidStatus, BID_TRANSITIONS, audit_type="bid")
CASE_MACHINE = StateMachine(CaseStatus, CASE_TRANSITIONS, audit_type="approval_case")
