"""Signals other domains subscribe to (blinker, like Flask's own signals).

- ``sanction_decided``: sent with the :class:`SanctionCase` as sender when a sanction is decided.
  Catalogue and procurement react to a blacklisting here (withdraw listings, reject open bids,
  flag open contracts to the enterprises). Receivers run inside the deciding transaction: an
  exception rolls the decision back.
- ``sanction_changed``: sent with the case and ``outcome`` ("upheld", "shortened", "revoked",
  "repaired") when an appeal or a credit repair changes a decided sanction.

Whether a sanction is *in force* on a day is never signalled: it is computed from the dates
(``eligibility.is_sanctioned``), so a suspension ends at midnight without anyone acting.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

sanction_decided = _signals.signal("sanctions.decided")
sanction_changed = _signals.signal("sanctions.changed")
