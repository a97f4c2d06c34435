"""Signals of the contracts domain (blinker, like procurement's).

- ``contract_terminated``: sent with the :class:`Contract` as sender and ``reason`` / ``actor``
  when a contract ends before the service was accepted, inside the terminating transaction. The
  payments domain refunds (or cancels) the contract's payment here; the delivery domain stops the
  work and records an overrun so far against the agency; ratings open their window.
- ``delivery_progress``: sent with the :class:`Contract` as sender and ``today`` (a date in China)
  while checking whether the result is overdue enough for the enterprise to terminate alone. The
  delivery domain answers with the contract's countdown (``due_date``, ``state``, ``days``), or
  None when the delivery has not started. Contracts come before delivery, so they ask this way
  instead of importing it.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

contract_terminated = _signals.signal("contracts.contract-terminated")
delivery_progress = _signals.signal("contracts.delivery-progress")


def delivery_progress_of(contract, today):
    """The first answer to ``delivery_progress`` for ``contract`` on ``today``, or None."""
    for _receiver, answer in delivery_progress.send(contract, today=today):
        if answer is not None:
            return answer
    return None
