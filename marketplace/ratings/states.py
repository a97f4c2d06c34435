"""The rating lifecycle: submitted (blind) → revealed. Nothing else moves a rating."""

from __future__ import annotations

from marketplace.core.states import StateMachine
from marketplace.ratings.models import RatingStatus

RATING_TRANSITIONS = {
    RatingStatus.SUBMITTED: {RatingStatus.REVEALED},
    RatingStatus.REVEALED: set(),
}

RATING_MACHINE = StateMachine(RatingStatus, RATING_TRANSITIONS, audit_type="rating")
