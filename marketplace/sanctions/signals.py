"""Signals other domains subscribe to (blinker, like Flask's own signals).

- ``sanction_decided``: sent with the :class:`SanctionCase` as sender when a sanction is decided.
  Catalogue and procurement react to a blacklisting here (withdraw listings, reject open bids,
  flag open contracts to the enterprises). Receivers run inside the deciding transaction: an
  exception rolls the decision back.
- ``sanction_changed``: sent with the case and ``outcome`` ("upheld", "shortened", "revoked",
  "repaired") when an appeal or a credit repair changes a decided sanction.
- ``blacklist_in_force``: sent once per blacklisting, with the case as sender and ``now`` (aware
  UTC), when it is first in force: by ``decide_sanction`` when it starts on the day of the
  decision, otherwise by the ``sanctions.exits`` job on (or after) its start day. Receivers carry
  out the exit (清退) inside that transaction: agencies withdraw the listings, procurement rejects
  the open bids, contracts tell the enterprises of the open contracts. They must be idempotent.

Whether a sanction is *in force* on a day is never signalled: it is computed from the dates
(``eligibility.is_sanctioned``), so a suspension ends at midnight without anyone acting.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

sanction_decided = _signals.signal("sanctions.decided")
sanction_changed = _signals.signal("sanctions.changed")
blacklist_in_force = _signals.signal("sanctions.blacklist-in-force")
