"""How payments answers other domains' signals: a terminated contract is refunded or cancelled, an
accepted delivery requests the transfer; and the payment's steps join the contract's timeline."""

from __future__ import annotations

import importlib
import logging

from flask_babel import lazy_gettext as _l

from marketplace.contracts.signals import contract_terminated
from marketplace.payments.history import timeline_rows
from marketplace.payments.records import SYSTEM, close_if_settled
from marketplace.payments.refunds import refund_contract
from marketplace.payments.settlement import request_transfer

log = logging.getLogger(__name__)


def _on_delivery_accepted(sender, **_extra) -> None:
    """Delivery accepted the contract's service (inside the acceptance transaction)."""
    actor = _extra.get("actor") or SYSTEM
    request_transfer(sender, actor=actor)
    close_if_settled(sender, actor=actor)


def _on_contract_terminated(sender, **extra) -> None:
    """The contracts domain ended a contract (inside its transaction)."""
    refund_contract(sender, str(extra.get("reason") or _l("The contract was terminated.")),
                    extra.get("actor") or SYSTEM)


def connect_signals() -> None:
    """Subscribe to the contract and delivery signals (the delivery domain may not exist yet)."""
    contract_terminated.connect(_on_contract_terminated)
    try:
        module = importlib.import_module("marketplace.delivery.signals")
    except ModuleNotFoundError as exc:
        # Only a missing delivery domain is tolerated; a broken one must fail loudly, or
        # accepted services would silently never be paid out.
        if exc.name not in ("marketplace.delivery", "marketplace.delivery.signals"):
            raise
        log.warning("no delivery domain: transfers are requested only through request_transfer()")
        return
    signal = getattr(module, "delivery_accepted", None)
    if signal is not None:
        signal.connect(_on_delivery_accepted)
    try:
        timeline = importlib.import_module("marketplace.delivery.timeline")
    except ModuleNotFoundError as exc:
        if exc.name != "marketplace.delivery.timeline":
            raise
        return
    timeline.register_timeline_provider(timeline_rows)


contract_terminated.connect(_on_contract_terminated)
