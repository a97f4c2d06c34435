"""Signals other domains subscribe to (blinker, like Flask's own signals).

- ``award_finalised``: sent with the :class:`PurchaseRequest` as sender once the objection period
  has ended with no objection open; the award can no longer change except by
  ``services.pass_award_to_next``. The contracts domain generates the contract here. Receivers
  run inside the job's transaction: an exception rolls the finalisation back (it is retried).
- ``award_passed``: sent with the request, ``from_org_id``, ``to_org_id`` (None when nobody was
  left and the request failed) and ``reason`` when the award passes to the next in the ranking.
- ``objection_check``: sent with the request while deciding whether the award is final; a
  receiver returns True when it knows of an open objection (the complaints domain).
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

award_finalised = _signals.signal("procurement.award-finalised")
award_passed = _signals.signal("procurement.award-passed")
objection_check = _signals.signal("procurement.objection-check")


def has_open_objection(request) -> bool:
    """Whether any subscriber reports an open objection against ``request``'s award."""
    return any(bool(result) for _receiver, result in objection_check.send(request))
