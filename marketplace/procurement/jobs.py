"""Procurement's time-driven job: deadlines close bidding, awards follow, objection periods end."""

from __future__ import annotations

import logging

from marketplace.core.errors import DomainError
from marketplace.extensions import db
from marketplace.jobs.registry import job
from marketplace.procurement import services
from marketplace.procurement.models import PurchaseRequest

log = logging.getLogger(__name__)


@job("procurement.deadlines", order=40,
     description="close bidding at deadlines, award, end objection periods")
def run_procurement_deadlines(now, *, only=None) -> int:
    """Close every overdue request, award what can be awarded, finalise ended objection periods.

    Idempotent and catching up: it looks at everything due by ``now``, whenever it last ran.
    Each request is committed on its own so that one refused move (another worker got there
    first) does not undo the others. ``only``: just these request ids. Returns how many
    requests changed.
    """
    changed = 0
    for request_id in services.due_request_ids(now):
        if only is not None and request_id not in only:
            continue
        req = db.session.get(PurchaseRequest, request_id, populate_existing=True)
        if req is None:
            continue
        try:
            if services.advance_request(req, now):
                changed += 1
            db.session.commit()
        except DomainError as exc:
            # ConcurrentUpdate / InvalidTransition: someone else moved it first; fine.
            db.session.rollback()
            log.info("procurement job skipped request %s: %s", request_id, exc)
    return changed
