"""An agency's system through the API: listings, sealed bids, its contracts and their delivery.

The enterprise's and the department's tokens read the same contract and delivery; signing stays
on the site (a person signs with their password), so the tests sign through the services as the
site does. The agency delivers its result through the API (multipart upload).
"""

import hashlib
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Role
from marketplace.agencies.models import Listing, ListingStatus, ListingVersion
from marketplace.api.services import create_token
from marketplace.audit.models import AuditEvent
from marketplace.contracts import services as contracts
from marketplace.contracts.models import Contract
from marketplace.core.errors import DomainError
from marketplace.core.text import MAX_DB_INT
from marketplace.delivery import services as delivery
from marketplace.extensions import db as _db
from marketplace.procurement.jobs import run_procurement_deadlines
from marketplace.procurement.models import Bid
from marketplace.workdays.services import add_working_days
from tests.delivery.conftest import PDF, upload
from tests.factories import (
    AgencyFactory,
    EnterpriseFactory,
    QualificationTypeFactory,
    ServiceItemFactory,
    UserFactory,
)
from tests.factories.accounts import DEFAULT_PASSWORD
from tests.factories.agencies import IndependenceDeclarationFactory, QualificationFactory
from tests.factories.procurement import ApprovalCaseFactory, PurchaseRequestFactory
from tests.procurement.conftest import make_scenario

AGENCY_SCOPES = ("listings:write", "bids:write", "contracts:read", "delivery:write")
ROLE_OF = {"government": Role.APPROVAL_OFFICER, "enterprise": Role.ENTERPRISE_STAFF, "agency": Role.AGENCY_STAFF}


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the English messages."""


def _token(db, org, scopes=AGENCY_SCOPES):
    """(secret, the staff member who created it) for ``org``."""
    user = UserFactory(organisation=org, role=ROLE_OF[org.kind.value])
    _row, secret = create_token(org, name="业务系统", scopes=list(scopes), actor=user)
    db.session.commit()
    return secret, user


def _auth(secret):
    return {"Authorization": f"Bearer {secret}"}


def _new_agency(s):
    """An agency qualified for the scenario's item, with a declaration but no listing yet."""
    org = AgencyFactory(legal_representative="郑明")
    QualificationFactory(organisation_id=org.id, qualification_type=s.item.qualification_types[0])
    IndependenceDeclarationFactory(organisation_id=org.id)
    return org


def _listing_body(s, **changes):
    body = {"service_item_id": s.item.id, "fee_kind": "range", "fee_min_fen": 5_000_000, "fee_max_fen": 9_500_000,
            "fee_basis": "按建设项目投资额分档计费", "time_limit_days": 25,
            "service_standard": "编制环境影响报告表，通过专家技术评审。"}
    body.update(changes)
    return body


def _sign_both(contract, users):
    for user in users:
        contracts.sign_contract(contract, contracts.SignatureInput(
            password=DEFAULT_PASSWORD, signer_name="签署人", signer_position="经理", version=None,
            ip="203.0.113.9", user_agent="pytest"), actor=user)


def _count(model):
    return _db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def _published_with_listing(client, db, s):
    """A published request and a fourth agency that listed the item through its token."""
    org = _new_agency(s)
    secret, staff = _token(db, org)
    resp = client.post("/api/v1/listings", json=_listing_body(s), headers=_auth(secret))
    assert resp.status_code == 201, resp.get_json()
    resp = client.post(f"/api/v1/listings/{resp.get_json()['id']}/publish", headers=_auth(secret))
    assert resp.status_code == 200, resp.get_json()
    req = s.published()
    db.session.commit()
    return org, secret, staff, req


def test_an_agency_system_lists_bids_wins_and_follows_its_contract(client, db, login_as):
    s = make_scenario(db, n_agencies=2)
    org = _new_agency(s)
    secret, staff = _token(db, org)
    h = _auth(secret)

    # Listing: a draft with the three commitments, then published; it shows on the public API.
    resp = client.post("/api/v1/listings", json=_listing_body(s), headers=h)
    assert resp.status_code == 201, resp.get_json()
    listing = resp.get_json()
    assert listing["status"] == "draft" and listing["visible"] is False and listing["problems"] == []
    assert (listing["fee_kind"], listing["fee_min_fen"], listing["fee_max_fen"]) == ("range", 5_000_000, 9_500_000)
    assert listing["time_limit_days"] == 25 and listing["version"] == 1
    assert listing["service_standard"] == "编制环境影响报告表，通过专家技术评审。"
    public = client.get(f"/api/v1/listings?service_item={s.item.id}").get_json()["items"]
    assert org.id not in {i["agency"]["id"] for i in public}
    resp = client.post(f"/api/v1/listings/{listing['id']}/publish", headers=h)
    assert resp.status_code == 200 and resp.get_json()["status"] == "published" and resp.get_json()["visible"]
    public = client.get(f"/api/v1/listings?service_item={s.item.id}").get_json()["items"]
    assert [i["time_limit_days"] for i in public if i["agency"]["id"] == org.id] == [25]
    row = db.session.get(Listing, listing["id"])
    assert row.current.created_by_id is None
    event = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "listing.created")
                               .order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
    assert event.actor_id is None and event.actor_label.startswith("api-token:")

    # A new version of the commitments: only the time limit changes, the rest is kept.
    resp = client.patch(f"/api/v1/listings/{listing['id']}", json={"expected_version": 1, "time_limit_days": 20,
                                                                   "change_note": "增派人手"}, headers=h)
    assert resp.status_code == 200, resp.get_json()
    changed = resp.get_json()
    assert (changed["version"], changed["time_limit_days"], changed["fee_max_fen"]) == (2, 20, 9_500_000)
    assert changed["change_note"] == "增派人手" and changed["fee_basis"] == listing["fee_basis"]
    mine = client.get("/api/v1/my/listings", headers=h).get_json()["items"]
    assert [(i["id"], i["status"], i["version"], i["visible"]) for i in mine] == [
        (listing["id"], "published", 2, True)]

    # The enterprise publishes; the agency finds it among the public announcements and bids.
    req = s.published()
    db.session.commit()
    announced = client.get(f"/api/v1/announcements?item={s.item.id}").get_json()["items"]
    assert [a["id"] for a in announced] == [req.id] and announced[0]["status"] == "published"
    resp = client.post(f"/api/v1/requests/{req.id}/bids", json={"price_fen": 7_900_000, "days": 20}, headers=h)
    assert resp.status_code == 201, resp.get_json()
    bid = resp.get_json()
    assert (bid["status"], bid["price_fen"], bid["days"], bid["version"]) == ("submitted", 7_900_000, 20, 1)
    assert bid["request"]["id"] == req.id and len(bid["commitment"]) == 64
    resp = client.patch(f"/api/v1/bids/{bid['id']}", json={"price_fen": 7_600_000, "days": 18,
                                                           "expected_version": 1}, headers=h)
    assert resp.status_code == 200, resp.get_json()
    assert (resp.get_json()["price_fen"], resp.get_json()["days"], resp.get_json()["version"]) == (7_600_000, 18, 2)
    assert client.get(f"/api/v1/bids/{bid['id']}", headers=h).get_json()["price_fen"] == 7_600_000
    assert [(b["id"], b["price_fen"]) for b in client.get("/api/v1/my/bids", headers=h).get_json()["items"]] == [
        (bid["id"], 7_600_000)]

    # Nobody else sees the price while the bids are sealed.
    s.bid(req, 0, 9_000_000)
    s.bid(req, 1, 8_500_000)
    db.session.commit()
    rival, _ = _token(db, s.agencies[0])
    assert client.get(f"/api/v1/bids/{bid['id']}", headers=_auth(rival)).status_code == 404
    assert [b["price_fen"] for b in client.get("/api/v1/my/bids", headers=_auth(rival)).get_json()["items"]] == [
        9_000_000]
    for url in (f"/api/v1/announcements/{req.id}", f"/api/v1/announcements?item={s.item.id}"):
        resp = client.get(url)
        assert resp.status_code == 200 and b"7600000" not in resp.data and b"7900000" not in resp.data
    assert client.get(f"/api/v1/announcements/{req.id}/result").status_code == 404

    # Bidding closes: the lowest price wins; after the objection period the contract is drafted.
    run_procurement_deadlines(s.after_deadline(req))
    db.session.refresh(req)
    assert req.awarded_org_id == org.id
    run_procurement_deadlines(req.objection_deadline + timedelta(minutes=1))
    assert client.get(f"/api/v1/bids/{bid['id']}", headers=h).get_json()["status"] == "won"

    page = client.get("/api/v1/contracts", headers=h).get_json()
    assert len(page["items"]) == 1 and page["next_cursor"] is None
    summary = page["items"][0]
    assert summary["role"] == "agency" and summary["status"] == "awaiting_signatures"
    assert summary["price_fen"] == 7_600_000 and summary["working_days"] == 18
    detail = client.get(summary["url"], headers=h).get_json()
    contract = db.session.get(Contract, summary["id"])
    assert detail["contract_no"] == contract.contract_no and detail["agency"]["id"] == org.id
    assert detail["buyer"]["id"] == s.enterprise.id and detail["current_version"] == 1
    assert detail["sign_url"].endswith(f"/contracts/{contract.id}")
    assert detail["signatures"] == [] and detail["awaiting"] == ["buyer", "agency"]
    assert detail["in_force_at"] is None and detail["delivery_url"] is None
    with client.get(detail["pdf_url"], headers=h) as resp:
        assert resp.status_code == 200 and resp.mimetype == "application/pdf"
        assert hashlib.sha256(resp.data).hexdigest() == detail["sha256"]
    assert client.get(f"/api/v1/contracts/{contract.id}/delivery", headers=h).status_code == 404

    # Both sign on the site (services here); the contract is in force and sealed.
    ent, owner_token_user = _token(db, s.enterprise, scopes=("contracts:read",))
    _sign_both(contract, [s.owner, staff])
    db.session.commit()
    detail = client.get(f"/api/v1/contracts/{contract.id}", headers=_auth(ent)).get_json()
    assert detail["status"] == "in_force" and detail["in_force_at"] and detail["awaiting"] == []
    assert [(x["party"], x["organisation"]["id"], x["version"], x["sha256"]) for x in detail["signatures"]] == [
        ("buyer", s.enterprise.id, 1, detail["sha256"]), ("agency", org.id, 1, detail["sha256"])]
    with client.get(detail["pdf_url"], headers=_auth(ent)) as resp:
        assert hashlib.sha256(resp.data).hexdigest() == detail["sealed_sha256"] != detail["sha256"]

    # The delivery: the agency sees the due date and countdown, proposes a later date and delivers.
    view = client.get(detail["delivery_url"], headers=h).get_json()
    assert view["status"] == "in_progress" and view["due_date"] == contract.due_date.isoformat()
    assert view["countdown"]["state"] == "left" and view["submissions"] == []
    found = delivery.delivery_of(contract)
    later = add_working_days(contract.due_date, 5)
    resp = client.post(f"{detail['delivery_url']}/extensions", headers=h,
                       json={"new_due_date": later.isoformat(), "reason": "补充监测数据"})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["status"] == "proposed"
    resp = client.post(f"{detail['delivery_url']}/submissions", headers=h, content_type="multipart/form-data",
                       data={"summary": "环境影响报告表（送审稿）", "files": [(io.BytesIO(PDF), "报告.pdf")]})
    assert resp.status_code == 201, resp.get_json()
    posted = resp.get_json()
    assert posted["version"] == 1 and posted["files"][0]["sha256"] == hashlib.sha256(PDF).hexdigest()
    submission = found.submissions[0]
    assert submission.submitted_by_id is None and submission.submitted_by_token.name == "业务系统"
    # the audit trail and the site's delivery page name the token as the submitter
    event = _db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "delivery.submitted")
                                .order_by(AuditEvent.seq.desc())).scalars().first()
    assert event.actor_label.startswith("api-token:")
    login_as(s.owner)
    assert "the API token “业务系统”" in client.get(f"/deliveries/{contract.id}").get_data(as_text=True)
    (ext,) = client.get(detail["delivery_url"], headers=h).get_json()["extensions"]
    assert (ext["status"], ext["proposed_by"]["id"], ext["proposed_due_date"]) == ("proposed", org.id,
                                                                                   later.isoformat())

    view = client.get(detail["delivery_url"], headers=_auth(ent)).get_json()
    assert view["status"] == "submitted" and view["countdown"]["state"] == "with_buyer"
    (version,) = view["submissions"]
    assert version["version"] == 1 and version["summary"] == "环境影响报告表（送审稿）" and not version["accepted"]
    (file_json,) = version["files"]
    assert file_json["sha256"] == hashlib.sha256(PDF).hexdigest() and file_json["name"] == "报告.pdf"
    with client.get(file_json["download_url"], headers=_auth(ent)) as resp:
        assert resp.status_code == 200 and hashlib.sha256(resp.data).hexdigest() == file_json["sha256"]
    with client.get(file_json["download_url"], headers=h) as resp:
        assert resp.data == PDF

    # The department of the case reads the delivery (not the contract), and only the accepted version.
    gov, _ = _token(db, s.case.department, scopes=("contracts:read",))
    assert client.get(f"/api/v1/contracts/{contract.id}", headers=_auth(gov)).status_code == 404
    assert client.get("/api/v1/contracts", headers=_auth(gov)).get_json()["items"] == []
    view = client.get(detail["delivery_url"], headers=_auth(gov)).get_json()
    assert view["submissions"] == [] and view["extensions"] == []
    assert client.get(file_json["download_url"], headers=_auth(gov)).status_code == 404
    delivery.accept_delivery(found, version=1, actor=s.owner)
    db.session.commit()
    view = client.get(detail["delivery_url"], headers=_auth(gov)).get_json()
    assert view["status"] == "accepted" and [v["accepted"] for v in view["submissions"]] == [True]
    with client.get(file_json["download_url"], headers=_auth(gov)) as resp:
        assert hashlib.sha256(resp.data).hexdigest() == file_json["sha256"]


def test_a_losing_agency_sees_its_own_bid_lost_and_prices_only_once_public(client, db):
    s = make_scenario(db, n_agencies=2)
    org, secret, _staff, req = _published_with_listing(client, db, s)
    h = _auth(secret)
    bid = client.post(f"/api/v1/requests/{req.id}/bids", json={"price_fen": 9_400_000, "days": 25},
                      headers=h).get_json()
    s.bid(req, 0, 8_000_000)
    s.bid(req, 1, 8_500_000)
    db.session.commit()
    run_procurement_deadlines(s.after_deadline(req))
    db.session.refresh(req)
    assert req.awarded_org_id == s.agencies[0].id
    mine = client.get(f"/api/v1/bids/{bid['id']}", headers=h).get_json()
    assert mine["status"] == "lost" and mine["price_fen"] == 9_400_000 and mine["request"]["result_public"] is True
    # Once the result is public, the ranking shows every revealed price, this one included.
    result = client.get(f"/api/v1/announcements/{req.id}/result").get_json()
    assert 9_400_000 in {r.get("price_fen") for r in result["ranking"]}
    # The loser has no contract.
    assert client.get("/api/v1/contracts", headers=h).get_json()["items"] == []
    # Bidding has closed: revising or withdrawing is a conflict and changes nothing.
    resp = client.patch(f"/api/v1/bids/{bid['id']}", json={"price_fen": 1_000_000, "days": 5,
                                                           "expected_version": 1}, headers=h)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "conflict"
    resp = client.post(f"/api/v1/bids/{bid['id']}/withdraw", headers=h)
    assert resp.status_code == 409
    resp = client.post(f"/api/v1/requests/{req.id}/bids", json={"price_fen": 1_000_000, "days": 5}, headers=h)
    assert resp.status_code == 409
    db.session.expire_all()
    row = db.session.get(Bid, bid["id"])
    assert (row.price_fen, row.status.value) == (9_400_000, "lost")


def test_withdrawing_and_bidding_again_and_listing_states(client, db):
    s = make_scenario(db, n_agencies=1)
    org, secret, _staff, req = _published_with_listing(client, db, s)
    h = _auth(secret)
    first = client.post(f"/api/v1/requests/{req.id}/bids", json={"price_fen": 8_000_000, "days": 20}, headers=h)
    assert first.status_code == 201
    again = client.post(f"/api/v1/requests/{req.id}/bids", json={"price_fen": 7_000_000, "days": 20}, headers=h)
    assert again.status_code == 409 and "already submitted a bid" in again.get_json()["error"]["message"]
    bid_id = first.get_json()["id"]
    stale = client.patch(f"/api/v1/bids/{bid_id}", json={"price_fen": 7_000_000, "days": 20, "expected_version": 5},
                         headers=h)
    assert stale.status_code == 409
    assert client.get(f"/api/v1/bids/{bid_id}", headers=h).get_json()["price_fen"] == 8_000_000
    resp = client.post(f"/api/v1/bids/{bid_id}/withdraw", headers=h)
    assert resp.status_code == 200 and resp.get_json()["status"] == "withdrawn"
    assert client.post(f"/api/v1/bids/{bid_id}/withdraw", headers=h).status_code == 409
    assert client.patch(f"/api/v1/bids/{bid_id}", json={"price_fen": 7_000_000, "days": 20, "expected_version": 1},
                        headers=h).status_code == 409
    resp = client.post(f"/api/v1/requests/{req.id}/bids", json={"price_fen": 7_500_000, "days": 15}, headers=h)
    assert resp.status_code == 201 and resp.get_json()["id"] != bid_id
    assert [b["status"] for b in client.get("/api/v1/my/bids", headers=h).get_json()["items"]] == [
        "submitted", "withdrawn"]

    # The listing: withdrawn, again withdrawn (409), published again; a stale version is a 409.
    listing_id = client.get("/api/v1/my/listings", headers=h).get_json()["items"][0]["id"]
    resp = client.post(f"/api/v1/listings/{listing_id}/withdraw", json={"reason": "暂停承接"}, headers=h)
    assert resp.status_code == 200 and resp.get_json()["status"] == "withdrawn" and not resp.get_json()["visible"]
    assert client.post(f"/api/v1/listings/{listing_id}/withdraw", headers=h).status_code == 409
    resp = client.post(f"/api/v1/listings/{listing_id}/publish", headers=h)
    assert resp.status_code == 200 and resp.get_json()["status"] == "published"
    assert client.post(f"/api/v1/listings/{listing_id}/publish", headers=h).status_code == 409
    resp = client.patch(f"/api/v1/listings/{listing_id}", json={"expected_version": 7, "time_limit_days": 9},
                        headers=h)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "conflict"
    # Switching the fee kind needs the new kind's amount.
    resp = client.patch(f"/api/v1/listings/{listing_id}", json={"expected_version": 1, "fee_kind": "fixed"},
                        headers=h)
    assert resp.status_code == 400 and set(resp.get_json()["error"]["details"]) == {"fee_fen"}
    resp = client.patch(f"/api/v1/listings/{listing_id}", json={"expected_version": 1, "fee_kind": "fixed",
                                                                "fee_fen": 6_000_000}, headers=h)
    assert resp.status_code == 200, resp.get_json()
    assert (resp.get_json()["fee_kind"], resp.get_json()["fee_min_fen"], resp.get_json()["fee_max_fen"]) == (
        "fixed", 6_000_000, 6_000_000)
    # A listing the agency cannot publish says why.
    other_item = ServiceItemFactory(qualification_types=[QualificationTypeFactory()], statutory_days=60)
    other_item_body = _listing_body(s, service_item_id=other_item.id)
    resp = client.post("/api/v1/listings", json=other_item_body, headers=h)
    assert resp.status_code == 201
    assert resp.get_json()["problems"] and not resp.get_json()["visible"]
    resp = client.post(f"/api/v1/listings/{resp.get_json()['id']}/publish", headers=h)
    assert resp.status_code == 400 and "qualifications" in resp.get_json()["error"]["message"]


def test_other_organisations_and_missing_scopes_are_refused(client, db):
    s = make_scenario(db, n_agencies=2)
    org, secret, staff, req = _published_with_listing(client, db, s)
    h = _auth(secret)
    bid = client.post(f"/api/v1/requests/{req.id}/bids", json={"price_fen": 7_900_000, "days": 20},
                      headers=h).get_json()
    s.bid(req, 0, 9_000_000)
    s.bid(req, 1, 8_500_000)
    db.session.commit()
    listing_id = client.get("/api/v1/my/listings", headers=h).get_json()["items"][0]["id"]
    run_procurement_deadlines(s.after_deadline(req))
    db.session.refresh(req)
    run_procurement_deadlines(req.objection_deadline + timedelta(minutes=1))
    contract = db.session.execute(sa.select(Contract).where(Contract.request_id == req.id)).scalar_one()
    _sign_both(contract, [s.owner, staff])
    delivery.submit_result(delivery.open_delivery(contract), summary="成果", files=[upload()], actor=staff)
    db.session.commit()
    file_id = delivery.delivery_of(contract).submissions[0].files[0].id
    reads = [f"/api/v1/bids/{bid['id']}", f"/api/v1/contracts/{contract.id}",
             f"/api/v1/contracts/{contract.id}/versions/1/pdf", f"/api/v1/contracts/{contract.id}/delivery",
             f"/api/v1/contracts/{contract.id}/delivery/files/{file_id}"]
    writes = [("patch", f"/api/v1/bids/{bid['id']}", {"price_fen": 1_000_000, "days": 5, "expected_version": 1}),
              ("post", f"/api/v1/bids/{bid['id']}/withdraw", None),
              ("patch", f"/api/v1/listings/{listing_id}", {"expected_version": 1, "time_limit_days": 3}),
              ("post", f"/api/v1/listings/{listing_id}/withdraw", None),
              ("post", f"/api/v1/listings/{listing_id}/publish", None)]
    other_agency, _ = _token(db, AgencyFactory())
    other_ent, _ = _token(db, EnterpriseFactory(), scopes=("contracts:read",))
    narrow, _ = _token(db, org, scopes=("org:read",))
    before = (_count(AuditEvent), _count(ListingVersion), _count(Bid))

    # Another agency (every scope) and an unrelated enterprise see none of it.
    for other, urls in ((other_agency, reads), (other_ent, reads[1:])):
        for url in urls:
            resp = client.get(url, headers=_auth(other))
            assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found", url
        assert client.get("/api/v1/contracts", headers=_auth(other)).get_json()["items"] == []
    for method, url, body in writes:
        resp = getattr(client, method)(url, json=body, headers=_auth(other_agency))
        assert resp.status_code == 404, url
    assert client.get("/api/v1/my/bids", headers=_auth(other_agency)).get_json()["items"] == []
    assert client.get("/api/v1/my/listings", headers=_auth(other_agency)).get_json()["items"] == []

    assert client.get(reads[0], headers=_auth(other_ent)).status_code == 403
    # A token without the scope: 403; no token: 401.
    for url in [*reads, "/api/v1/my/bids", "/api/v1/my/listings", "/api/v1/contracts"]:
        resp = client.get(url, headers=_auth(narrow))
        assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden", url
        assert client.get(url).status_code == 401
    for method, url, body in [*writes, ("post", f"/api/v1/requests/{req.id}/bids", {"price_fen": 1, "days": 1}),
                              ("post", "/api/v1/listings", _listing_body(s))]:
        assert getattr(client, method)(url, json=body, headers=_auth(narrow)).status_code == 403, url
    # Listing and bidding need an agency: an enterprise cannot even hold the scopes.
    with pytest.raises(DomainError):
        create_token(s.enterprise, name="x", scopes=["bids:write"], actor=s.owner)
    with pytest.raises(DomainError):
        create_token(s.enterprise, name="x", scopes=["listings:write"], actor=s.owner)
    assert (_count(AuditEvent), _count(ListingVersion), _count(Bid)) == before


def test_bad_input_is_a_json_4xx_and_changes_nothing(client, db):
    s = make_scenario(db, n_agencies=1)
    org, secret, _staff, req = _published_with_listing(client, db, s)
    h = _auth(secret)
    bid = client.post(f"/api/v1/requests/{req.id}/bids", json={"price_fen": 8_000_000, "days": 20}, headers=h)
    bid_id = bid.get_json()["id"]
    listing_id = client.get("/api/v1/my/listings", headers=h).get_json()["items"][0]["id"]
    before = (_count(AuditEvent), _count(Listing), _count(ListingVersion), _count(Bid))

    bid_bodies = [
        ({"price_fen": 2**63, "days": 10}, 422), ({"price_fen": 0, "days": 10}, 422),
        ({"price_fen": "7000000", "days": "x"}, 422), ({"price_fen": 7_000_000}, 422),
        ({"price_fen": 7_000_000, "days": 10, "note": "x"}, 422), ({"price_fen": 7_000_000, "days": 10**12}, 422),
        ({"price_fen": 7_000_000, "days": 10.5}, 422), ({"price_fen": True, "days": 10}, 422),
        ({"price_fen": 12_000_000, "days": 10}, 400), ({"price_fen": 7_000_000, "days": 26}, 400),
    ]
    for body, status in bid_bodies:
        resp = client.patch(f"/api/v1/bids/{bid_id}", json={**body, "expected_version": 1}, headers=h)
        assert resp.status_code == status, (body, resp.get_json())
        assert resp.get_json()["error"]["code"] == ("validation_error" if status == 422 else "business_rule")
    resp = client.patch(f"/api/v1/bids/{bid_id}", json={"price_fen": 12_000_000, "days": 10, "expected_version": 1},
                        headers=h)
    assert set(resp.get_json()["error"]["details"]) == {"price_fen"}
    for body in ({"price_fen": 7_000_000, "days": 10, "expected_version": 2**40}, {"price_fen": 7_000_000, "days": 10}):
        assert client.patch(f"/api/v1/bids/{bid_id}", json=body, headers=h).status_code == 422
    assert client.post(f"/api/v1/bids/{bid_id}/withdraw", json={"why": 1}, headers=h).status_code == 422

    listing_bodies = [
        (_listing_body(s, service_standard="标准\x00"), 422), (_listing_body(s, fee_basis="a\x00b"), 422),
        (_listing_body(s, change_note="说明\n"), 422), (_listing_body(s, fee_max_fen=2**70), 422),
        (_listing_body(s, service_item_id=2**40), 422), (_listing_body(s, time_limit_days=0), 422),
        (_listing_body(s, fee_kind="free"), 422), (_listing_body(s, surprise=1), 422),
        (_listing_body(s, service_standard=""), 422), (_listing_body(s, service_standard="长" * 6000), 422),
        (_listing_body(s, service_item_id=MAX_DB_INT), 400), (_listing_body(s, time_limit_days=61), 400),
        (_listing_body(s, fee_fen=100), 400), (_listing_body(s, fee_min_fen=9_000_000, fee_max_fen=1), 400),
        (_listing_body(s, fee_kind="discount", discount_bp=1000, fee_min_fen=None, fee_max_fen=None), 422),
        (_listing_body(s, service_standard="   "), 400),
    ]
    for body, status in listing_bodies:
        resp = client.post("/api/v1/listings", json=body, headers=h)
        assert resp.status_code == status, (body, resp.get_json())
        assert resp.get_json()["error"]["code"] in ("validation_error", "business_rule")
    # The item is already listed by this agency (a second listing is refused).
    resp = client.post("/api/v1/listings", json=_listing_body(s), headers=h)
    assert resp.status_code == 400 and set(resp.get_json()["error"]["details"]) == {"service_item_id"}
    for body in ({"time_limit_days": 10}, {"expected_version": 1, "fee_kind": "range", "fee_fen": 1},
                 {"expected_version": 1, "service_standard": "x\x07"}, {"expected_version": 1, "status": "draft"}):
        resp = client.patch(f"/api/v1/listings/{listing_id}", json=body, headers=h)
        assert 400 <= resp.status_code < 500 and "error" in resp.get_json(), body
    resp = client.post(f"/api/v1/listings/{listing_id}/withdraw", json={"reason": "x\x00"}, headers=h)
    assert resp.status_code == 422

    for url in ("/api/v1/bids/99999999999999", "/api/v1/bids/0", f"/api/v1/bids/{MAX_DB_INT}",
                "/api/v1/contracts/99999999999999", f"/api/v1/contracts/{MAX_DB_INT}/delivery",
                f"/api/v1/contracts/{MAX_DB_INT}/versions/1/pdf"):
        resp = client.get(url, headers=h)
        assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found", url
    resp = client.post(f"/api/v1/requests/{MAX_DB_INT}/bids", json={"price_fen": 1, "days": 1}, headers=h)
    assert resp.status_code == 404
    resp = client.post("/api/v1/listings", data="[1", headers={**h, "Content-Type": "application/json"})
    assert 400 <= resp.status_code < 500
    resp = client.get("/api/v1/contracts?cursor=%00", headers=h)
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "bad_request"
    assert (_count(AuditEvent), _count(Listing), _count(ListingVersion), _count(Bid)) == before
    db.session.expire_all()
    assert db.session.get(Bid, bid_id).price_fen == 8_000_000
    assert db.session.get(Listing, listing_id).status is ListingStatus.PUBLISHED


def test_contract_list_pages_with_a_cursor(client, db):
    s = make_scenario(db, n_agencies=1)
    secret, _ = _token(db, s.enterprise, scopes=("contracts:read",))
    made = []
    for _ in range(3):
        req = PurchaseRequestFactory(approval_case=ApprovalCaseFactory(applicant=s.enterprise))
        made.append(Contract(contract_no=f"HT-API-{req.id}", request_id=req.id, buyer_org_id=s.enterprise.id,
                             agency_org_id=s.agencies[0].id, price_fen=1_000_000, working_days=10,
                             signing_deadline=req.bidding_deadline))
    db.session.add_all(made)
    db.session.commit()
    seen, cursor = [], None
    while True:
        url = "/api/v1/contracts?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=_auth(secret)).get_json()
        seen += [c["contract_no"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [c.contract_no for c in reversed(made)]
    assert {c["role"] for c in client.get("/api/v1/contracts", headers=_auth(secret)).get_json()["items"]} == {
        "buyer"}


def test_fuzzing_with_an_agency_token_finds_no_500(app, db):
    """Schemathesis on this module's operations, authenticated as an agency with a listing and a bid."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import positive_data_acceptance

    s = make_scenario(db, n_agencies=1)
    req = s.published()
    s.bid(req, 0, 8_000_000)
    db.session.commit()
    secret, _ = _token(db, s.agencies[0])
    headers = _auth(secret)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations()]
    mine = [op for op in operations if set(op.definition.raw.get("tags", [])) & {"api_agency", "api_contracts"}]
    assert len(mine) == 17
    for operation in mine:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        run()


def _fields(body) -> set[str]:
    """The fields an error names: a business rule's directly, a 422's under the body's location."""
    details = body["error"].get("details") or {}
    return {name for key, value in details.items() for name in (value if isinstance(value, dict) else [key])}


def test_a_delivery_by_token_is_checked_as_on_the_site_and_bad_uploads_change_nothing(client, db):
    from marketplace.delivery.models import DeliveryExtension, DeliverySubmission
    from tests.delivery.conftest import make_in_force

    world = make_in_force(db)
    agency = world.contract.agency
    secret, _ = _token(db, agency)
    h = _auth(secret)
    url = f"/api/v1/contracts/{world.contract.id}/delivery"

    def post(data):
        return client.post(f"{url}/submissions", headers=h, content_type="multipart/form-data", data=data)

    def pdf():
        return (io.BytesIO(PDF), "报告.pdf")

    assert client.get(url, headers=h).status_code == 200  # the first look opens the delivery
    audit = _count(AuditEvent)
    for data, status, field in [
        ({"summary": "成果"}, 400, "files"),                                           # no file
        ({"summary": "", "files": [pdf()]}, 400, "summary"),                           # empty summary
        ({"summary": "成果\x00", "files": [pdf()]}, 400, "summary"),                   # NUL byte
        ({"summary": "成果", "files": [(io.BytesIO(b"MZ\x90\x00"), "setup.exe")]}, 400, "files"),
        ({"summary": "成果", "files": [(io.BytesIO(b"not a pdf"), "报告.pdf")]}, 400, "files"),
        ({"summary": "成果", "files": [pdf()], "price": "1"}, 422, "price"),           # unknown field
        ({"summary": "成果", "files": [pdf() for _ in range(11)]}, 400, "files"),      # too many
    ]:
        resp = post(data)
        body = resp.get_json()
        assert resp.status_code == status, (data, body)
        assert field in _fields(body), body
    assert _count(DeliverySubmission) == 0 and _count(AuditEvent) == audit

    # the enterprise's token may not deliver; an unrelated agency's token does not see the contract
    ent, _ = _token(db, world.s.enterprise, scopes=("delivery:write",))
    resp = client.post(f"{url}/submissions", headers=_auth(ent), content_type="multipart/form-data",
                       data={"summary": "成果", "files": [pdf()]})
    assert resp.status_code == 403, resp.get_json()
    stranger, _ = _token(db, AgencyFactory())
    resp = client.post(f"{url}/submissions", headers=_auth(stranger), content_type="multipart/form-data",
                       data={"summary": "成果", "files": [pdf()]})
    assert resp.status_code == 404
    assert _count(DeliverySubmission) == 0

    # a bad due date is refused with its field; a good one is recorded once, a second is a conflict
    due = world.contract.due_date
    for body, field in [({"new_due_date": due.isoformat(), "reason": "x"}, "new_due_date"),
                        ({"new_due_date": "2026-13-40", "reason": "x"}, "new_due_date"),
                        ({"new_due_date": add_working_days(due, 3).isoformat(), "reason": ""}, "reason"),
                        ({"new_due_date": add_working_days(due, 3).isoformat(), "reason": "x", "days": 3}, "days")]:
        resp = client.post(f"{url}/extensions", headers=h, json=body)
        assert resp.status_code in (400, 422) and field in _fields(resp.get_json()), resp.get_json()
    good = {"new_due_date": add_working_days(due, 3).isoformat(), "reason": "等待监测数据"}
    assert client.post(f"{url}/extensions", headers=h, json=good).status_code == 201
    resp = client.post(f"{url}/extensions", headers=_auth(ent), json=good)
    assert resp.status_code == 409, resp.get_json()
    assert _count(DeliveryExtension) == 1

    # once delivered and accepted, another version is a conflict
    assert post({"summary": "环境影响报告表", "files": [pdf()]}).status_code == 201
    delivery.accept_delivery(delivery.delivery_of(world.contract), version=1, actor=world.owner)
    db.session.commit()
    resp = post({"summary": "再交一版", "files": [pdf()]})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "conflict"
    assert _count(DeliverySubmission) == 1
