"""Who may open the dashboard, bad filters, the query budget and the demo data."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Organisation, OrgKind, Role, User
from marketplace.agencies.models import ListingStatus
from marketplace.credit.models import CreditScore
from marketplace.extensions import db as _db
from marketplace.oversight import services
from marketplace.procurement.models import PurchaseRequest, RequestStatus, SelectionMethod
from marketplace.sanctions.models import SanctionStatus
from tests.factories import (
    AgencyFactory,
    GovernmentFactory,
    ListingFactory,
    ServiceItemFactory,
    UserFactory,
)
from tests.factories.sanctions import SanctionCaseFactory
from tests.oversight.conftest import (
    SqlCounter,
    at,
    make_accepted,
    make_failed,
    make_request,
    rows_by_first_cell,
    tables_of,
)

URL = "/regulator/oversight"


def test_regulators_and_administrators_only(client, login_as, db):
    assert client.get(URL).status_code == 302  # to the sign-in page
    login_as(UserFactory(role=Role.ENTERPRISE_STAFF))
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}/monthly.csv").status_code == 403
    login_as(UserFactory(organisation=GovernmentFactory(), role=Role.ADMIN))
    response = client.get(URL)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Oversight dashboard" in html
    assert 'src="/static/vendor/echarts/echarts.min.js"' in html
    assert 'src="/static/js/oversight.js"' in html


def test_empty_market_shows_every_panel_with_its_table(client, login_as, regulator):
    login_as(regulator)
    html = client.get(URL).get_data(as_text=True)
    tables = tables_of(html)
    for key in services.CHART_KEYS:
        assert f"table-{key}" in tables, key
        assert f'href="/regulator/oversight/{key}.csv?' in html, key
    assert "No data for these filters." in html
    # No inline script may run under the CSP: chart data travels in JSON blocks only.
    assert "<script>" not in html
    assert " style=" not in html


def test_nav_links_to_the_dashboard(client, login_as, regulator):
    login_as(regulator)
    assert 'href="/regulator/oversight"' in client.get("/dashboard").get_data(as_text=True)


@pytest.mark.parametrize(("args", "message"), [
    ({"region": "abc"}, "A region code has six digits"),
    ({"region": "990100"}, "A region code has six digits"),
    ({"department": "999999"}, "Choose an approving department from the list."),
    ({"department": "x' OR 1=1"}, "Choose an approving department from the list."),
    ({"item": "99999999999999999999"}, "Choose a service item from the list."),
    ({"start": "2026-13-45"}, "Not a valid date value"),
    ({"start": "0001-01-01"}, "Choose a date between 2000-01-01 and 2100-12-31."),
    ({"start": "2026-05-01", "end": "2026-04-01"}, "The end of the period must not be before its start."),
    ({"start": "2001-01-01", "end": "2026-04-01"}, "The period may cover at most ten years."),
    ({"start": "2001-01-01"}, "The period may cover at most ten years."),
    ({"start": "2099-01-01"}, "The end of the period must not be before its start."),
])
def test_bad_filters_get_a_clear_error(client, login_as, regulator, args, message):
    login_as(regulator)
    response = client.get(URL, query_string=args)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    assert "Some filters are not valid" in html
    assert "table-monthly" not in html
    csv = client.get(f"{URL}/monthly.csv", query_string=args)
    assert csv.status_code == 400
    assert message in csv.get_data(as_text=True)


def test_unknown_chart_is_404(client, login_as, regulator):
    login_as(regulator)
    assert client.get(f"{URL}/passwords.csv").status_code == 404


def _grow_market(n: int, start: int) -> None:
    """``n`` more of everything the dashboard counts: requests at every stage, agencies, cases."""
    item = ServiceItemFactory()
    dept = GovernmentFactory()
    for i in range(start, start + n):
        day = date(2026, 3, 2) + timedelta(days=i % 20)
        agency = AgencyFactory()
        _db.session.add(CreditScore(organisation_id=agency.id, grade="ABCD"[i % 4]))
        ListingFactory(organisation=agency, service_item=item, status=ListingStatus.PUBLISHED)
        make_accepted(item, department=dept, published=day, awarded=day + timedelta(days=7),
                      price_fen=1_000_000 + i, signed=day + timedelta(days=10),
                      accepted=day + timedelta(days=30), overrun_days=i % 2, agency=agency)
        make_failed(item, department=dept, method=SelectionMethod.RANDOM_DRAW, published=day,
                    failed=day + timedelta(days=5))
        make_request(item, department=dept, method=SelectionMethod.SCORING, published=day)
        SanctionCaseFactory(organisation=agency, status=SanctionStatus.NOTIFIED, notified_at=at(day, 12),
                            response_deadline=day + timedelta(days=10))
    _db.session.commit()


def _count_page_statements(app, client) -> tuple[int, str]:
    # Tests share the session with the requests: start from an empty identity map each time,
    # as a real request does, so that only the page's own statements differ.
    _db.session.expunge_all()
    with SqlCounter(_db.engine) as counter:
        response = client.get(URL, query_string={"start": "2026-01-01", "end": "2026-06-30"})
    assert response.status_code == 200
    return counter.count, response.get_data(as_text=True)


def test_query_count_does_not_grow_with_the_market(app, client, login_as, regulator):
    login_as(regulator)
    _grow_market(2, 0)
    client.get(URL)  # warm up whatever is loaded once per process
    small, html = _count_page_statements(app, client)
    assert rows_by_first_cell(tables_of(html)["table-monthly"])["In total"][0] == str(2 * 3)
    _grow_market(4, 2)
    large, html = _count_page_statements(app, client)
    tables = tables_of(html)
    assert rows_by_first_cell(tables["table-monthly"])["In total"][0] == str(6 * 3)  # the data did grow
    assert rows_by_first_cell(tables["table-durations"])["Publication to contract"][0] == "6"
    assert len([r for r in tables["table-open_cases"][1:] if r[0] == "Sanction proposal"]) == 6
    assert large == small
    assert small < 40


def test_demo_data_matches_direct_counts(app, client, login_as, db):
    from marketplace.demo import load_demo

    load_demo("demo-Passw0rd")
    db.session.commit()
    regulator = db.session.execute(sa.select(User).where(User.email == "regulator@demo.zhongjie.test")).scalar_one()
    login_as(regulator)
    response = client.get(URL)
    assert response.status_code == 200
    tables = tables_of(response.get_data(as_text=True))

    start, end = services.default_period(services.china_today())
    bounds = services._utc_bounds(services.Filters(start=start, end=end))

    def count(*where):
        return db.session.execute(sa.select(sa.func.count(PurchaseRequest.id)).where(*where)).scalar()

    published = count(PurchaseRequest.published_at >= bounds[0], PurchaseRequest.published_at < bounds[1])
    failed = count(PurchaseRequest.status == RequestStatus.FAILED)
    awarded = count(PurchaseRequest.awarded_at.is_not(None))
    assert published > 0
    assert failed > 0
    assert awarded > 0
    total = rows_by_first_cell(tables["table-monthly"])["In total"]
    assert total[:3] == [str(published), str(failed), str(awarded)]
    methods = rows_by_first_cell(tables["table-methods"])
    for method in SelectionMethod:
        n = count(PurchaseRequest.selection_method == method, PurchaseRequest.published_at.is_not(None))
        assert methods[str(method.label)][0] == str(n), method
    agencies = db.session.execute(
        sa.select(sa.func.count(Organisation.id)).where(Organisation.kind == OrgKind.AGENCY)
    ).scalar()
    assert rows_by_first_cell(tables["table-overview"])["Agencies"] == [str(agencies)]
    assert rows_by_first_cell(tables["table-grades"])["In total"][0] == str(agencies)
    scored = db.session.execute(sa.select(sa.func.count()).select_from(CreditScore)).scalar()
    assert rows_by_first_cell(tables["table-grades"])["Not yet scored"][0] == str(agencies - scored)
