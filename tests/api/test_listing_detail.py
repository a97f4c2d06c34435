"""GET /api/v1/listings/{id}: one published listing, saying what its public page says; 404 otherwise."""

from __future__ import annotations

import html

import pytest

from marketplace.accounts.models import Role
from marketplace.agencies import services as agencies
from marketplace.agencies.models import FeeKind, ListingStatus
from marketplace.core.money import format_fen
from tests.factories import AgencyFactory, QualificationTypeFactory, ServiceItemFactory, UserFactory
from tests.factories.agencies import ListingFactory
from tests.factories.procurement import make_eligible_agency
from tests.procurement.conftest import make_scenario

API = "/api/v1"


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the English page."""


def _json(client, url, status=200):
    resp = client.get(url)
    assert resp.status_code == status, (url, resp.status_code, resp.get_data(as_text=True)[:300])
    assert resp.mimetype == "application/json"
    return resp.get_json()


def test_a_listing_agrees_with_its_page_and_the_list_including_its_history(client, db):
    s = make_scenario(db)
    agency, staff = s.agencies[0], s.staff[0]
    listing = next(item for item in agencies.visible_listings(agency.id))
    agencies.update_commitment(listing, agencies.Commitment(
        fee_kind=FeeKind.RANGE, fee_min_fen=1_234_500, fee_max_fen=4_321_000, time_limit_days=23,
        service_standard="第二版服务标准：成果经专家评审并一次性通过。", fee_basis="按投资额分档计费",
        change_note="下调收费上限"), actor=staff)
    db.session.commit()

    data = _json(client, f"{API}/listings/{listing.id}")
    page = html.unescape(client.get(f"/listings/{listing.id}").get_data(as_text=True))
    assert data["agency"] == {"id": agency.id, "name": agency.name} and agency.name in page
    assert data["service_item"]["id"] == s.item.id and s.item.name in page
    assert data["version"] == 2 and "version 2" in page
    assert data["fee_kind"] == "range" and data["time_limit_days"] == 23
    assert format_fen(data["fee_min_fen"]) in page and format_fen(data["fee_max_fen"]) in page
    assert "23 working days" in page and f"statutory limit: {data['statutory_days']}" in page
    assert data["fee_basis"] in page and data["service_standard"] in page
    assert [v["version"] for v in data["history"]] == [2, 1]
    assert data["history"][0]["change_note"] == "下调收费上限" and "下调收费上限" in page
    assert data["history"][0]["valid_from"] == data["valid_from"]
    assert data["web_url"].endswith(f"/listings/{listing.id}")
    # The list endpoint shows the same listing with the same commitments.
    listed = _json(client, f"{API}/listings?service_item={s.item.id}&limit=100")["items"]
    same = next(item for item in listed if item["id"] == listing.id)
    assert same == {key: data[key] for key in same}


def test_listings_the_public_page_does_not_show_are_404(client, db):
    item = ServiceItemFactory()
    draft = ListingFactory(service_item=item, status=ListingStatus.DRAFT)
    shown = ListingFactory(organisation=make_eligible_agency(ServiceItemFactory()), status=ListingStatus.PUBLISHED)
    withdrawn = ListingFactory(organisation=AgencyFactory(), service_item=item, status=ListingStatus.PUBLISHED)
    needs_certificate = ServiceItemFactory(qualification_types=[QualificationTypeFactory()])
    unqualified = ListingFactory(service_item=needs_certificate, status=ListingStatus.PUBLISHED)  # holds none
    staff = UserFactory(organisation=withdrawn.organisation, role=Role.AGENCY_STAFF)
    agencies.withdraw_listing(withdrawn, actor=staff, reason="暂停承接")
    db.session.commit()
    for listing in (draft, withdrawn, unqualified):
        assert client.get(f"/listings/{listing.id}").status_code == 404
        assert _json(client, f"{API}/listings/{listing.id}", 404)["error"]["code"] == "not_found"
    for value in ("999999", "2147483647", "2147483648", "99999999999999999999", "0", "-1"):
        assert _json(client, f"{API}/listings/{value}", 404)["error"]["code"] == "not_found"
    assert client.get(f"/listings/{shown.id}").status_code == 200
    assert _json(client, f"{API}/listings/{shown.id}")["id"] == shown.id


def test_the_listing_response_with_a_real_row_matches_the_spec(app, db):
    import schemathesis

    from tests.api.test_schemathesis import EXCLUDED

    s = make_scenario(db, n_agencies=1)
    listing = agencies.visible_listings(s.agencies[0].id)[0]
    db.session.commit()
    schema = schemathesis.openapi.from_wsgi(f"{API}/openapi.json", app)
    operation = schema[f"{API}/listings/{{listing_id}}"]["GET"]
    case = operation.Case(path_parameters={"listing_id": listing.id})
    response = case.call()
    assert response.status_code == 200
    case.validate_response(response, excluded_checks=EXCLUDED)
