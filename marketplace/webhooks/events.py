"""The published event types a receiver can subscribe to."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

EVENT_TYPES: dict[str, object] = {
    "case.created": _l("An approval case was created"),
    "case.updated": _l("An approval case changed"),
    "request.published": _l("A purchase request was published"),
    "request.closed": _l("Bidding closed on a purchase request"),
    "request.awarded": _l("A purchase request was awarded"),
    "request.failed": _l("A purchase request failed (too few bids)"),
    "request.cancelled": _l("A purchase request was cancelled"),
    "contract.in_force": _l("A contract was signed by both parties"),
    "contract.terminated": _l("A contract was terminated before acceptance"),
    "result.delivered": _l("An agency delivered its result"),
    "result.accepted": _l("A delivered result was accepted"),
    "sanction.decided": _l("A sanction was decided"),
    "ping": _l("A test event sent from the endpoint page"),
    # Objections, complaints, independence flags and random inspections (their audiences: docs/webhooks.md).
    "objection.submitted": _l("An objection to an award was filed"),
    "objection.answered": _l("The enterprise answered an objection"),
    "objection.resolved": _l("An objection was closed without a complaint"),
    "objection.escalated": _l("An objection went to the regulator as a complaint"),
    "complaint.submitted": _l("A complaint was filed with the regulator"),
    "complaint.accepted": _l("The regulator accepted a complaint"),
    "complaint.rejected": _l("The regulator did not accept a complaint"),
    "complaint.decided": _l("The regulator decided a complaint (public outcome)"),
    "complaint.withdrawn": _l("A complaint was withdrawn"),
    "independence_flag.raised": _l("A regulator raised an independence flag"),
    "independence_flag.responded": _l("An agency responded to an independence flag"),
    "independence_flag.lifted": _l("An independence flag was lifted"),
    "inspection_plan.drawn": _l("A random inspection plan was drawn (public)"),
    "inspection.result_recorded": _l("An inspector recorded the result of an inspection"),
    "inspection_plan.published": _l("The results of a random inspection plan were published"),
}


def event_label(name: str) -> str:
    """The translated description of an event type."""
    return str(EVENT_TYPES.get(name, name))


def web_url(path: str) -> str:
    """The absolute address of a page of the site, for event payloads (also sent by jobs)."""
    from flask import current_app

    return current_app.config.get("PUBLIC_BASE_URL", "").rstrip("/") + path
