"""The regulators' list of overdue deliveries: what counts as overdue, the overrun in working days,
who may open it, and the links from each line."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from marketplace.accounts.models import Role
from marketplace.delivery import services
from marketplace.workdays.services import is_working_day, working_days_between
from tests.delivery.conftest import china, make_in_force, upload
from tests.factories import GovernmentFactory, RegulatorFactory, UserFactory

BEFORE_NATIONAL_DAY = date(2026, 9, 30)  # Wednesday; 1–7 October 2026 are holidays
AFTER_NATIONAL_DAY = date(2026, 10, 9)  # Friday: 8 and 9 October are the first working days after it


def _working_day_before(day: date, calendar_days: int) -> date:
    """The last working day at least ``calendar_days`` before ``day``."""
    found = day - timedelta(days=calendar_days)
    while not is_working_day(found):
        found -= timedelta(days=1)
    return found


def _contract_nos(page) -> list[str]:
    return [row.contract.contract_no for row in page.rows]


def test_what_counts_as_overdue(db):
    running = make_in_force(db)  # still working, past its due date
    handed_late = make_in_force(db)  # submitted after the due date; the enterprise is reviewing
    handed_on_time = make_in_force(db)  # submitted before the due date; the enterprise is reviewing
    not_due = make_in_force(db)  # due after the holiday

    running.delivery(due=BEFORE_NATIONAL_DAY)
    late = handed_late.delivery(due=date(2026, 9, 28))
    services.submit_result(late, summary="报告书", files=[upload()], actor=handed_late.agent,
                           now=china(date(2026, 9, 30)))
    on_time = handed_on_time.delivery(due=date(2026, 9, 25))
    services.submit_result(on_time, summary="报告书", files=[upload()], actor=handed_on_time.agent,
                           now=china(date(2026, 9, 24)))
    not_due.delivery(due=date(2026, 10, 12))
    db.session.commit()

    page = services.overdue_deliveries(AFTER_NATIONAL_DAY)
    # longest overdue first; the result handed over on time and the one not yet due are not listed
    assert _contract_nos(page) == [handed_late.contract.contract_no, running.contract.contract_no]
    by_no = {row.contract.contract_no: row for row in page.rows}
    # still working: counted to today, in working days, so the holiday costs nothing
    row = by_no[running.contract.contract_no]
    assert (row.due_date, row.overrun_days) == (BEFORE_NATIONAL_DAY, 2)
    assert str(row.status_label) == "Work in progress"
    # handed over late: counted to the day of the submission, not to today
    row = by_no[handed_late.contract.contract_no]
    assert (row.due_date, row.overrun_days) == (date(2026, 9, 28), 2)
    assert str(row.status_label) == "Submitted late, with the enterprise for acceptance"
    # the due day itself is not overdue; the day after is, even on a holiday (0 working days)
    assert _contract_nos(services.overdue_deliveries(BEFORE_NATIONAL_DAY)) == [handed_late.contract.contract_no]
    page = services.overdue_deliveries(date(2026, 10, 1))
    assert [(r.contract.contract_no, r.overrun_days) for r in page.rows] == [
        (handed_late.contract.contract_no, 2), (running.contract.contract_no, 0)]

    # accepted: the contract is completed and leaves the list
    services.accept_delivery(late, version=None, actor=handed_late.owner, now=china(AFTER_NATIONAL_DAY))
    db.session.commit()
    assert _contract_nos(services.overdue_deliveries(AFTER_NATIONAL_DAY)) == [running.contract.contract_no]


def test_a_contract_whose_work_was_not_opened_yet_is_listed_by_its_own_due_date(db, in_force):
    in_force.contract.due_date = BEFORE_NATIONAL_DAY
    db.session.commit()
    assert services.delivery_of(in_force.contract) is None
    [row] = services.overdue_deliveries(AFTER_NATIONAL_DAY).rows
    assert (row.delivery, row.due_date, row.overrun_days) == (None, BEFORE_NATIONAL_DAY, 2)


def test_a_revision_that_pauses_the_clock_stops_the_overrun(db, in_force):
    f = in_force
    delivery = f.delivery(due=date(2026, 9, 28))
    services.submit_result(delivery, summary="初稿", files=[upload()], actor=f.agent, now=china(date(2026, 9, 29)))
    services.request_revision(delivery, reason="补充监测数据", version=None, actor=f.owner,
                              now=china(date(2026, 9, 30)))
    db.session.commit()
    # one day late; the review day moved the due date; the clock stands still from the request,
    # so the overrun does not grow while the revision is paused
    assert services.clock_stopped_on(delivery, AFTER_NATIONAL_DAY) == date(2026, 9, 30)
    for today in (AFTER_NATIONAL_DAY, date(2026, 10, 20)):
        [row] = services.overdue_deliveries(today).rows
        assert (row.due_date, row.overrun_days) == (date(2026, 9, 29), 1)
        assert str(row.status_label) == "Revision requested"


def test_the_page_lists_the_contract_with_its_links(db, client, login_as):
    f = make_in_force(db)
    today = services.china_today()
    due = _working_day_before(today, 20)
    f.delivery(due=due)
    regulator = RegulatorFactory()
    db.session.commit()
    login_as(regulator)

    nav = client.get("/dashboard").get_data(as_text=True)
    assert "/regulator/deliveries/overdue" in nav and "Overdue deliveries" in nav
    page = client.get("/regulator/deliveries/overdue").get_data(as_text=True)
    contract, case = f.contract, f.s.case
    row = page[page.index(f'data-contract="{contract.contract_no}"'):]
    row = row[:row.index("</tr>")]
    for expected in (contract.contract_no, contract.agency.name, contract.buyer.name, case.case_number,
                     due.isoformat(), f">{working_days_between(due, today)}<", "Work in progress",
                     f'href="/contracts/{contract.id}"', f'href="/deliveries/{contract.id}"',
                     f'href="/regulator/agencies/{contract.agency_org_id}"',
                     f'href="/procurement/cases/{case.id}"'):
        assert expected in row, expected
    assert "1 overdue delivery" in page
    chinese = client.get("/regulator/deliveries/overdue?lang=zh_CN").get_data(as_text=True)
    assert "逾期交付" in chinese and "逾期工作日" in chinese and contract.contract_no in chinese
    # the links lead somewhere for the regulator
    for url in (f"/contracts/{contract.id}", f"/deliveries/{contract.id}",
                f"/regulator/agencies/{contract.agency_org_id}", f"/procurement/cases/{case.id}"):
        assert client.get(url).status_code == 200, url


def test_an_empty_list_says_so(db, client, login_as):
    login_as(RegulatorFactory())
    db.session.commit()
    page = client.get("/regulator/deliveries/overdue?page=99").get_data(as_text=True)
    assert "No delivery is overdue." in page


@pytest.mark.parametrize(("role", "status"), [
    (Role.REGULATOR, 200), (Role.ADMIN, 200), (Role.APPROVAL_OFFICER, 403),
])
def test_only_regulators_and_administrators_open_it(db, client, login_as, role, status):
    login_as(UserFactory(organisation=GovernmentFactory(), role=role))
    db.session.commit()
    assert client.get("/regulator/deliveries/overdue").status_code == status


def test_the_parties_cannot_open_it(db, client, login_as, in_force):
    for user in (in_force.agent, in_force.owner):
        login_as(user)
        assert client.get("/regulator/deliveries/overdue").status_code == 403
