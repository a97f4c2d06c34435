"""Working days across the 2026 Spring Festival and National Day, and in a year with no data."""

from datetime import date

import pytest

from marketplace.core.errors import DomainError
from marketplace.workdays.services import (
    add_working_days,
    add_working_days_detail,
    import_year_schedule,
    is_provisional,
    is_working_day,
    working_days_between,
)


def test_spring_festival_2026(db):
    # 2026-02-15..23 are holidays; Saturday 14 Feb and Saturday 28 Feb are worked (调休).
    assert is_working_day(date(2026, 2, 14))
    assert not is_working_day(date(2026, 2, 16))
    assert not is_working_day(date(2026, 2, 23))
    assert is_working_day(date(2026, 2, 24))
    assert is_working_day(date(2026, 2, 28))
    # Friday 13 Feb + 1 is the adjusted Saturday; + 2 jumps the whole holiday.
    assert add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)
    assert working_days_between(date(2026, 2, 13), date(2026, 2, 24)) == 2


def test_national_day_2026(db):
    # 1–7 October are holidays; Sunday 20 Sept and Saturday 10 Oct are worked.
    assert is_working_day(date(2026, 9, 20))
    assert not is_working_day(date(2026, 10, 1))
    assert add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert working_days_between(date(2026, 9, 30), date(2026, 10, 12)) == 4
    assert not is_provisional(date(2026, 9, 30), date(2026, 10, 12))


def test_start_day_does_not_count(db):
    monday = date(2026, 3, 2)
    assert add_working_days(monday, 0) == monday
    assert add_working_days(monday, 1) == date(2026, 3, 3)
    assert add_working_days(monday, 5) == date(2026, 3, 9)
    assert working_days_between(monday, monday) == 0
    assert working_days_between(date(2026, 3, 9), monday) == -5


def test_year_without_an_official_schedule_is_provisional(db):
    result = add_working_days_detail(date(2027, 9, 30), 1)
    # Statutory National Day (1–3 Oct) and the weekend are skipped; the result is provisional.
    assert result.provisional
    assert result.day == date(2027, 10, 4) or result.day > date(2027, 10, 3)
    assert not is_working_day(date(2027, 10, 1))
    assert not is_working_day(date(2027, 1, 1))
    assert is_provisional(date(2027, 1, 4))


def test_admin_enters_a_year_and_it_becomes_official(db):
    csv_text = "date,kind,name\n2027-10-01,holiday,国庆节\n2027-10-04,holiday,国庆节\n2027-10-05,holiday,国庆节\n2027-10-09,workday,国庆调休\n"
    assert import_year_schedule(2027, csv_text, actor="test") == 4
    db.session.commit()
    assert not is_provisional(date(2027, 10, 1))
    assert not is_working_day(date(2027, 10, 4))
    assert is_working_day(date(2027, 10, 9))
    assert add_working_days_detail(date(2027, 9, 30), 1).provisional is False


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("2027-13-01,holiday,x", "not a date"),
        ("2026-10-01,holiday,x", "not in 2027"),
        ("2027-10-01,party,x", "holiday"),
        ("2027-10-01,holiday,x\n2027-10-01,holiday,y", "twice"),
        ("", "empty"),
    ],
)
def test_bad_schedule_is_refused_and_changes_nothing(app, db, text, fragment):
    with app.test_request_context("/?lang=en"), pytest.raises(DomainError) as exc:
        import_year_schedule(2027, text, actor="test")
    with app.test_request_context("/?lang=en"):
        assert fragment in str(exc.value)
    db.session.rollback()
    assert is_provisional(date(2027, 1, 1))


def test_absurd_day_counts_are_refused(db):
    with pytest.raises(DomainError):
        add_working_days(date(2026, 1, 1), -1)
    with pytest.raises(DomainError):
        add_working_days(date(2026, 1, 1), 10**6)


def test_public_calendar_page_and_calculator(client):
    html = client.get("/calendar?year=2026&start=2026-09-30&days=3").get_data(as_text=True)
    assert "2026-10-10" in html
    html = client.get("/calendar?year=2027").get_data(as_text=True)
    assert "provisional" in html or "暂定" in html
    assert client.get("/calendar?year=abc&start=x&days=-5").status_code == 200


def test_admin_imports_through_the_page(browser, db, login_as):
    from marketplace.accounts.models import Role
    from tests.factories import GovernmentFactory, UserFactory

    admin = UserFactory(organisation=GovernmentFactory(), role=Role.ADMIN)
    db.session.commit()
    login_as(admin)
    resp = browser.post("/admin/calendar", {"year": "2027", "schedule": "2027-02-06,holiday,春节"})
    assert resp.status_code == 302
    assert not is_provisional(date(2027, 2, 6))
    resp = browser.post("/admin/calendar", {"year": "2028", "schedule": "nonsense"}, form_url="/admin/calendar")
    assert resp.status_code == 200
    assert is_provisional(date(2028, 1, 1))


def test_holiday_names_are_official_chinese_and_english_on_request(client):
    html = client.get("/calendar?year=2026").get_data(as_text=True)
    assert "国庆节" in html and "春节" in html
    html = client.get("/calendar?year=2026&lang=en").get_data(as_text=True)
    assert "National Day" in html and "国庆节" not in html
