"""The journey's helpers: a clock that pages and jobs share, and one signed-in browser per person.

A journey spans months: bidding deadlines, objection and response periods, a due date, a
blacklisting's end. The clock moves time forward the way the calendar would: the pages read it
through the application's single sources of "now" (``core.db.utcnow`` and the two eligibility
``today()`` functions), and the jobs are run with ``clock.now`` explicitly, as ``flask jobs run``
does with the real time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from marketplace.jobs.runner import run_once
from tests.conftest import Browser

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The modules that read the wall clock; the rest of the application asks ``core.db.utcnow``. The
# contract seal keeps the real time: the certificate that signs it is issued when the test runs.
CLOCK_READERS = ("marketplace.core.db", "marketplace.agencies.eligibility", "marketplace.sanctions.eligibility")


class Clock:
    """The journey's "now": moved by the test, read by the application and given to the jobs."""

    def __init__(self, start: datetime):
        self.now = start

    @property
    def today(self) -> date:
        """Today in China."""
        return self.now.astimezone(SHANGHAI).date()

    def move_to(self, moment: datetime) -> datetime:
        """Move to ``moment`` (time never goes back)."""
        assert moment >= self.now, "the journey's clock only moves forward"
        self.now = moment
        return moment

    def set(self, day: date, hour: int = 10, minute: int = 0) -> datetime:
        """Move to ``hour:minute`` on ``day`` in China."""
        return self.move_to(datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI).astimezone(UTC))

    def advance(self, **delta) -> datetime:
        return self.move_to(self.now + timedelta(**delta))

    def run_jobs(self) -> dict[str, int]:
        """Every job once at ``now`` (``flask jobs run``); none may fail."""
        results = run_once(self.now)
        failed = {name: result for name, result in results.items() if not isinstance(result, int)}
        assert not failed, failed
        return results


def _clock_datetime(clock: Clock) -> type[datetime]:
    class ClockDatetime(datetime):
        """``datetime`` whose ``now()`` reads the journey's clock; everything else is untouched."""

        @classmethod
        def now(cls, tz=None):
            moment = clock.now
            return moment.astimezone(tz) if tz is not None else moment.astimezone().replace(tzinfo=None)

        @classmethod
        def combine(cls, *args, **kwargs):
            return datetime.combine(*args, **kwargs)

    return ClockDatetime


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """Monday 2 March 2026, 09:00 in China: a plain working week follows."""
    found = Clock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    fake = _clock_datetime(found)
    for module in CLOCK_READERS:
        monkeypatch.setattr(f"{module}.datetime", fake)
    return found


@pytest.fixture
def person(app, db):
    """``person(email, password)``: a browser of its own, signed in through the login page."""

    def _sign_in(email: str, password: str) -> Browser:
        browser = Browser(app.test_client())
        resp = browser.login(email, password)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
        return browser

    return _sign_in


@pytest.fixture(autouse=True)
def _english_messages(english):
    """The journey reads the English messages (the Chinese UI has its own tests)."""
