"""The list of periodic jobs. Each is idempotent and catches up on anything overdue."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    """A named, idempotent job function taking ``now`` (aware UTC) and returning a count."""

    name: str
    func: Callable
    description: str


def all_jobs() -> list[Job]:
    """Every job, in the order they run."""
    from marketplace.accounts.throttle import prune_login_attempts
    from marketplace.agencies.visibility import refresh_for_today
    from marketplace.audit.jobs import checkpoint_audit_chain
    from marketplace.complaints.jobs import run_complaint_deadlines
    from marketplace.contracts.jobs import run_contract_deadlines
    from marketplace.credit.jobs import run_credit_decay
    from marketplace.delivery.jobs import run_delivery_deadlines
    from marketplace.notifications.services import send_pending_email
    from marketplace.payments.jobs import run_payment_settlements
    from marketplace.procurement.jobs import run_procurement_deadlines
    from marketplace.ratings.jobs import run_rating_reveals
    from marketplace.sanctions.jobs import run_blacklist_exits, run_sanction_triggers
    from marketplace.search.jobs import process_search_queue
    from marketplace.webhooks.services import deliver_due

    return [
        Job("agencies.visibility", refresh_for_today,
            "rebuild the public lists' visibility for the new day (after midnight in China)"),
        Job("audit.checkpoint", checkpoint_audit_chain, "sign the audit chain head when due"),
        Job("complaints.deadlines", run_complaint_deadlines,
            "escalate unanswered objections, close lapsed ones, flag overdue complaints"),
        Job("procurement.deadlines", run_procurement_deadlines,
            "close bidding at deadlines, award, end objection periods"),
        Job("contracts.deadlines", run_contract_deadlines,
            "refuse contracts the winner did not sign in time; pass the award on"),
        Job("delivery.deadlines", run_delivery_deadlines,
            "open the work of contracts in force; mark overdue deliveries; remind agencies"),
        Job("payments.settle", run_payment_settlements,
            "transfer accepted contracts' payments to agencies; refund terminated ones"),
        Job("ratings.reveal", run_rating_reveals,
            "reveal the ratings of contracts whose rating period ended; record their credit inputs"),
        Job("credit.decay", run_credit_decay, "expire credit inputs past the decay window; apply a new formula"),
        Job("sanctions.triggers", run_sanction_triggers,
            "open sanction proposals for agencies past a trigger threshold"),
        Job("sanctions.exits", run_blacklist_exits,
            "carry out the exit of blacklistings on their start day: listings, open bids, contracts"),
        Job("notifications.email", send_pending_email, "send queued e-mails (when MAIL_ENABLED)"),
        Job("webhooks.deliver", deliver_due, "push due webhook deliveries, with back-off"),
        Job("search.process_queue", process_search_queue, "index queued search changes; rebuild a damaged index"),
        Job("accounts.login_attempts", prune_login_attempts,
            "delete the sign-in counts of ended windows (the limit kept in the database without Redis)"),
    ]
