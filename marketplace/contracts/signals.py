"""Signals of the contracts domain (blinker, like procurement's).

- ``contract_terminated``: sent with the :class:`Contract` as sender and ``reason`` / ``actor``
  when a contract ends before the service was accepted, inside the terminating transaction. The
  payments domain refunds (or cancels) the contract's payment here.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

contract_terminated = _signals.signal("contracts.contract-terminated")
