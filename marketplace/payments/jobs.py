"""The payments job: make the Stripe transfers and refunds that contract events requested."""

from __future__ import annotations

import logging
from datetime import datetime

from marketplace.core.errors import DomainError
from marketplace.extensions import db
from marketplace.jobs.registry import job
from marketplace.payments import services
from marketplace.payments.models import Payment

log = logging.getLogger(__name__)


@job("payments.settle", order=70,
     description="transfer accepted contracts' payments to agencies; refund terminated ones")
def run_payment_settlements(now: datetime | None = None) -> int:
    """Transfer accepted contracts' amounts, refund terminated ones, close abandoned checkouts.

    Idempotent: each Stripe call carries a key derived from the payment's state, so a second
    runner, or a run after a crash, gets Stripe's first answer back. One commit per payment.
    """
    done = 0
    for payment_id in services.due_settlements():
        payment = db.session.get(Payment, payment_id)
        if payment is None:
            continue
        try:
            if services.settle(payment):
                done += 1
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            log.warning("payment %s not settled: %s", payment_id, exc)
    return done
