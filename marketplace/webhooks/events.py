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
}


def event_label(name: str) -> str:
    """The translated description of an event type."""
    return str(EVENT_TYPES.get(name, name))
