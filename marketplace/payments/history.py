"""The payment's history: its audit trail as the payment page shows it, and its steps on the
contract's timeline."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from marketplace.audit.registry import actor_name, event_label
from marketplace.audit.services import events_for
from marketplace.contracts.models import Contract
from marketplace.core.money import format_fen
from marketplace.payments.models import Payment
from marketplace.payments.records import payment_of


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    label: str
    actor: str
    detail: str


def history(payment: Payment | None) -> list[HistoryEntry]:
    """The payment's audit trail, oldest first, as the payment page shows it."""
    if payment is None:
        return []
    rows = []
    for event in events_for("payments", payment.id):
        try:
            data = json.loads(event.payload or "{}")
        except ValueError:
            data = {}
        detail = data.get("reason") or data.get("reference") or ""
        if event.action.startswith("payment.chargeback"):
            detail = f"{data.get('status', '')} · {format_fen(int(data.get('amount_fen') or 0))}"
        elif event.action == "payment.partially_refunded":
            detail = format_fen(int(data.get("refunded_fen") or 0))
        elif event.action == "payment.transfer_reversed":
            detail = format_fen(int(data.get("reversed_fen") or 0))
        rows.append(HistoryEntry(at=event.created_at, label=event_label(event.action),
                                 actor=actor_name(event), detail=str(detail)))
    return rows


def timeline_rows(contract: Contract, *, viewer) -> list:
    """The payment's steps on the contract's timeline; references and reasons for the parties only."""
    payment = payment_of(contract)
    if payment is None:
        return []
    from marketplace.delivery.timeline import TimelineEntry

    is_party = contract.party_of(viewer) is not None
    return [TimelineEntry(row.at, row.label, row.detail if is_party else "", "payment")
            for row in history(payment)]
