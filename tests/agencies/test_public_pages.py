"""Public pages: the fee list, the directory, the agency page; expiry; regions; query counts."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.agencies import eligibility
from marketplace.agencies.models import FeeKind, ListingStatus
from marketplace.agencies.visibility import rebuild as rebuild_visibility
from marketplace.catalog.models import QualificationRule
from tests.factories import (
    AgencyFactory,
    AgencyProfileFactory,
    EnterpriseFactory,
    IndependenceDeclarationFactory,
    ListingFactory,
    QualificationFactory,
    QualificationTypeFactory,
    ServiceItemFactory,
    ServiceRegionFactory,
)


def published(org, item, **terms):
    IndependenceDeclarationFactory(organisation_id=org.id)
    return ListingFactory(organisation=org, service_item=item, status=ListingStatus.PUBLISHED, **terms)


def test_listing_disappears_the_day_its_only_certificate_expires(db, client, monkeypatch):
    qtype = QualificationTypeFactory()
    item = ServiceItemFactory(name="地质灾害危险性评估", qualification_types=[qtype])
    org = AgencyFactory(name="滇西地勘评估有限公司")
    last_day = eligibility.today() + timedelta(days=3)
    QualificationFactory(organisation_id=org.id, qualification_type=qtype, valid_to=last_day)
    listing = published(org, item)
    db.session.commit()

    monkeypatch.setattr(eligibility, "today", lambda: last_day)
    assert org.name in client.get(f"/services/{item.id}").get_data(as_text=True)
    assert item.name in client.get(f"/agencies/{org.id}").get_data(as_text=True)
    assert client.get(f"/listings/{listing.id}").status_code == 200
    directory = client.get(f"/agencies?service_item={item.id}").get_data(as_text=True)
    assert org.name in directory

    monkeypatch.setattr(eligibility, "today", lambda: last_day + timedelta(days=1))
    assert org.name not in client.get(f"/services/{item.id}").get_data(as_text=True)
    assert f"/services/{item.id}\"" not in client.get(f"/agencies/{org.id}").get_data(as_text=True)
    assert client.get(f"/listings/{listing.id}").status_code == 404
    assert org.name not in client.get(f"/agencies?service_item={item.id}").get_data(as_text=True)
    # Nobody acted: the listing is still "published", only no longer shown.
    db.session.refresh(listing)
    assert listing.status is ListingStatus.PUBLISHED


def test_any_of_and_all_of(db):
    a, b = QualificationTypeFactory(), QualificationTypeFactory()
    any_item = ServiceItemFactory(qualification_types=[a, b], qualification_rule=QualificationRule.ANY)
    all_item = ServiceItemFactory(qualification_types=[a, b], qualification_rule=QualificationRule.ALL)
    free_item = ServiceItemFactory()
    org = AgencyFactory()
    assert eligibility.agency_qualifies_for(org, free_item)
    assert not eligibility.agency_qualifies_for(org, any_item)
    QualificationFactory(organisation_id=org.id, qualification_type=a)
    assert eligibility.agency_qualifies_for(org, any_item)
    assert not eligibility.agency_qualifies_for(org, all_item)
    # Another agency's certificate never counts.
    QualificationFactory(organisation_id=AgencyFactory().id, qualification_type=b)
    assert not eligibility.agency_qualifies_for(org, all_item)
    q = QualificationFactory(organisation_id=org.id, qualification_type=b)
    assert eligibility.agency_qualifies_for(org, all_item)
    assert not eligibility.agency_qualifies_for(org, all_item, on=q.valid_to + timedelta(days=1))
    assert not eligibility.agency_qualifies_for(org, all_item, on=q.valid_from - timedelta(days=1))
    assert eligibility.agency_qualifies_for(org, all_item, on=q.valid_from)


def test_a_sanction_hides_listings_through_the_hook(db, client, monkeypatch):
    item = ServiceItemFactory()
    org = AgencyFactory(name="被暂停的中介公司")
    published(org, item)
    db.session.commit()
    assert not eligibility.agency_is_sanctioned(org.id)
    assert org.name in client.get(f"/services/{item.id}").get_data(as_text=True)

    def sanctioned(org_id, on):
        return org_id == org.id

    monkeypatch.setattr(eligibility, "sanctioned_sql", sanctioned)
    # The rule itself changed (no data did): the public lists' projection is filled from it anew.
    rebuild_visibility()
    db.session.commit()
    assert eligibility.agency_is_sanctioned(org.id)
    assert org.name not in client.get(f"/services/{item.id}").get_data(as_text=True)


def test_fee_list_sorts_by_fee_and_time(db, client):
    item = ServiceItemFactory()
    cheap = published(AgencyFactory(name="甲低价公司"), item, fee_min_fen=100_000, time_limit_days=30)
    dear = published(AgencyFactory(name="乙高价公司"), item, fee_kind=FeeKind.RANGE,
                     fee_min_fen=500_000, fee_max_fen=900_000, time_limit_days=5)
    db.session.commit()

    def order(sort):
        html = client.get(f"/services/{item.id}?sort={sort}").get_data(as_text=True)
        return html.index("甲低价公司") < html.index("乙高价公司")

    assert order("fee") and not order("fee_desc")
    assert not order("time") and order("time_desc")
    html = client.get(f"/services/{item.id}").get_data(as_text=True)
    assert "1,000.00" in html and "5,000.00" in html and "9,000.00" in html
    assert cheap.id != dear.id


def test_region_filter_never_excludes_an_agency_registered_elsewhere(db, client):
    item = ServiceItemFactory()
    beijing = AgencyFactory(name="北京注册服务昆明公司", region_code="110000")
    AgencyProfileFactory(organisation=beijing, serves_nationwide=False)
    ServiceRegionFactory(organisation_id=beijing.id, region_code="530100")
    local_only = AgencyFactory(name="成都本地服务公司", region_code="510100")
    AgencyProfileFactory(organisation=local_only, serves_nationwide=False)
    ServiceRegionFactory(organisation_id=local_only.id, region_code="510100")
    anywhere = AgencyFactory(name="全国服务公司", region_code="310000")  # no profile: nationwide
    for org in (beijing, local_only, anywhere):
        published(org, item)
    db.session.commit()
    # A district of Kunming: served by the Beijing agency (it serves all of Kunming).
    html = client.get(f"/services/{item.id}?region=530102").get_data(as_text=True)
    assert "北京注册服务昆明公司" in html and "全国服务公司" in html and "成都本地服务公司" not in html
    # The province: anyone serving part of Yunnan.
    html = client.get("/agencies?region=530000").get_data(as_text=True)
    assert "北京注册服务昆明公司" in html and "成都本地服务公司" not in html
    # Registered in Kunming but serving only Chengdu is not a Kunming agency for this filter.
    html = client.get("/agencies?region=510104").get_data(as_text=True)
    assert "成都本地服务公司" in html and "北京注册服务昆明公司" not in html


@pytest.mark.parametrize(
    "url",
    [
        "/agencies?region=abc&category=x&service_item=-1&page=0",
        "/agencies?service_item=99999999999999999999&q=%00%25_",
        "/agencies?page=999",
        "/services?category=99999999999&approval_item=abc&q=" + "长" * 500,
        "/services/{item}?region=999999&sort=drop&page=-3",
        "/services/{item}?region=530102&sort=time_desc&page=abc",
        "/listings/{listing}?at=2020-13-45",
        "/listings/{listing}?at=1900-01-01",
        "/approval-items?q=%00&page=99999999",
    ],
)
def test_bad_query_strings_give_a_normal_page(db, client, url):
    item = ServiceItemFactory()
    listing = published(AgencyFactory(), item)
    db.session.commit()
    resp = client.get(url.format(item=item.id, listing=listing.id))
    assert resp.status_code == 200


def test_unknown_or_inactive_things_are_404(db, client):
    item = ServiceItemFactory(is_active=False)
    listing = ListingFactory(service_item=item, status=ListingStatus.PUBLISHED)
    draft = ListingFactory()
    db.session.commit()
    assert client.get(f"/services/{item.id}").status_code == 404
    assert client.get(f"/listings/{listing.id}").status_code == 404
    assert client.get(f"/listings/{draft.id}").status_code == 404
    assert client.get("/agencies/999999").status_code == 404
    enterprise = EnterpriseFactory()
    db.session.commit()
    assert client.get(f"/agencies/{enterprise.id}").status_code == 404


def test_listing_page_shows_history_and_the_commitment_at_a_date(db, client):
    from marketplace.agencies import services

    listing = published(AgencyFactory(), ServiceItemFactory(), fee_min_fen=800_000, time_limit_days=20)
    db.session.commit()
    first = listing.current
    first.valid_from = first.valid_from - timedelta(days=40)
    db.session.commit()
    staff_actor = "test"
    services.update_commitment(
        listing, services.Commitment(fee_kind=FeeKind.FIXED, fee_min_fen=700_000, time_limit_days=15,
                                     fee_basis="包干", service_standard="标准"),
        actor=staff_actor,
    )
    db.session.commit()
    day = (eligibility.today() - timedelta(days=20)).isoformat()
    html = client.get(f"/listings/{listing.id}?at={day}").get_data(as_text=True)
    assert 'id="at-result"' in html
    result = html[html.index('id="at-result"'):]
    assert "8,000.00" in result[:400]
    assert "7,000.00" in html  # the version in force today


@contextmanager
def count_queries(db):
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", before)


def _add_agencies(item, qtype, n, start):
    for i in range(start, start + n):
        org = AgencyFactory(name=f"计数测试中介{i:03d}有限公司")
        AgencyProfileFactory(organisation=org, serves_nationwide=False)
        ServiceRegionFactory(organisation_id=org.id, region_code="530100")
        ServiceRegionFactory(organisation_id=org.id, region_code="530400")
        QualificationFactory(organisation_id=org.id, qualification_type=qtype)
        published(org, item, fee_min_fen=100_000 * (i + 1), time_limit_days=1 + i % 10)
        other = ServiceItemFactory(category=item.category)
        published(org, other)


@pytest.mark.parametrize(
    "path",
    ["/services/{item}", "/services/{item}?region=530102&sort=time", "/agencies",
     "/agencies?region=530000&category={category}", "/services", "/agencies/{org}"],
)
def test_pages_run_a_constant_number_of_queries(db, client, path):
    qtype = QualificationTypeFactory()
    item = ServiceItemFactory(qualification_types=[qtype])
    _add_agencies(item, qtype, 3, 0)
    db.session.commit()
    org_id = db.session.scalars(sa.select(sa.func.min(eligibility.Listing.organisation_id))).one()
    url = path.format(item=item.id, category=item.category_id, org=org_id)
    client.get(url)  # warm up

    with count_queries(db) as few:
        resp = client.get(url)
    assert resp.status_code == 200
    html_few = resp.get_data(as_text=True)

    _add_agencies(item, qtype, 27, 3)
    db.session.commit()
    with count_queries(db) as many:
        resp = client.get(url)
    assert resp.status_code == 200
    assert len(many) == len(few), (len(few), len(many))
    # The page really shows more rows now (up to a page of 20).
    assert resp.get_data(as_text=True).count("计数测试中介") >= html_few.count("计数测试中介")


def test_ids_beyond_the_database_range_are_404_not_500(db, client, login_as):
    from marketplace.accounts.models import Role
    from tests.factories import UserFactory

    huge = 2**40
    for url in (f"/agencies/{huge}", f"/services/{huge}", f"/listings/{huge}"):
        assert client.get(url).status_code == 404, url
    login_as(UserFactory(organisation=AgencyFactory(), role=Role.AGENCY_STAFF))
    db.session.commit()
    for url in (f"/agency/listings/{huge}", f"/agency/qualifications/{huge}/edit",
                f"/qualifications/{huge}/scan", f"/agency/listings/new?item={huge}"):
        assert client.get(url).status_code in (200, 404), url
