"""Who may bid, on what terms, and how a bid is revised or withdrawn."""

from datetime import timedelta

import pytest

from marketplace.accounts.models import Organisation, Role
from marketplace.core.db import utcnow
from marketplace.core.errors import (
    ConcurrentUpdate,
    DomainError,
    InvalidTransition,
    PermissionDenied,
)
from marketplace.procurement import eligibility, services
from marketplace.procurement.models import BidStatus, RequestStatus
from tests.factories import AgencyFactory, QualificationTypeFactory, UserFactory
from tests.factories.procurement import make_eligible_agency


def test_eligible_agency_bids_and_revises(scenario, db):
    s = scenario
    req = s.published()
    bid = s.bid(req, 0, 9_000_000, days=20)
    assert bid.status is BidStatus.SUBMITTED and bid.version == 1
    services.revise_bid(bid, price_fen=8_500_000, days=18, expected_version=1, actor=s.staff[0],
                        now=s.now + timedelta(hours=1))
    assert (bid.price_fen, bid.days, bid.version) == (8_500_000, 18, 2)
    assert bid.final_submitted_at > bid.submitted_at


def test_a_stale_revision_is_refused(scenario, db):
    s = scenario
    req = s.published()
    bid = s.bid(req, 0, 9_000_000)
    services.revise_bid(bid, price_fen=8_000_000, days=20, expected_version=1, actor=s.staff[0], now=s.now)
    db.session.commit()
    with pytest.raises(ConcurrentUpdate):
        services.revise_bid(bid, price_fen=7_000_000, days=20, expected_version=1, actor=s.staff[0], now=s.now)
    db.session.refresh(bid)
    assert bid.price_fen == 8_000_000


def test_withdraw_then_bid_again(scenario, db):
    s = scenario
    req = s.published()
    bid = s.bid(req, 0, 9_000_000)
    services.withdraw_bid(bid, actor=s.staff[0], now=s.now)
    assert bid.status is BidStatus.WITHDRAWN
    again = s.bid(req, 0, 9_500_000)
    assert again.id != bid.id and services.live_bid(req.id, s.agencies[0].id).id == again.id
    with pytest.raises(InvalidTransition):
        services.withdraw_bid(bid, actor=s.staff[0], now=s.now)


def test_only_one_live_bid_per_agency(scenario, db):
    s = scenario
    req = s.published()
    s.bid(req, 0, 9_000_000)
    with pytest.raises(DomainError, match="already submitted a bid"):
        s.bid(req, 0, 8_000_000)


def test_no_bid_after_the_deadline(scenario, db):
    s = scenario
    req = s.published()
    bid = s.bid(req, 0, 9_000_000)
    db.session.commit()
    late = req.bidding_deadline
    with pytest.raises(DomainError, match="deadline has passed"):
        s.bid(req, 1, 8_000_000, at=late)
    with pytest.raises(DomainError, match="deadline has passed"):
        services.revise_bid(bid, price_fen=1, days=1, expected_version=1, actor=s.staff[0], now=late)
    with pytest.raises(DomainError, match="deadline has passed"):
        services.withdraw_bid(bid, actor=s.staff[0], now=late)


def test_no_bid_on_a_cancelled_or_draft_request(scenario, db):
    s = scenario
    draft = s.draft()
    with pytest.raises(DomainError, match="not open for bids"):
        s.bid(draft, 0, 1_000_000)
    services.publish_request(draft, actor=s.owner, now=s.now)
    services.cancel_request(draft, "项目调整，暂停采购", actor=s.owner, now=s.now)
    with pytest.raises(DomainError, match="cancelled"):
        s.bid(draft, 0, 1_000_000)


@pytest.mark.parametrize(("price", "days", "field", "message"), [
    (10_000_001, 10, "price", "above the budget ceiling"),
    (0, 10, "price", "above zero"),
    (1_000_000, 31, "days", "at most 30 working days"),
    (1_000_000, 0, "days", "from 1 to"),
])
def test_offer_rules(scenario, db, price, days, field, message):
    s = scenario
    req = s.published()
    with pytest.raises(DomainError, match=message) as exc:
        s.bid(req, 0, price, days)
    assert exc.value.field == field


def test_quote_range_when_not_budgeted(scenario, db):
    s = scenario
    req = s.published(is_budgeted=False, budget_ceiling_fen=None, quote_min_fen=2_000_000, quote_max_fen=5_000_000)
    with pytest.raises(DomainError, match="quote range"):
        s.bid(req, 0, 6_000_000)
    with pytest.raises(DomainError, match="quote range"):
        s.bid(req, 0, 1_000_000)
    assert s.bid(req, 0, 3_000_000).status is BidStatus.SUBMITTED


def test_price_above_the_listed_fee_is_refused(scenario, db):
    s = scenario
    org = make_eligible_agency(s.item, fee_max_fen=2_000_000)
    staff = UserFactory(organisation=org, role=Role.AGENCY_STAFF)
    req = s.published()
    with pytest.raises(DomainError, match="fee your listing commits"):
        services.submit_bid(req, org=org, price_fen=3_000_000, days=10, actor=staff, now=utcnow())


def test_ineligible_agencies(scenario, db):
    s = scenario
    req = s.published()
    unqualified = AgencyFactory()
    assert any("qualification" in str(p) for p in services.bid_problems(req, unqualified, s.now))
    assert any("listing" in str(p) for p in services.bid_problems(req, unqualified, s.now))
    with pytest.raises(DomainError):
        services.submit_bid(req, org=unqualified, price_fen=1_000_000, days=10,
                            actor=UserFactory(organisation=unqualified, role=Role.AGENCY_STAFF), now=s.now)


def test_enterprise_cannot_bid_on_its_own_request(scenario, db):
    s = scenario
    req = s.published()
    assert [str(p) for p in services.bid_problems(req, s.enterprise, s.now)] == [
        "An enterprise cannot bid on its own request."
    ]
    with pytest.raises(PermissionDenied):
        services.submit_bid(req, org=s.enterprise, price_fen=1_000_000, days=10, actor=s.owner, now=s.now)


def test_related_parties_are_ineligible(scenario, db):
    s = scenario
    related = make_eligible_agency(s.item, legal_representative=" 周 建国 ")  # same person as the owner's
    req = s.published()
    assert any("legal representative" in str(p) for p in services.bid_problems(req, related, s.now))
    twin = Organisation(uscc=s.enterprise.uscc.lower(), legal_representative="别人")
    assert services.is_related_party(twin, s.enterprise)


def test_excluded_agency_is_refused_with_the_reason(scenario, db):
    s = scenario
    req = s.draft()
    services.add_exclusion(req, s.agencies[2].id, "与业主存在股权关系", actor=s.owner)
    services.publish_request(req, actor=s.owner, now=s.now)
    with pytest.raises(DomainError, match="excluded from this request: 与业主存在股权关系"):
        s.bid(req, 2, 1_000_000)


def test_sanctioned_agency_is_refused(scenario, db, monkeypatch):
    s = scenario
    req = s.published()
    banned = s.agencies[1].id
    monkeypatch.setattr(eligibility, "agency_is_sanctioned", lambda org_id, on=None: org_id == banned)
    with pytest.raises(DomainError, match="suspended or blacklisted"):
        s.bid(req, 1, 1_000_000)
    assert s.bid(req, 0, 1_000_000)


def test_required_qualification_must_be_held(scenario, db):
    s = scenario
    extra = QualificationTypeFactory(name="甲级评价资质")
    s.item.qualification_types.append(extra)
    db.session.flush()
    req = s.published(qualification_type_ids=(extra.id,))
    with pytest.raises(DomainError, match="甲级评价资质"):
        s.bid(req, 0, 1_000_000)


def test_bid_is_rejected_at_close_when_the_agency_became_ineligible(scenario, db, monkeypatch):
    s = scenario
    req = s.published()
    for i in range(3):
        s.bid(req, i, 5_000_000 + i)
    banned = s.agencies[0].id
    monkeypatch.setattr(eligibility, "agency_is_sanctioned", lambda org_id, on=None: org_id == banned)
    services.close_bidding(req, now=s.after_deadline(req))
    services.award_request(req, now=s.after_deadline(req))
    assert req.status is RequestStatus.AWARDED and req.awarded_org_id == s.agencies[1].id
    rejected = services.revealed_bids(req)
    assert [b.status for b in rejected.values()] == [BidStatus.REJECTED, BidStatus.WON, BidStatus.LOST]


def test_only_the_agency_staff_can_bid_or_change_a_bid(scenario, db):
    s = scenario
    req = s.published()
    with pytest.raises(PermissionDenied):
        services.submit_bid(req, org=s.agencies[0], price_fen=1_000_000, days=10, actor=s.staff[1], now=s.now)
    bid = s.bid(req, 0, 1_000_000)
    with pytest.raises(PermissionDenied):
        services.withdraw_bid(bid, actor=s.staff[1], now=s.now)
    with pytest.raises(PermissionDenied):
        services.revise_bid(bid, price_fen=1, days=1, expected_version=1, actor=s.owner, now=s.now)


@pytest.mark.parametrize("data", [
    {"price": "abc", "days": "10"},
    {"price": "1e309", "days": "10"},
    {"price": "99999999999999999999", "days": "10"},
    {"price": "-5", "days": "10"},
    {"price": "100", "days": "-1"},
    {"price": "100", "days": "99999999999"},
    {"price": "100\x00", "days": "10"},
    {"price": "", "days": ""},
    {"price": "100", "days": "10", "version": "not-a-number"},
    {"price": "100", "days": "10", "version": "99999999999999999999"},
])
def test_bad_bid_input_never_crashes(scenario, db, browser, login_as, data):
    s = scenario
    req = s.published()
    db.session.commit()
    login_as(s.staff[0])
    resp = browser.post(f"/announcements/{req.id}/bid", data)
    assert resp.status_code in (200, 302)
    if "version" in data:
        # a revision with a garbled version is refused, never applied
        services.db.session.rollback()
    assert services.live_bid(req.id, s.agencies[0].id) is None or data.get("price") == "100"


def test_bid_form_shows_the_service_message(scenario, db, browser, login_as):
    s = scenario
    req = s.published()
    db.session.commit()
    login_as(s.staff[0])
    resp = browser.post(f"/announcements/{req.id}/bid?lang=en", {"price": "200,000", "days": "10"})
    assert resp.status_code == 200
    assert "above the budget ceiling" in resp.get_data(as_text=True)


def _bid_events(bid_id: int) -> list[str]:
    import sqlalchemy as sa

    from marketplace.audit.models import AuditEvent

    return list(services.db.session.execute(
        sa.select(AuditEvent.action).where(AuditEvent.object_type == "bids",
                                           AuditEvent.object_id == str(bid_id))
        .order_by(AuditEvent.seq)
    ).scalars())


def test_a_repeated_first_bid_in_the_form_is_refused_and_changes_nothing(scenario, db, browser, login_as):
    """Two first submissions (no version: a double click, a second tab): the second is refused
    with a clear message, never stored as a revision."""
    s = scenario
    req = s.published()
    db.session.commit()
    login_as(s.staff[0])
    first = browser.post(f"/announcements/{req.id}/bid", {"price": "90,000", "days": "20", "version": ""})
    assert first.status_code == 302
    again = browser.post(f"/announcements/{req.id}/bid", {"price": "80,000", "days": "15", "version": ""},
                         form_url=f"/announcements/{req.id}")
    assert again.status_code == 200
    assert "You have already submitted a bid on this request; reload the page to revise it." in (
        again.get_data(as_text=True))
    db.session.expire_all()
    bid = services.live_bid(req.id, s.agencies[0].id)
    assert (bid.price_fen, bid.days, bid.version) == (9_000_000, 20, 1)
    assert _bid_events(bid.id) == ["bid.submitted"]
    # the page reloaded shows the bid with its version: revising it works
    page = browser.get(f"/announcements/{req.id}/bid").get_data(as_text=True)
    assert 'name="version" type="hidden" value="1"' in page
    revised = browser.post(f"/announcements/{req.id}/bid", {"price": "80,000", "days": "15", "version": "1"})
    assert revised.status_code == 302
    db.session.expire_all()
    assert (bid.price_fen, bid.version) == (8_000_000, 2)
    assert _bid_events(bid.id) == ["bid.submitted", "bid.revised"]


def test_a_repeated_first_bid_in_the_chinese_form_is_refused_in_chinese(scenario, db, browser, login_as):
    s = scenario
    req = s.published()
    db.session.commit()
    login_as(s.staff[0])
    browser.post(f"/announcements/{req.id}/bid?lang=zh_CN", {"price": "90,000", "days": "20"})
    again = browser.post(f"/announcements/{req.id}/bid?lang=zh_CN", {"price": "80,000", "days": "15"},
                         form_url=f"/announcements/{req.id}?lang=zh_CN")
    assert "您已对该采购公告提交过报价，请刷新页面后修改原报价。" in again.get_data(as_text=True)
    assert services.live_bid(req.id, s.agencies[0].id).version == 1


def test_a_stale_revision_in_the_form_after_a_withdrawal_is_refused(scenario, db, browser, login_as):
    s = scenario
    req = s.published()
    bid = s.bid(req, 0, 9_000_000)
    services.withdraw_bid(bid, actor=s.staff[0], now=s.now + timedelta(minutes=30))
    db.session.commit()
    login_as(s.staff[0])
    resp = browser.post(f"/announcements/{req.id}/bid", {"price": "80,000", "days": "15", "version": "1"},
                        form_url=f"/announcements/{req.id}")
    assert resp.status_code == 200
    assert "Please reload" in resp.get_data(as_text=True)
    assert services.live_bid(req.id, s.agencies[0].id) is None
