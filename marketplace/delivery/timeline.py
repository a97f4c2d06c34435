"""The timeline of a contract: a list built by providers that each domain registers.

A provider is a function ``provider(contract, *, viewer) -> iterable of TimelineEntry``; it
returns only what ``viewer`` may see. Payments (or any other domain) add their rows with::

    from marketplace.delivery.timeline import TimelineEntry, register_timeline_provider

    @register_timeline_provider
    def payment_rows(contract, *, viewer):
        ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class TimelineEntry:
    """One row: when, what (translated), a detail line, and a kind for styling and tests."""

    at: datetime
    title: object
    detail: str = ""
    kind: str = ""


Provider = Callable[..., Iterable[TimelineEntry]]
_PROVIDERS: list[Provider] = []


def register_timeline_provider(provider: Provider) -> Provider:
    """Add a provider (once); usable as a decorator."""
    if provider not in _PROVIDERS:
        _PROVIDERS.append(provider)
    return provider


def timeline_for(contract, *, viewer) -> list[TimelineEntry]:
    """Every provider's rows for ``contract``, oldest first."""
    entries: list[TimelineEntry] = []
    for provider in _PROVIDERS:
        entries.extend(provider(contract, viewer=viewer))
    return sorted(entries, key=lambda e: e.at)


def start_of_china_day(day) -> datetime:
    """A China date as an aware UTC moment (its first second)."""
    return datetime.combine(day, time(0, 0), tzinfo=SHANGHAI).astimezone(UTC)


@register_timeline_provider
def contract_rows(contract, *, viewer) -> list[TimelineEntry]:
    """Drafting, versions, signatures and entry into force (from the contracts domain)."""
    from marketplace.contracts import services as contracts

    return [TimelineEntry(e["at"], e["what"], str(e.get("detail") or ""), "contract")
            for e in contracts.certificate_events(contract)]


@register_timeline_provider
def delivery_rows(contract, *, viewer) -> list[TimelineEntry]:
    """Submissions, revisions, extensions, overdue and acceptance."""
    from marketplace.delivery import services

    delivery = services.delivery_of(contract)
    if delivery is None:
        return []
    rows = [TimelineEntry(delivery.created_at, _l("Work started; due on %(due)s",
                                                  due=delivery.original_due_date.isoformat()),
                          "", "delivery")]
    visible = {s.id for s in services.visible_submissions(viewer, delivery)}
    for s in delivery.submissions:
        detail = s.summary[:200] if s.id in visible else ""
        rows.append(TimelineEntry(s.submitted_at, _l("Version %(n)s of the result submitted", n=s.version),
                                  detail, "submission"))
        if s.revision_requested_at is not None:
            rows.append(TimelineEntry(s.revision_requested_at,
                                      _l("Revision of version %(n)s requested", n=s.version),
                                      s.revision_reason[:200] if s.id in visible else "", "revision"))
    for e in delivery.extensions:
        rows.append(TimelineEntry(
            e.proposed_at,
            _l("%(org)s proposed a new due date: %(due)s", org=e.proposed_by_org.name,
               due=e.proposed_due_date.isoformat()),
            e.reason[:200], "extension"))
        if e.decided_at is not None:
            rows.append(TimelineEntry(
                e.decided_at,
                _l("Extension to %(due)s: %(status)s", due=e.proposed_due_date.isoformat(),
                   status=e.status.label),
                e.decision_note[:200], "extension"))
    if delivery.overdue_since is not None:
        rows.append(TimelineEntry(start_of_china_day(delivery.overdue_since),
                                  _l("Overdue (due on %(due)s)", due=delivery.due_date.isoformat()),
                                  "", "overdue"))
    if delivery.accepted_at is not None:
        rows.append(TimelineEntry(
            delivery.accepted_at, _l("Version %(n)s accepted", n=delivery.accepted_version),
            str(_l("Overrun: %(n)s working days", n=delivery.overrun_days)) if delivery.overrun_days else "",
            "accepted"))
    return rows
