"""Credit's daily job: expire inputs that left the decay window, apply a new formula version."""

from __future__ import annotations

from marketplace.credit import services
from marketplace.jobs.registry import job


@job("credit.decay", order=90,
     description="expire credit inputs past the decay window; apply a new formula")
def run_credit_decay(now) -> int:
    """Record expiries for inputs older than the decay window, then re-score under a new formula.

    Idempotent: an input is expired at most once (unique ``cancels_id``), and an agency already
    on the formula in force is left alone. Returns how many entries and scores changed.
    """
    return services.expire_inputs(now) + services.refresh_formula(now)
