"""Credit test helpers: a fixed clock and an input shortcut."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from marketplace.credit.services import record_credit_input

# A Monday, 10:00 in Shanghai.
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def add(org, kind, value=1, **kwargs):
    """Record one input at NOW unless told otherwise."""
    kwargs.setdefault("now", NOW)
    kwargs.setdefault("occurred_at", NOW)
    return record_credit_input(getattr(org, "id", org), kind, value=value, **kwargs)


@pytest.fixture
def now():
    return NOW


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the English messages (the Chinese UI has its own tests)."""
