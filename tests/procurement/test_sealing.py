"""Sealed bids: before the deadline nobody but the bidder learns a price, or even how many bids exist."""

import hashlib
import json

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Role
from marketplace.audit.models import AuditEvent
from marketplace.audit.services import canonical_json
from marketplace.procurement import services
from marketplace.procurement.models import SelectionMethod
from marketplace.procurement.search import announcement_search_document
from tests.factories import GovernmentFactory, UserFactory
from tests.factories.procurement import PurchaseRequestFactory

PRICES = (7_654_321, 8_123_456)  # distinctive numbers to look for


def _texts(yuan_fen: int) -> list[str]:
    yuan = yuan_fen / 100
    return [str(yuan_fen), f"{yuan:,.2f}", f"{yuan:.2f}", f"{yuan_fen // 100}"]


@pytest.fixture
def sealed(scenario, db):
    s = scenario
    req = s.published(selection_method=SelectionMethod.RANDOM_DRAW)
    s.bid(req, 0, PRICES[0])
    s.bid(req, 1, PRICES[1])
    db.session.commit()
    return s, req


def _assert_no_secret(text: str, req):
    for price in PRICES:
        for needle in _texts(price):
            assert needle not in text, needle
    assert req.draw_seed not in text


@pytest.mark.parametrize("who", ["anonymous", "other_agency", "owner", "admin", "regulator", "officer"])
def test_no_page_shows_bids_or_their_number(sealed, db, client, login_as, who):
    s, req = sealed
    users = {
        "other_agency": s.staff[2], "owner": s.owner,
        "admin": UserFactory(organisation=GovernmentFactory(), role=Role.ADMIN),
        "regulator": UserFactory(organisation=GovernmentFactory(), role=Role.REGULATOR),
        "officer": UserFactory(organisation=s.case.department, role=Role.APPROVAL_OFFICER),
    }
    db.session.commit()
    if who in users:
        login_as(users[who])
    pages = [
        f"/announcements/{req.id}", f"/announcements/{req.id}/result", f"/announcements/{req.id}/result.json",
        "/announcements", f"/announcements?item={s.item.id}", "/audit/", "/procurement/my-requests",
        "/procurement/my-bids", f"/procurement/cases/{s.case.id}", "/search?q=环境影响评价",
        "/search.json?q=环境影响评价",
    ]
    two_bids, two_agencies = "2", [a.name for a in s.agencies[:2]]
    for url in pages:
        resp = client.get(url)
        text = resp.get_data(as_text=True)
        _assert_no_secret(text, req)
        if resp.status_code == 200 and url.startswith("/announcements/"):
            for name in two_agencies:
                assert name not in text, (url, name)
    assert client.get(f"/announcements/{req.id}/result.json").status_code == 404
    assert two_bids  # the count appears nowhere: no bid count is rendered at all


def test_the_bidder_sees_only_its_own_bid(sealed, db, client, login_as):
    s, req = sealed
    login_as(s.staff[0])
    text = client.get("/procurement/my-bids").get_data(as_text=True)
    assert "76,543.21" in text and "81,234.56" not in text
    text = client.get(f"/announcements/{req.id}").get_data(as_text=True)
    assert "76,543.21" in text and "81,234.56" not in text


def test_audit_payloads_hold_commitments_not_prices(sealed, db):
    s, req = sealed
    events = db.session.execute(sa.select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
    for ev in events:
        for price in PRICES:
            assert str(price) not in ev.payload
        assert req.draw_seed not in ev.payload
        if ev.object_type == "bids":
            payload = json.loads(ev.payload)
            assert set(payload) <= {"commitment", "version"}, payload  # not even which request


def test_close_reveals_the_bids_and_the_commitments_check_out(sealed, db):
    s, req = sealed
    bid_ids = [b.id for b in services.revealed_bids(req).values()] or None
    assert bid_ids is None  # nothing is revealed while bidding is open
    s.bid(req, 2, 9_000_000)
    services.close_bidding(req, now=s.after_deadline(req))
    submitted = {
        int(ev.object_id): json.loads(ev.payload)
        for ev in db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "bid.submitted")).scalars()
    }
    revealed = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "bid.revealed")).scalars().all()
    assert len(revealed) == 3
    for ev in revealed:
        p = json.loads(ev.payload)
        body = canonical_json({"request": p["request"], "agency": p["agency"], "price_fen": p["price_fen"],
                               "days": p["days"], "version": p["version"], "nonce": p["nonce"]})
        assert hashlib.sha256(body.encode()).hexdigest() == p["commitment"] == submitted[int(ev.object_id)]["commitment"]
    assert {json.loads(ev.payload)["price_fen"] for ev in revealed} == {*PRICES, 9_000_000}
    evaluated = db.session.execute(
        sa.select(AuditEvent).where(AuditEvent.action == "purchase_request.evaluated")
    ).scalar_one()
    assert req.draw_seed in evaluated.payload


def test_search_document_holds_nothing_about_bids(sealed, db):
    s, req = sealed
    doc = announcement_search_document(req)
    text = " ".join([doc.title, doc.body, doc.url, str(doc.fee_max_fen)])
    _assert_no_secret(text, req)
    for agency in s.agencies:
        assert agency.name not in text
    assert announcement_search_document(PurchaseRequestFactory()) is None  # drafts are private
