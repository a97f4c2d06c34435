"""Calendar days that differ from the weekday rule, and which years are official."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.db import UTCDateTime, enum_column, utcnow
from marketplace.extensions import db


class DayKind(enum.StrEnum):
    """A holiday (no work) or an adjusted working day (a weekend day worked, 调休)."""

    HOLIDAY = "holiday"
    WORKDAY = "workday"

    @property
    def label(self):
        return {DayKind.HOLIDAY: _l("Holiday"), DayKind.WORKDAY: _l("Adjusted working day")}[self]


class CalendarSource(enum.StrEnum):
    """Where a year's schedule came from."""

    CHINESECALENDAR = "chinesecalendar"
    ADMIN = "admin"

    @property
    def label(self):
        return {
            CalendarSource.CHINESECALENDAR: _l("State Council schedule (chinesecalendar package)"),
            CalendarSource.ADMIN: _l("State Council schedule entered by an administrator"),
        }[self]


class HolidayDay(db.Model):
    """One day whose status differs from the plain weekday/weekend rule."""

    __tablename__ = "holiday_calendar"

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    kind: Mapped[DayKind] = mapped_column(enum_column(DayKind, "day_kind"))
    name: Mapped[str] = mapped_column(sa.String(100), default="")
    source: Mapped[CalendarSource] = mapped_column(enum_column(CalendarSource, "calendar_source"))

    def __repr__(self) -> str:
        return f"<HolidayDay {self.day} {self.kind}>"


class CalendarYear(db.Model):
    """A year whose official schedule is loaded; any other year is provisional."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    source: Mapped[CalendarSource] = mapped_column(enum_column(CalendarSource, "calendar_source"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Who entered it (a user id, or NULL for the package seed). No foreign key: the calendar is
    # reference data that outlives accounts, and the audit event records the actor anyway.
    updated_by_id: Mapped[int | None] = mapped_column(sa.Integer)

    __table_args__ = (sa.CheckConstraint("year BETWEEN 1990 AND 2200", name="year_range"),)

    def __repr__(self) -> str:
        return f"<CalendarYear {self.year} {self.source}>"
