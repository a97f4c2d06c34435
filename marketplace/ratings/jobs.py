"""The ratings job: open forgotten windows, reveal the ratings of windows that closed."""

from __future__ import annotations

import logging

from marketplace.contracts.models import Contract
from marketplace.core.errors import ConcurrentUpdate, InvalidTransition
from marketplace.extensions import db
from marketplace.jobs.registry import job
from marketplace.ratings import services
from marketplace.ratings.models import RatingWindow

log = logging.getLogger(__name__)


@job("ratings.reveal", order=80,
     description="reveal the ratings of contracts whose rating period ended; record their credit inputs")
def run_rating_reveals(now) -> int:
    """Reveal every rating whose window closed, recording the agencies' credit inputs.

    Idempotent: a window is revealed once (a conditional UPDATE on ``revealed_at``), so a rerun
    or a second runner changes nothing. Each window commits on its own. Returns how many
    windows were revealed.
    """
    for contract_id in services.finished_without_window():
        services.open_window(db.session.get(Contract, contract_id))
        db.session.commit()
    revealed = 0
    for window_id in services.due_windows(now):
        window = db.session.get(RatingWindow, window_id)
        try:
            if services.reveal_window(window, now=now):
                revealed += 1
            db.session.commit()
        except (ConcurrentUpdate, InvalidTransition):
            db.session.rollback()
            log.info("rating window %s was revealed elsewhere", window_id)
    return revealed
