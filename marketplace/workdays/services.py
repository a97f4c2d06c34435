"""Working-day arithmetic on the official calendar.

Convention: the start day never counts. ``add_working_days(d, 1)`` is the first working day
after ``d``; ``working_days_between(a, b)`` counts working days in the interval (a, b].
A year without an official schedule falls back to the statutory holidays (fixed-date and lunar,
from the ``holidays`` package) plus weekends, and results touching it are *provisional* until an
administrator enters the State Council schedule for that year.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.audit.services import record_event
from marketplace.core.errors import DomainError
from marketplace.extensions import db
from marketplace.workdays.models import CalendarSource, CalendarYear, DayKind, HolidayDay

MAX_WORKING_DAYS = 3650

# chinesecalendar names its holidays in English; the calendar stores the official Chinese names.
HOLIDAY_NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}
HOLIDAY_NAMES_EN = {zh: en for en, zh in HOLIDAY_NAMES_ZH.items()}


def display_holiday_name(name: str, locale_language: str) -> str:
    """A stored (Chinese) holiday name in the interface language, when a translation is known."""
    if locale_language != "zh":
        return HOLIDAY_NAMES_EN.get(name, name)
    return name


@lru_cache(maxsize=64)
def statutory_holidays(year: int) -> frozenset[date]:
    """Statutory public holidays of ``year`` (no observed/substitute days): the fallback rule."""
    import holidays

    china = holidays.China(years=year)
    return frozenset(d for d, name in china.items() if "observed" not in name.lower())


@dataclass(frozen=True)
class DayInfo:
    """How one day counts."""

    day: date
    is_working: bool
    name: str
    provisional: bool


class _Window:
    """The calendar facts for a range of dates, loaded with two queries."""

    def __init__(self, start: date, end: date):
        self.start, self.end = start, end
        rows = db.session.execute(
            sa.select(HolidayDay.day, HolidayDay.kind, HolidayDay.name).where(
                HolidayDay.day.between(start, end)
            )
        ).all()
        self.special = {r.day: (r.kind, r.name) for r in rows}
        self.official_years = set(
            db.session.execute(
                sa.select(CalendarYear.year).where(CalendarYear.year.between(start.year, end.year))
            ).scalars()
        )

    def info(self, day: date) -> DayInfo:
        if day.year in self.official_years:
            if day in self.special:
                kind, name = self.special[day]
                return DayInfo(day, kind is DayKind.WORKDAY, name, False)
            return DayInfo(day, day.weekday() < 5, "", False)
        if day in statutory_holidays(day.year):
            return DayInfo(day, False, "statutory", True)
        return DayInfo(day, day.weekday() < 5, "", True)


def _check_n(n: int) -> None:
    if not isinstance(n, int) or n < 0 or n > MAX_WORKING_DAYS:
        raise DomainError(
            _l("The number of working days must be between 0 and %(max)d.", max=MAX_WORKING_DAYS)
        )


@dataclass(frozen=True)
class WorkingDayResult:
    """A computed date and whether it rests on a provisional (not yet official) calendar."""

    day: date
    provisional: bool


def add_working_days_detail(start: date, n: int) -> WorkingDayResult:
    """The n-th working day after ``start`` (start excluded), and whether it is provisional.

    Raises:
        DomainError: n is negative or absurdly large.
    """
    _check_n(n)
    if n == 0:
        return WorkingDayResult(start, False)
    # Long holidays are at most ~9 days; a window of 2n + 30 days always suffices, grow if not.
    span = 2 * n + 30
    while True:
        window = _Window(start + timedelta(days=1), start + timedelta(days=span))
        count, provisional = 0, False
        day = start
        while day < window.end:
            day += timedelta(days=1)
            info = window.info(day)
            provisional = provisional or info.provisional
            if info.is_working:
                count += 1
                if count == n:
                    return WorkingDayResult(day, provisional)
        span *= 2


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after ``start``; the start day does not count."""
    return add_working_days_detail(start, n).day


def working_days_between(a: date, b: date) -> int:
    """Working days in (a, b]; negative when b is before a (then counts (b, a])."""
    if b == a:
        return 0
    if b < a:
        return -working_days_between(b, a)
    window = _Window(a + timedelta(days=1), b)
    count = 0
    day = a
    while day < b:
        day += timedelta(days=1)
        if window.info(day).is_working:
            count += 1
    return count


def is_working_day(day: date) -> bool:
    """Whether ``day`` is a working day."""
    return _Window(day, day).info(day).is_working


def is_provisional(a: date, b: date | None = None) -> bool:
    """Whether any year touched by [a, b] lacks an official schedule."""
    b = b or a
    lo, hi = min(a, b), max(a, b)
    official = set(
        db.session.execute(
            sa.select(CalendarYear.year).where(CalendarYear.year.between(lo.year, hi.year))
        ).scalars()
    )
    return any(y not in official for y in range(lo.year, hi.year + 1))


def year_days(year: int) -> tuple[list[DayInfo], bool]:
    """The holidays and adjusted working days of ``year`` and whether the year is provisional."""
    official = db.session.get(CalendarYear, year) is not None
    if official:
        rows = db.session.execute(
            sa.select(HolidayDay)
            .where(HolidayDay.day.between(date(year, 1, 1), date(year, 12, 31)))
            .order_by(HolidayDay.day)
        ).scalars()
        return [DayInfo(r.day, r.kind is DayKind.WORKDAY, r.name, False) for r in rows], False
    return [DayInfo(d, False, "statutory", True) for d in sorted(statutory_holidays(year))], True


def official_years() -> list[CalendarYear]:
    """Years with an official schedule, newest first."""
    return list(db.session.execute(sa.select(CalendarYear).order_by(CalendarYear.year.desc())).scalars())


def seed_from_chinesecalendar() -> int:
    """Load every year the ``chinesecalendar`` package knows and the database lacks (idempotent).

    Years an administrator entered are never overwritten.
    """
    import chinese_calendar

    by_year: dict[int, list[tuple[date, DayKind, str]]] = {}
    for day, name in chinese_calendar.holidays.items():
        if day.weekday() >= 5 and not _is_named(name):
            continue  # ordinary weekends need no row
        by_year.setdefault(day.year, []).append((day, DayKind.HOLIDAY, _zh_name(name)))
    for day, name in chinese_calendar.workdays.items():
        if day.weekday() >= 5:
            by_year.setdefault(day.year, []).append((day, DayKind.WORKDAY, _zh_name(name)))
    known = set(db.session.execute(sa.select(CalendarYear.year)).scalars())
    added = 0
    for year, days in sorted(by_year.items()):
        if year in known:
            continue
        for day, kind, name in days:
            db.session.add(HolidayDay(day=day, kind=kind, name=name[:100], source=CalendarSource.CHINESECALENDAR))
        db.session.add(CalendarYear(year=year, source=CalendarSource.CHINESECALENDAR))
        added += 1
    db.session.flush()
    if added:
        record_event("calendar.seeded", ("calendar", "chinesecalendar"), actor="system",
                     payload={"years": sorted(set(by_year) - known)})
    return added


def _zh_name(name) -> str:
    text = str(getattr(name, "value", name) or "")
    return HOLIDAY_NAMES_ZH.get(text, text)


def _is_named(name) -> bool:
    return name is not None and str(name) not in ("", "None")


def parse_schedule_csv(year: int, text: str) -> list[tuple[date, DayKind, str]]:
    """Parse ``date,kind,name`` lines (kind: holiday or workday); header optional.

    Raises:
        DomainError: a line is malformed, out of the year, or repeats a date.
    """
    rows: list[tuple[date, DayKind, str]] = []
    seen: set[date] = set()
    reader = csv.reader(io.StringIO(text))
    for lineno, raw in enumerate(reader, start=1):
        if not raw or not any(cell.strip() for cell in raw):
            continue
        cells = [c.strip() for c in raw]
        if lineno == 1 and cells[0].lower() in {"date", "日期"}:
            continue
        if len(cells) < 2:
            raise DomainError(_l("Line %(n)d: expected “date,kind,name”.", n=lineno))
        try:
            day = date.fromisoformat(cells[0])
        except ValueError as exc:
            raise DomainError(_l("Line %(n)d: “%(v)s” is not a date (YYYY-MM-DD).", n=lineno, v=cells[0][:20])) from exc
        kind_text = cells[1].lower()
        aliases = {"holiday": DayKind.HOLIDAY, "假日": DayKind.HOLIDAY, "休": DayKind.HOLIDAY,
                   "workday": DayKind.WORKDAY, "班": DayKind.WORKDAY, "调休上班": DayKind.WORKDAY}
        if kind_text not in aliases:
            raise DomainError(_l("Line %(n)d: the kind must be “holiday” or “workday”.", n=lineno))
        if day.year != year:
            raise DomainError(_l("Line %(n)d: %(d)s is not in %(y)d.", n=lineno, d=day.isoformat(), y=year))
        if day in seen:
            raise DomainError(_l("Line %(n)d: %(d)s appears twice.", n=lineno, d=day.isoformat()))
        seen.add(day)
        name = cells[2] if len(cells) > 2 else ""
        if len(name) > 100 or "\x00" in name:
            raise DomainError(_l("Line %(n)d: the name is too long.", n=lineno))
        rows.append((day, aliases[kind_text], name))
    if not rows:
        raise DomainError(_l("The schedule is empty."))
    return rows


def import_year_schedule(year: int, text: str, *, actor) -> int:
    """Replace ``year``'s schedule with the State Council's, making the year official.

    Raises:
        DomainError: the year is out of range or the CSV is malformed.
    """
    if not 1990 <= year <= 2200:
        raise DomainError(_l("The year must be between 1990 and 2200."))
    rows = parse_schedule_csv(year, text)
    db.session.execute(
        sa.delete(HolidayDay).where(HolidayDay.day.between(date(year, 1, 1), date(year, 12, 31)))
    )
    for day, kind, name in rows:
        db.session.add(HolidayDay(day=day, kind=kind, name=name, source=CalendarSource.ADMIN))
    existing = db.session.get(CalendarYear, year)
    actor_id = getattr(actor, "id", None)
    if existing is None:
        db.session.add(CalendarYear(year=year, source=CalendarSource.ADMIN, updated_by_id=actor_id))
    else:
        existing.source = CalendarSource.ADMIN
        existing.updated_by_id = actor_id
        from marketplace.core.db import utcnow

        existing.updated_at = utcnow()
    db.session.flush()
    record_event(
        "calendar.year_imported", ("calendar_year", year), actor=actor,
        payload={"year": year, "days": [[d.isoformat(), str(k), n] for d, k, n in rows]},
    )
    return len(rows)


def working_days_spans(pairs) -> list[int]:
    """``working_days_between(a, b)`` for many ``(a, b)`` pairs, on one calendar load (reports).

    The calendar is read once for the whole span of the pairs, so the number of queries does not
    grow with the number of pairs.
    """
    pairs = list(pairs)
    if not pairs:
        return []
    lo = min(min(a, b) for a, b in pairs)
    hi = max(max(a, b) for a, b in pairs)
    window = _Window(lo + timedelta(days=1), hi)
    counted = {lo: 0}
    count, day = 0, lo
    while day < hi:
        day += timedelta(days=1)
        if window.info(day).is_working:
            count += 1
        counted[day] = count
    return [counted[b] - counted[a] for a, b in pairs]
