"""Deadlines counted in working days in China: the earliest bidding deadline a request may be
published with (and the form's default), the one-year limit, and the end of the objection period.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l

from marketplace.core.errors import DomainError
from marketplace.procurement._common import SHANGHAI, _config, china_date, china_end_of_day
from marketplace.workdays.services import add_working_days

MAX_BIDDING_CALENDAR_DAYS = 365
DEFAULT_DEADLINE_TIME = time(17, 0)


def earliest_deadline_day(now: datetime) -> date:
    """The first day (in China) a deadline may fall on when publishing at ``now``."""
    return add_working_days(china_date(now), _config("PROCUREMENT_MIN_BIDDING_DAYS"))


def default_deadline(now: datetime) -> datetime:
    """17:00 in China on the earliest allowed day, as aware UTC (the form's default)."""
    return datetime.combine(earliest_deadline_day(now), DEFAULT_DEADLINE_TIME, tzinfo=SHANGHAI).astimezone(UTC)


def check_deadline(deadline: datetime, now: datetime) -> None:
    """The deadline is at least N working days after ``now`` and within a year.

    Raises:
        DomainError: too early or too late (field ``bidding_deadline``).
    """
    earliest = earliest_deadline_day(now)
    if deadline <= now or china_date(deadline) < earliest:
        raise DomainError(
            _l("The bidding deadline must fall on %(day)s or later: at least %(n)d working days "
               "after publication.", day=earliest.isoformat(), n=_config("PROCUREMENT_MIN_BIDDING_DAYS")),
            field="bidding_deadline",
        )
    if deadline > now + timedelta(days=MAX_BIDDING_CALENDAR_DAYS):
        raise DomainError(_l("The bidding deadline must be within a year."), field="bidding_deadline")


def objection_deadline_for(now: datetime) -> datetime:
    """The end (in China) of the N-th working day after ``now``."""
    return china_end_of_day(add_working_days(china_date(now), _config("PROCUREMENT_OBJECTION_DAYS")))
