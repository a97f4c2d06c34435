"""Whole rounds through the web pages: publish → sealed bids → deadline (the job) → award → result."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.core.db import utcnow
from marketplace.jobs.runner import run_once
from marketplace.procurement import services
from marketplace.procurement.models import Bid, BidStatus, PurchaseRequest, RequestStatus
from tests.procurement.test_selection import load_verifier


def _deadline_text(now=None) -> str:
    deadline = services.default_deadline(now or utcnow())
    return deadline.astimezone(services.SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def create_via_form(browser, s, **overrides) -> PurchaseRequest:
    """The enterprise fills in the request form and saves the draft."""
    data = {
        "title": "滇池新区道路工程环境影响评价", "content": "编制环境影响报告表，配合技术评审。",
        "scale": "总投资1.2亿元", "is_budgeted": "yes", "budget_ceiling": "100,000",
        "quote_min": "", "quote_max": "", "selection_method": "lowest_price", "direct_agency_id": "0",
        "direct_reason": "", "weight_price": "60", "weight_time": "20", "weight_credit": "20",
        "bidding_deadline": _deadline_text(), "contact_name": "钱经理", "contact_phone": "0871-66000000",
        "complaint_phone": "0871-12345",
    }
    data.update(overrides)
    url = f"/procurement/cases/{s.case.id}/items/{s.item.id}/request"
    resp = browser.post(url, data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    return services.db.session.execute(
        sa.select(PurchaseRequest).order_by(PurchaseRequest.id.desc()).limit(1)
    ).scalar_one()


def publish_via_page(browser, req):
    resp = browser.post(f"/procurement/requests/{req.id}/publish", form_url=f"/announcements/{req.id}")
    assert resp.status_code == 302
    services.db.session.refresh(req)
    assert req.status is RequestStatus.PUBLISHED, req.status


def bid_via_page(browser, login_as, staff, req, price: str, days: int = 20):
    login_as(staff)
    return browser.post(f"/announcements/{req.id}/bid", {"price": price, "days": str(days)})


def run_jobs_after_deadline(req, extra=timedelta(minutes=1)):
    return run_once(req.bidding_deadline + extra)


@pytest.fixture
def owner_browser(browser, login_as, scenario, db):
    db.session.commit()
    login_as(scenario.owner)
    return browser


def test_lowest_price_round(owner_browser, login_as, scenario, db, client):
    s = scenario
    req = create_via_form(owner_browser, s)
    publish_via_page(owner_browser, req)
    for i, price in enumerate(["90,000", "80,000", "85,000"]):
        assert bid_via_page(owner_browser, login_as, s.staff[i], req, price).status_code == 302
    assert run_jobs_after_deadline(req)["procurement.deadlines"] == 1
    db.session.refresh(req)
    assert req.status is RequestStatus.AWARDED
    assert (req.awarded_org_id, req.awarded_price_fen) == (s.agencies[1].id, 8_000_000)
    html = client.get(f"/announcements/{req.id}/result").get_data(as_text=True)
    assert s.agencies[1].name in html and 'id="objection-deadline"' in html and 'id="ranking"' in html
    data = client.get(f"/announcements/{req.id}/result.json").get_json()
    assert [e["agency_id"] for e in data["ranking"]] == [s.agencies[i].id for i in (1, 2, 0)]
    assert data["winner"]["final"] is False


def test_lowest_price_with_an_abnormally_low_bid_needs_the_enterprise(owner_browser, login_as, scenario, db, client):
    s = scenario
    req = create_via_form(owner_browser, s)
    publish_via_page(owner_browser, req)
    for i, price in enumerate(["30,000", "90,000", "95,000"]):
        assert bid_via_page(owner_browser, login_as, s.staff[i], req, price).status_code == 302
    run_jobs_after_deadline(req)
    db.session.refresh(req)
    assert req.status is RequestStatus.BIDDING_CLOSED  # waiting for the decision
    assert client.get(f"/announcements/{req.id}/result.json").status_code == 404
    login_as(s.owner)
    page = owner_browser.get(f"/announcements/{req.id}").get_data(as_text=True)
    assert "pending-decision" in page
    flagged = services.pending_decisions(req)
    assert [b.agency_id for b in flagged] == [s.agencies[0].id]
    resp = owner_browser.post(f"/procurement/requests/{req.id}/bids/{flagged[0].id}/decision",
                              {"decision": "reject", "reason": "报价明显低于成本，无法说明合理性"},
                              form_url=f"/announcements/{req.id}")
    assert resp.status_code == 302
    db.session.refresh(req)
    assert req.status is RequestStatus.AWARDED
    assert req.awarded_org_id == s.agencies[1].id
    rejected = db.session.get(Bid, flagged[0].id)
    assert rejected.status is BidStatus.REJECTED and rejected.rejection_reason
    html = client.get(f"/announcements/{req.id}/result").get_data(as_text=True)
    assert "报价明显低于成本" in html


def test_confirming_an_abnormal_price_awards_it(scenario, db):
    s = scenario
    req = s.published()
    s.bid(req, 0, 3_000_000)
    s.bid(req, 1, 9_000_000)
    services.close_bidding(req, now=s.after_deadline(req))
    [bid] = services.pending_decisions(req)
    with pytest.raises(services.DomainError):
        services.award_request(req, now=s.after_deadline(req))
    services.decide_abnormal_bid(req, bid, confirm=True, reason="已核实成本构成", actor=s.owner,
                                 now=s.after_deadline(req))
    assert req.status is RequestStatus.AWARDED and req.awarded_org_id == s.agencies[0].id


def test_random_draw_round_is_verifiable(owner_browser, login_as, scenario, db, client):
    s = scenario
    req = create_via_form(owner_browser, s, selection_method="random_draw")
    publish_via_page(owner_browser, req)
    page = client.get(f"/announcements/{req.id}").get_data(as_text=True)
    assert req.draw_commitment in page and req.draw_seed not in page
    for i in range(3):
        assert bid_via_page(owner_browser, login_as, s.staff[i], req, "50,000").status_code == 302
    assert client.get(f"/announcements/{req.id}/result.json").status_code == 404
    run_jobs_after_deadline(req)
    db.session.refresh(req)
    assert req.status is RequestStatus.AWARDED
    data = client.get(f"/announcements/{req.id}/result.json").get_json()
    verifier = load_verifier()
    assert verifier.verify(data) == []
    recomputed = verifier.ranking(data["draw"]["seed"], data["draw"]["bidders"])
    assert recomputed[0][1] == req.awarded_org_id
    assert data["draw"]["bidders"] == sorted(a.id for a in s.agencies)
    assert data["draw"]["commitment"] == verifier.commitment(data["draw"]["seed"])
    # a tampered seed, list or ranking is caught
    bad = {**data, "draw": {**data["draw"], "bidders": data["draw"]["bidders"][:-1]}}
    assert verifier.verify(bad)
    bad = {**data, "draw": {**data["draw"], "seed": "0" * 64}}
    assert any("commitment" in p for p in verifier.verify(bad))
    html = client.get(f"/announcements/{req.id}/result").get_data(as_text=True)
    assert data["draw"]["seed"] in html and "verify_draw.py" in html


def test_comprehensive_scoring_round(owner_browser, login_as, scenario, db, client):
    s = scenario
    req = create_via_form(owner_browser, s, selection_method="scoring", weight_price="50",
                          weight_time="40", weight_credit="10")
    publish_via_page(owner_browser, req)
    # agency 0: cheapest but slow; agency 2: a little dearer and much faster → wins on time
    for i, (price, days) in enumerate([("80,000", 30), ("95,000", 25), ("85,000", 10)]):
        assert bid_via_page(owner_browser, login_as, s.staff[i], req, price, days).status_code == 302
    run_jobs_after_deadline(req)
    db.session.refresh(req)
    assert req.status is RequestStatus.AWARDED and req.awarded_org_id == s.agencies[2].id
    data = client.get(f"/announcements/{req.id}/result.json").get_json()
    assert data["details"]["weights"] == {"price": 50, "time": 40, "credit": 10}
    assert [e["total"] for e in data["ranking"]] == sorted((e["total"] for e in data["ranking"]), key=float, reverse=True)
    html = client.get(f"/announcements/{req.id}/result").get_data(as_text=True)
    assert data["ranking"][0]["total"] in html


def test_direct_selection_round(owner_browser, login_as, scenario, db, client):
    s = scenario
    req = create_via_form(owner_browser, s, selection_method="direct",
                          direct_agency_id=str(s.agencies[0].id), direct_reason="该机构曾编制本项目可研报告，熟悉项目情况")
    publish_via_page(owner_browser, req)
    assert s.agencies[0].name in client.get(f"/announcements/{req.id}").get_data(as_text=True)
    resp = bid_via_page(owner_browser, login_as, s.staff[1], req, "50,000")
    assert resp.status_code == 200 and 'id="bid-problems"' in resp.get_data(as_text=True)
    assert bid_via_page(owner_browser, login_as, s.staff[0], req, "60,000").status_code == 302
    login_as(s.staff[0])
    assert "You were selected directly" not in owner_browser.get("/procurement/my-bids?lang=en").get_data(as_text=True)
    run_jobs_after_deadline(req)
    db.session.refresh(req)
    assert req.status is RequestStatus.AWARDED and req.awarded_org_id == s.agencies[0].id
    html = client.get(f"/announcements/{req.id}/result").get_data(as_text=True)
    assert "该机构曾编制本项目可研报告" in html


def test_failed_round_and_republication(owner_browser, login_as, scenario, db, client):
    s = scenario
    req = create_via_form(owner_browser, s)
    publish_via_page(owner_browser, req)
    assert bid_via_page(owner_browser, login_as, s.staff[0], req, "70,000").status_code == 302
    run_jobs_after_deadline(req)
    db.session.refresh(req)
    assert req.status is RequestStatus.FAILED and req.failure_reason
    data = client.get(f"/announcements/{req.id}/result.json").get_json()
    assert data["valid_bids"] == 1 and data["minimum_valid_bids"] == 2 and data["status"] == "failed"
    assert client.get(f"/announcements/{req.id}/result").status_code == 200
    login_as(s.owner)
    resp = owner_browser.post(f"/procurement/requests/{req.id}/republish", form_url=f"/announcements/{req.id}")
    assert resp.status_code == 302
    second = db.session.execute(sa.select(PurchaseRequest).where(PurchaseRequest.previous_round_id == req.id)).scalar_one()
    assert second.round_number == 2 and second.status is RequestStatus.DRAFT
    assert resp.headers["Location"].endswith(f"/procurement/requests/{second.id}/edit")
    # a second re-publication of the same failed round is refused
    owner_browser.post(f"/procurement/requests/{req.id}/republish", form_url=f"/announcements/{req.id}")
    assert db.session.execute(sa.select(sa.func.count()).where(PurchaseRequest.previous_round_id == req.id)).scalar() == 1
    publish_via_page(owner_browser, second)
    for i, price in enumerate(["70,000", "75,000"]):
        assert bid_via_page(owner_browser, login_as, s.staff[i], second, price).status_code == 302
    run_jobs_after_deadline(second)
    db.session.refresh(second)
    assert second.status is RequestStatus.AWARDED
    html = client.get(f"/announcements/{second.id}").get_data(as_text=True)
    assert 'id="rounds"' in html and req.reference in html and second.reference in html
    # the history stays: the first round is still failed, its bids still on record
    db.session.refresh(req)
    assert req.status is RequestStatus.FAILED and services.next_round_of(req).id == second.id
