"""Dates in China for the credit domain: today in Asia/Shanghai and calendar-month arithmetic.

It imports nothing of the credit domain, so the formula (which version is in force today) and
the services can both use it without an import circle.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime
from zoneinfo import ZoneInfo

from marketplace.core.db import utcnow

SHANGHAI = ZoneInfo("Asia/Shanghai")


def china_today(now: datetime | None = None) -> date:
    """Today's date in China (Asia/Shanghai)."""
    return (now or utcnow()).astimezone(SHANGHAI).date()


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` shifted by whole calendar months (the day clamped to the month's length)."""
    index = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)
