"""The dashboard's figures against values worked out by hand on a small known market.

The market (periods are China calendar days; the 2026 calendar is the official one):

| request | item | dept | region | method | published | outcome |
|---|---|---|---|---|---|---|
| r1 | S1 | D1 | 530102 | lowest price | Mon 2 Mar | awarded 16 Mar at 80,000 of 100,000; in force Fri 20 Mar; accepted Fri 3 Apr, on time |
| r2 | S1 | D2 | 530112 | scoring | Tue 10 Mar | awarded 25 Mar at 150,000 of 200,000; in force Wed 1 Apr; accepted Fri 10 Apr, 2 days late |
| r3 | S2 | D1 | 520100 | random draw | Tue 7 Apr | failed (流标) 20 Apr |
| r4 | S2 | D1 | 530102 | direct | 1 Apr 00:00 China (31 Mar UTC) | open |
| r5 | S1 | D1 | 530102 | lowest price | draft | — |
| r6 | S2 | D2 | 530112 | lowest price | 25 Feb (before the period) | awarded Tue 31 Mar at 30,000 of 40,000 |

Working days (Qingming holiday 4–6 April 2026): r1 publication → contract (2 Mar, 20 Mar] = 14;
r2 (10 Mar, 1 Apr] = 16; average 15.0. Contract → acceptance: r1 (20 Mar, 3 Apr] = 10;
r2 (1 Apr, 10 Apr] = 2, 3, 7, 8, 9, 10 April = 6; average 8.0.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

import marketplace.complaints.models as complaints
from marketplace.agencies.models import ListingStatus
from marketplace.credit.models import CreditScore
from marketplace.extensions import db as _db
from marketplace.procurement.models import RequestStatus, SelectionMethod
from marketplace.sanctions.models import SanctionStatus
from tests.factories import AgencyFactory, GovernmentFactory, ListingFactory, ServiceItemFactory
from tests.factories.sanctions import SanctionCaseFactory
from tests.oversight.conftest import (
    at,
    make_accepted,
    make_awarded,
    make_failed,
    make_request,
    rows_by_first_cell,
    tables_of,
)

PERIOD = {"start": "2026-03-01", "end": "2026-04-30"}
URL = "/regulator/oversight"


@pytest.fixture
def market(db):
    s1 = ServiceItemFactory(code="T-001", name="环境影响评价")
    s2 = ServiceItemFactory(code="T-002", name="水土保持方案编制")
    d1, d2 = GovernmentFactory(name="测试市生态环境局"), GovernmentFactory(name="测试市水务局")
    a1, a2, a3, a4 = (AgencyFactory(region_code="530102") for _ in range(4))
    a5 = AgencyFactory(region_code="520100", name="=cmd|' /C calc'!A0")
    for org, grade in ((a1, "A"), (a2, "B"), (a3, "B"), (a5, "D")):
        _db.session.add(CreditScore(organisation_id=org.id, grade=grade))
    ListingFactory(organisation=a1, service_item=s1, status=ListingStatus.PUBLISHED)
    ListingFactory(organisation=a2, service_item=s1, status=ListingStatus.PUBLISHED)
    ListingFactory(organisation=a5, service_item=s2, status=ListingStatus.PUBLISHED)
    ListingFactory(organisation=a3, service_item=s2, status=ListingStatus.DRAFT)
    r1 = make_accepted(s1, department=d1, region="530102", published=date(2026, 3, 2),
                       awarded=date(2026, 3, 16), price_fen=8_000_000, budget_fen=10_000_000,
                       signed=date(2026, 3, 20), accepted=date(2026, 4, 3), overrun_days=0, agency=a1)
    r2 = make_accepted(s1, department=d2, region="530112", method=SelectionMethod.SCORING,
                       published=date(2026, 3, 10), awarded=date(2026, 3, 25), price_fen=15_000_000,
                       budget_fen=20_000_000, signed=date(2026, 4, 1), accepted=date(2026, 4, 10),
                       overrun_days=2, agency=a2)
    make_failed(s2, department=d1, region="520100", method=SelectionMethod.RANDOM_DRAW,
                published=date(2026, 4, 7), failed=date(2026, 4, 20))
    # Published at midnight in China on 1 April: still 31 March in UTC.
    make_request(s2, department=d1, region="530102", method=SelectionMethod.DIRECT, published=None,
                 published_at=at(date(2026, 4, 1), 0), direct_agency=a4)
    make_request(s1, department=d1, published=None, status=RequestStatus.DRAFT)
    make_awarded(s2, department=d2, region="530112", published=date(2026, 2, 25),
                 awarded=date(2026, 3, 31), price_fen=3_000_000, budget_fen=4_000_000, agency=a3)
    SanctionCaseFactory(organisation=a1, status=SanctionStatus.NOTIFIED, notified_at=at(date(2026, 4, 20)),
                        response_deadline=date(2026, 4, 28))
    SanctionCaseFactory(organisation=a5, status=SanctionStatus.PROPOSED)
    _db.session.commit()
    return {"s1": s1, "s2": s2, "d1": d1, "d2": d2, "r1": r1, "r2": r2, "a5": a5}


def page(client, login_as, user, **args):
    login_as(user)
    response = client.get(URL, query_string={**PERIOD, **args})
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return tables_of(response.get_data(as_text=True))


def test_monthly_counts_and_failure_rate(client, login_as, regulator, market):
    monthly = rows_by_first_cell(page(client, login_as, regulator)["table-monthly"])
    # month: published, failed, awarded, completed, failure rate
    assert monthly["2026-03"] == ["2", "0", "3", "0", "0.0%"]
    assert monthly["2026-04"] == ["2", "1", "0", "2", "100.0%"]
    assert monthly["In total"] == ["4", "1", "3", "2", "25.0%"]
    assert "2026-02" not in monthly  # r6 was published before the period


def test_durations_count_working_days_on_the_official_calendar(client, login_as, regulator, market):
    tables = page(client, login_as, regulator)
    durations = rows_by_first_cell(tables["table-durations"])
    assert durations["Publication to contract"] == ["2", "15.0"]
    assert durations["Contract to acceptance"] == ["2", "8.0"]
    on_time = rows_by_first_cell(tables["table-on_time"])
    assert on_time["On time"] == ["1", "50.0%"]
    assert on_time["Late"] == ["1", "50.0%"]


def test_price_against_budget_per_service_item(client, login_as, regulator, market):
    prices = rows_by_first_cell(page(client, login_as, regulator)["table-prices"])
    assert prices["T-001 环境影响评价"] == ["2", "CN¥115,000.00", "CN¥150,000.00", "76.7%"]
    assert prices["T-002 水土保持方案编制"] == ["1", "CN¥30,000.00", "CN¥40,000.00", "75.0%"]


def test_selection_methods_and_market_size(client, login_as, regulator, market):
    tables = page(client, login_as, regulator)
    methods = rows_by_first_cell(tables["table-methods"])
    assert methods["Lowest price"] == ["1", "25.0%"]
    assert methods["Comprehensive scoring"] == ["1", "25.0%"]
    assert methods["Random draw"] == ["1", "25.0%"]
    assert methods["Direct selection"] == ["1", "25.0%"]
    assert methods["In total"] == ["4", "100.0%"]
    overview = rows_by_first_cell(tables["table-overview"])
    assert overview == {"Agencies": ["5"], "Published listings": ["3"], "Service items in the catalogue": ["2"]}
    grades = rows_by_first_cell(tables["table-grades"])
    assert grades["Grade A"] == ["1", "20.0%"]
    assert grades["Grade B"] == ["2", "40.0%"]
    assert grades["Grade C"] == ["0", "0.0%"]
    assert grades["Grade D"] == ["1", "20.0%"]
    assert grades["Not yet scored"] == ["1", "20.0%"]


def test_filters_by_department_region_and_item(client, login_as, regulator, market):
    by_dept = page(client, login_as, regulator, department=market["d1"].id)
    assert rows_by_first_cell(by_dept["table-monthly"])["In total"] == ["3", "1", "1", "1", "50.0%"]

    kunming = page(client, login_as, regulator, region="530100")  # the city covers its districts
    assert rows_by_first_cell(kunming["table-monthly"])["In total"] == ["3", "0", "3", "2", "0.0%"]
    assert rows_by_first_cell(kunming["table-overview"])["Agencies"] == ["4"]
    assert rows_by_first_cell(kunming["table-overview"])["Published listings"] == ["2"]
    assert rows_by_first_cell(kunming["table-grades"])["Grade D"] == ["0", "0.0%"]
    assert rows_by_first_cell(kunming["table-grades"])["In total"] == ["4", "100.0%"]

    guizhou = page(client, login_as, regulator, region="520000")  # a province
    assert rows_by_first_cell(guizhou["table-monthly"])["In total"] == ["1", "1", "0", "0", "100.0%"]
    assert rows_by_first_cell(guizhou["table-grades"])["Grade D"] == ["1", "100.0%"]

    s2 = page(client, login_as, regulator, item=market["s2"].id)
    assert rows_by_first_cell(s2["table-monthly"])["In total"] == ["2", "1", "1", "0", "50.0%"]
    assert list(rows_by_first_cell(s2["table-prices"])) == ["T-002 水土保持方案编制"]
    overview = rows_by_first_cell(s2["table-overview"])
    assert overview == {"Agencies": ["1"], "Published listings": ["1"], "Service items in the catalogue": ["1"]}


def test_a_month_is_a_china_month(client, login_as, regulator, market):
    """r4 was published at midnight in China on 1 April, still 31 March in UTC: it counts in April."""
    tables = page(client, login_as, regulator, item=market["s2"].id, start="2026-04-01", end="2026-04-01")
    assert rows_by_first_cell(tables["table-monthly"])["2026-04"][0] == "1"
    tables = page(client, login_as, regulator, item=market["s2"].id, start="2026-03-31", end="2026-03-31")
    assert rows_by_first_cell(tables["table-monthly"])["2026-03"][0] == "0"


def test_open_sanction_proposals_with_their_deadlines(client, login_as, regulator, market):
    rows = page(client, login_as, regulator)["table-open_cases"][1:]
    proposals = [r for r in rows if r[0] == "Sanction proposal"]
    assert len(proposals) == 2
    first, second = proposals
    assert first[3] == "Notified, response period open"
    assert first[4].endswith("2026-04-28")
    assert second[2] == market["a5"].name
    assert second[4] == "—"  # a proposal not yet notified has no response deadline


def test_csv_has_the_table_figures_and_no_formulas(client, login_as, regulator, market):
    login_as(regulator)
    response = client.get(f"{URL}/prices.csv", query_string=PERIOD)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert "T-001 环境影响评价,2,115000.00,150000.00,76.7" in text
    monthly = client.get(f"{URL}/monthly.csv", query_string=PERIOD).get_data(as_text=True)
    assert "2026-04,2,1,0,2,100.0" in monthly
    assert "In total,4,1,3,2,25.0" in monthly
    cases = client.get(f"{URL}/open_cases.csv", query_string=PERIOD).get_data(as_text=True)
    assert "'=cmd|' /C calc'!A0" in cases
    assert ",=cmd" not in cases


def test_open_objections_are_listed_with_their_deadline(client, login_as, regulator, market):
    r1 = market["r1"]
    objector = AgencyFactory(name="昆明测试异议机构有限公司")
    _db.session.add(complaints.Objection(
        request_id=r1.id, objector_org_id=objector.id, award_org_id=r1.awarded_org_id, grounds="评审程序有误",
        status=complaints.ObjectionStatus.SUBMITTED, submitted_at=at(date(2026, 3, 17)),
        answer_deadline=at(date(2026, 3, 20), 17),
    ))
    _db.session.commit()
    rows = page(client, login_as, regulator)["table-open_cases"][1:]
    objections = [r for r in rows if r[0] == "Objection"]
    assert len(objections) == 1
    assert objections[0][1].startswith(f"CG{r1.id:06d}-1 ")
    assert objections[0][2] == "昆明测试异议机构有限公司"
    assert objections[0][4] == "overdue 2026-03-20"  # the earliest deadline comes first
    assert rows[0] == objections[0]
    html = client.get(URL, query_string=PERIOD).get_data(as_text=True)
    assert "/objections/" in html  # each open case links to its own page
    # Outside the region of its request, the objection is not listed.
    rows = page(client, login_as, regulator, region="520000")["table-open_cases"][1:]
    assert [r for r in rows if r[0] == "Objection"] == []


def test_working_day_spans_agree_with_the_calendar_one_pair_at_a_time(db):
    from marketplace.workdays.services import working_days_between, working_days_spans

    days = [date(2025, 12, 28) + timedelta(days=37 * i % 500) for i in range(40)]
    pairs = list(zip(days, reversed(days), strict=True)) + [(date(2026, 4, 1), date(2026, 4, 10))]
    assert working_days_spans(pairs) == [working_days_between(a, b) for a, b in pairs]
    assert working_days_spans(pairs)[-1] == 6  # 2, 3, 7, 8, 9, 10 April: Qingming is 4–6 April
    assert working_days_spans([]) == []
