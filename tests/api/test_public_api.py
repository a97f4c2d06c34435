"""The public read endpoints: the API says what the public pages say, pages with cursors, 404s."""

from __future__ import annotations

import html
import json
from datetime import date, datetime, timedelta

import pytest
import schemathesis
import sqlalchemy as sa

from marketplace.agencies.models import Listing
from marketplace.contracts import services as contract_services
from marketplace.contracts.models import Contract, ContractStatus
from marketplace.core.db import utcnow
from marketplace.core.money import format_fen
from marketplace.procurement.jobs import run_procurement_deadlines
from marketplace.procurement.models import RequestStatus, SelectionMethod
from marketplace.procurement.views import china_time
from marketplace.sanctions.models import SanctionKind, SanctionStatus
from tests.api.test_schemathesis import EXCLUDED
from tests.factories import AgencyFactory, ServiceItemFactory
from tests.factories.accounts import DEFAULT_PASSWORD
from tests.factories.sanctions import RegulatorFactory, SanctionCaseFactory
from tests.procurement.conftest import make_scenario

API = "/api/v1"
SEALED_PRICE = 7_654_321  # fen; a price no other field of the scenario happens to contain


def _page_text(client, url: str) -> str:
    resp = client.get(url)
    assert resp.status_code == 200, url
    return html.unescape(resp.get_data(as_text=True))


def _json(client, url: str, status: int = 200):
    resp = client.get(url)
    assert resp.status_code == status, (url, resp.status_code, resp.get_data(as_text=True)[:300])
    assert resp.mimetype == "application/json"
    return resp.get_json()


def _walk(client, url: str, limit: int, cursor: str | None = None) -> list[dict]:
    """Every item of a list endpoint, following the cursors."""
    seen = []
    for _ in range(100):
        sep = "&" if "?" in url else "?"
        data = _json(client, f"{url}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else ""))
        assert len(data["items"]) <= limit
        seen += data["items"]
        cursor = data["next_cursor"]
        if not cursor:
            return seen
    raise AssertionError("the cursors never ended")


def _awarded(db, method=SelectionMethod.LOWEST_PRICE):
    """A request awarded (final) to agency 1 after three bids; its contract is generated."""
    s = make_scenario(db)
    req = s.published(selection_method=method)
    for i, price in enumerate((9_000_000, 8_000_000, 8_500_000)):
        s.bid(req, i, price)
    run_procurement_deadlines(s.after_deadline(req))
    db.session.refresh(req)
    assert req.has_winner
    return s, req


def _in_force(db, s, req) -> Contract:
    run_procurement_deadlines(req.objection_deadline + timedelta(minutes=1))
    contract = db.session.execute(sa.select(Contract).where(Contract.request_id == req.id)).scalar_one()
    winner_staff = s.staff[s.agencies.index(contract.agency)]
    for user in (s.owner, winner_staff):
        contract_services.sign_contract(contract, contract_services.SignatureInput(
            password=DEFAULT_PASSWORD, signer_name="签署人", signer_position="经理", version=None,
            ip="203.0.113.9", user_agent="pytest"), actor=user)
    db.session.commit()
    assert contract.status is ContractStatus.IN_FORCE
    return contract


def _blacklisted(db, **kwargs):
    return SanctionCaseFactory(
        kind=SanctionKind.BLACKLIST, status=SanctionStatus.DECIDED, decider=RegulatorFactory(),
        decided_at=utcnow(), notified_at=utcnow(), response_deadline=date.today(), end_date=None, **kwargs,
    )


# --- the pages and the API agree ---------------------------------------------------------------


def test_agency_name_fee_time_and_credit_agree_with_its_page(client, db, english):
    s = make_scenario(db)
    agency = s.agencies[0]
    db.session.commit()
    data = _json(client, f"{API}/agencies/{agency.id}")
    page = _page_text(client, f"/agencies/{agency.id}")
    assert data["name"] == agency.name and data["name"] in page
    assert data["uscc"] in page
    [listing] = data["listings"]
    assert listing["service_item"]["id"] == s.item.id
    assert format_fen(listing["fee_min_fen"]) in page and format_fen(listing["fee_max_fen"]) in page
    assert f"{listing['time_limit_days']} working days" in page
    assert listing["service_standard"][:40] in page
    # the same listing through the listings endpoint and the catalogue item's fee list
    listed = _json(client, f"{API}/listings?service_item={s.item.id}")["items"]
    assert {item["agency"]["id"] for item in listed} == {a.id for a in s.agencies}
    assert next(i for i in listed if i["id"] == listing["id"]) == listing
    item_page = _page_text(client, f"/services/{s.item.id}")
    for offered in listed:
        assert offered["agency"]["name"] in item_page
    # the directory lists them with the same card
    names = {a["name"] for a in _walk(client, f"{API}/agencies?service_item={s.item.id}", 2)}
    assert names == {a.name for a in s.agencies}
    directory = _page_text(client, f"/agencies?service_item={s.item.id}")
    assert all(name in directory for name in names)


def test_agency_credit_agrees_with_the_credit_page(client, db, english):
    from marketplace.credit import services as credit

    agency = AgencyFactory()
    db.session.commit()
    empty = _json(client, f"{API}/credit/agencies/{agency.id}")
    assert empty["score"] is None and empty["grade"] is None and empty["agency"]["name"] == agency.name
    s = make_scenario(db, n_agencies=1)
    credit.record_credit_input(s.agencies[0].id, "complaint_upheld", actor="test")
    db.session.commit()
    data = _json(client, f"{API}/credit/agencies/{s.agencies[0].id}")
    page = _page_text(client, f"/credit/agencies/{s.agencies[0].id}")
    assert data["grade"] in "ABCD" and data["complaints"] == 1
    assert f"{data['score']:.2f}" in page and f"Formula version {data['formula_version']}" in page
    assert _json(client, f"{API}/agencies/{s.agencies[0].id}")["credit"]["grade"] == data["grade"]
    formula = _json(client, f"{API}/credit/formula")
    current = next(v for v in formula["versions"] if v["version"] == formula["current_version"])
    assert [t["grade"] for t in current["thresholds"]] == ["A", "B", "C"]
    assert set(current["sanction_penalties"]) == {"warning", "suspension", "blacklist"}


def test_announcement_title_deadline_and_filters_agree_with_the_pages(client, db, english):
    s = make_scenario(db)
    req = s.published()
    other = make_scenario(db, n_agencies=1).published(title="另一个采购公告",
                                                      selection_method=SelectionMethod.RANDOM_DRAW)
    make_scenario(db, n_agencies=1).draft(title="未发布的草稿")
    db.session.commit()
    data = _json(client, f"{API}/announcements/{req.id}")
    page = _page_text(client, f"/announcements/{req.id}")
    assert data["title"] == req.title and data["title"] in page
    assert data["reference"] in page
    deadline = datetime.fromisoformat(data["bidding_deadline"])
    assert china_time(deadline) in page
    assert data["status"] == "published" and data["result_public"] is False
    listed = _walk(client, f"{API}/announcements", 1)
    assert [a["id"] for a in listed] == [other.id, req.id]  # newest first, never the draft
    titles = _page_text(client, "/announcements")
    assert all(a["title"] in titles for a in listed) and "未发布的草稿" not in titles
    drawn = _json(client, f"{API}/announcements?method=random_draw")["items"]
    assert [a["id"] for a in drawn] == [other.id]
    assert _json(client, f"{API}/announcements?status=awarded")["items"] == []
    assert _json(client, f"{API}/announcements?status=draft", 422)["error"]["code"] == "validation_error"
    assert _json(client, f"{API}/announcements?region=999999", 422)["error"]["code"] == "validation_error"
    # unknown query fields are ignored, as everywhere in the API
    assert len(_json(client, f"{API}/announcements?colour=blue")["items"]) == 2


def test_result_agrees_with_the_result_page(client, db, english):
    s, req = _awarded(db)
    db.session.commit()
    data = _json(client, f"{API}/announcements/{req.id}/result")
    assert data == json.loads(json.dumps(client.get(f"/announcements/{req.id}/result.json").get_json()))
    page = _page_text(client, f"/announcements/{req.id}/result")
    assert data["method"] == "lowest_price" and data["winner"]["agency_id"] == s.agencies[1].id
    assert data["winner"]["agency_name"] in page and format_fen(data["winner"]["price_fen"]) in page
    assert [e["rank"] for e in data["ranking"]] == [1, 2, 3]
    assert _json(client, f"{API}/announcements/{req.id}")["result_public"] is True


def test_random_draw_result_carries_the_proof(client, db):
    _s, req = _awarded(db, SelectionMethod.RANDOM_DRAW)
    db.session.commit()
    data = _json(client, f"{API}/announcements/{req.id}/result")
    assert data["method"] == "random_draw"
    assert data["draw"]["commitment"] == req.draw_commitment and data["draw"]["seed"]
    assert len(data["draw"]["ranking"]) == 3


def test_contract_notice_agrees_with_the_notices_page(client, db, english):
    s, req = _awarded(db)
    contract = _in_force(db, s, req)
    [notice] = _json(client, f"{API}/contract-notices")["items"]
    page = _page_text(client, "/contracts")
    assert notice["contract_no"] == contract.contract_no and notice["contract_no"] in page
    assert notice["buyer"]["name"] in page and notice["agency"]["name"] in page
    assert format_fen(notice["price_fen"]) in page and notice["due_date"] in page
    assert "special_terms" not in notice and "payment_terms" not in notice


def test_blacklist_entry_agrees_with_the_page_and_the_csv(client, db, english):
    case = _blacklisted(db)
    SanctionCaseFactory()  # a mere proposal: never public
    db.session.commit()
    [entry] = _json(client, f"{API}/blacklist")["items"]
    assert entry["id"] == case.id and entry["kind"] == "blacklist" and entry["end_date"] is None
    page = _page_text(client, "/blacklist")
    csv = client.get("/blacklist.csv").get_data(as_text=True)
    for text in (entry["agency"]["name"], entry["agency"]["uscc"], entry["case"], entry["ground_title"],
                 entry["start_date"], entry["department"]):
        assert text in page and text in csv
    assert _json(client, f"{API}/blacklist/{case.id}") == entry
    assert _json(client, f"{API}/blacklist?kind=warning")["items"] == []
    assert _json(client, f"{API}/blacklist?q={case.organisation.uscc}&kind=all")["items"] == [entry]


def test_catalogue_items_agree_with_the_catalogue_page(client, db):
    items = [ServiceItemFactory() for _ in range(5)]
    hidden = ServiceItemFactory(is_active=False)
    db.session.commit()
    listed = _walk(client, f"{API}/services", 2)
    assert [i["id"] for i in listed] == sorted(i.id for i in items)
    page = _page_text(client, "/services")
    assert all(i["code"] in page and i["name"] in page for i in listed)
    one = _json(client, f"{API}/services/{items[0].id}")
    assert one == listed[0] and one["category"]["name"] == items[0].category.name
    assert _json(client, f"{API}/services/{hidden.id}", 404)["error"]["code"] == "not_found"


# --- cursors and 404s --------------------------------------------------------------------------


def test_cursors_walk_every_listing_once_even_when_rows_arrive(client, db):
    s = make_scenario(db, n_agencies=5)
    db.session.commit()
    first = _json(client, f"{API}/listings?limit=2")
    from tests.factories.procurement import make_eligible_agency

    make_eligible_agency(s.item)  # a newer listing arrives between two pages
    db.session.commit()
    rest = _walk(client, f"{API}/listings", 2, cursor=first["next_cursor"])
    ids = [i["id"] for i in first["items"] + rest]
    assert ids == sorted(set(ids)) and len(ids) == 6
    assert _json(client, f"{API}/listings?cursor=bm9wZQ", 400)["error"]["code"] == "bad_request"
    assert _json(client, f"{API}/listings?limit=0", 422)["error"]["code"] == "validation_error"


@pytest.mark.parametrize("path", [
    "/services/{}", "/agencies/{}", "/credit/agencies/{}", "/announcements/{}", "/announcements/{}/result",
    "/blacklist/{}",
])
def test_unknown_or_out_of_range_ids_are_json_404(client, db, path):
    for value in ("999999", "2147483647", "2147483648", "99999999999999999999", "0", "-1"):
        body = _json(client, API + path.format(value), 404)
        assert body["error"]["code"] == "not_found" and body["error"]["message"]


def test_non_public_records_are_404(client, db):
    s = make_scenario(db, n_agencies=1)
    draft = s.draft()
    proposal = SanctionCaseFactory()
    enterprise = s.enterprise.id
    db.session.commit()
    for url in (f"/announcements/{draft.id}", f"/announcements/{draft.id}/result", f"/blacklist/{proposal.id}",
                f"/agencies/{enterprise}", f"/credit/agencies/{enterprise}"):
        assert _json(client, API + url, 404)["error"]["code"] == "not_found"


def test_public_endpoints_need_no_token_but_are_rate_limited(app, client):
    app.config["API_RATE_LIMIT"] = "2 per minute"
    try:
        codes = [client.get(f"{API}/blacklist").status_code for _ in range(3)]
    finally:
        app.config["API_RATE_LIMIT"] = "120 per minute"
    assert codes == [200, 200, 429]


# --- sealed bids -------------------------------------------------------------------------------


def _every_public_response(client) -> list[str]:
    """The body of every public GET operation, path ids filled with every id in the database."""
    spec = client.get(f"{API}/openapi.json").get_json()
    bodies = []
    ids = list(range(1, 40))
    for path, item in spec["paths"].items():
        if "get" not in item or item["get"].get("security"):
            continue
        params = [p["name"] for p in item.get("parameters", []) if p["in"] == "path"]
        if not params:
            bodies.append(client.get(path + "?limit=100").get_data(as_text=True))
            continue
        for i in ids:
            url = path
            for name in params:
                url = url.replace("{" + name + "}", str(i))
            bodies.append(client.get(url).get_data(as_text=True))
    return bodies


def test_a_sealed_bid_price_never_appears_before_bidding_closes(app, client, db):
    s = make_scenario(db)
    req = s.published()
    s.bid(req, 0, SEALED_PRICE, days=17)
    s.bid(req, 1, SEALED_PRICE + 1000, days=18)
    db.session.commit()
    app.config["API_RATE_LIMIT"] = "100000 per minute"
    try:
        bodies = _every_public_response(client)
        assert len(bodies) > 100
        for body in bodies:
            assert str(SEALED_PRICE) not in body and str(SEALED_PRICE + 1000) not in body
            assert format_fen(SEALED_PRICE) not in body
        assert _json(client, f"{API}/announcements/{req.id}/result", 404)["error"]["code"] == "not_found"
        # once bidding has closed and the award is made, the result page and the API reveal them together
        run_procurement_deadlines(s.after_deadline(req))
        db.session.commit()
        assert req.status is not RequestStatus.PUBLISHED
        revealed = _json(client, f"{API}/announcements/{req.id}/result")
        assert SEALED_PRICE in [e.get("price_fen") for e in revealed["ranking"]]
    finally:
        app.config["API_RATE_LIMIT"] = "120 per minute"


# --- the spec holds with real data ------------------------------------------------------------

PUBLIC_PREFIXES = ("/services", "/agencies", "/listings", "/announcements", "/contract-notices", "/credit",
                   "/blacklist")


def test_public_operations_answer_on_spec_with_real_rows(app, db):
    """Schemathesis's empty-database fuzzing never reaches a 200 with rows: validate those here."""
    s, req = _awarded(db, SelectionMethod.RANDOM_DRAW)
    contract = _in_force(db, s, req)
    case = _blacklisted(db, organisation=s.agencies[0])
    open_req = make_scenario(db, n_agencies=1).published(title="仍在投标中的公告")
    db.session.commit()
    listing = db.session.execute(sa.select(Listing).where(Listing.organisation_id == s.agencies[1].id)).scalar_one()
    ids = {"item_id": s.item.id, "org_id": s.agencies[1].id, "request_id": req.id, "case_id": case.id,
           "listing_id": listing.id}
    app.config["API_RATE_LIMIT"] = "100000 per minute"
    try:
        schema = schemathesis.openapi.from_wsgi(f"{API}/openapi.json", app)
        checked = 0
        for result in schema.get_all_operations():
            operation = result.ok()
            public = operation.method.upper() == "GET" and not operation.definition.raw.get("security")
            if not public or not operation.path.removeprefix(API).startswith(PUBLIC_PREFIXES):
                continue
            names = [p.name for p in operation.path_parameters]
            queries = [{}] if names else [{}, {"limit": 1}]
            for query in queries:
                case_ = operation.Case(path_parameters={n: ids[n] for n in names}, query=query)
                response = case_.call()
                assert response.status_code == 200, (operation.label, response.text[:300])
                case_.validate_response(response, excluded_checks=EXCLUDED)
                checked += 1
        assert checked >= 19
    finally:
        app.config["API_RATE_LIMIT"] = "120 per minute"
    assert contract.id and open_req.id
