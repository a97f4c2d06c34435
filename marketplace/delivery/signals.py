"""Signals other domains subscribe to (blinker).

- ``delivery_accepted``: sent with the :class:`~marketplace.contracts.models.Contract` as sender
  and the keyword arguments ``delivery`` (the accepted :class:`Delivery`), ``submission`` (the
  accepted :class:`DeliverySubmission`), ``actor`` (the enterprise user who accepted) and ``now``
  (aware UTC). It is sent by ``services.accept_delivery`` after the delivery is accepted, the
  purchase request moved to accepted and the contract completed, inside the same transaction:
  a receiver that raises rolls the acceptance back. The payments domain releases the money to
  the agency here.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

delivery_accepted = _signals.signal("delivery.accepted")
