"""Drafting, publishing, cancelling and re-publishing purchase requests."""

from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from marketplace.core.errors import DomainError, InvalidTransition, PermissionDenied
from marketplace.procurement import services
from marketplace.procurement.models import CaseStatus, RequestStatus, SelectionMethod
from marketplace.procurement.states import CASE_MACHINE
from marketplace.workdays.services import add_working_days
from tests.factories import QualificationTypeFactory, ServiceItemFactory


def test_draft_is_private_until_published(scenario, db, client, login_as, app):
    s = scenario
    req = s.draft()
    db.session.commit()
    assert client.get(f"/announcements/{req.id}").status_code == 404
    assert req.title not in client.get("/announcements").get_data(as_text=True)
    login_as(s.staff[0])
    assert client.get(f"/announcements/{req.id}").status_code == 404
    login_as(s.owner)
    assert client.get(f"/announcements/{req.id}").status_code == 200
    services.publish_request(req, actor=s.owner, now=s.now)
    db.session.commit()
    anonymous = app.test_client()
    assert req.title in anonymous.get("/announcements").get_data(as_text=True)
    assert anonymous.get(f"/announcements/{req.id}").status_code == 200


def test_deadline_needs_n_working_days(scenario, db, app):
    s = scenario
    earliest = add_working_days(services.china_date(s.now), app.config["PROCUREMENT_MIN_BIDDING_DAYS"])
    too_early = datetime.combine(earliest - timedelta(days=1), time(17), tzinfo=services.SHANGHAI)
    req = s.draft(bidding_deadline=too_early)
    with pytest.raises(DomainError, match=earliest.isoformat()) as exc:
        services.publish_request(req, actor=s.owner, now=s.now)
    assert exc.value.field == "bidding_deadline"
    ok = datetime.combine(earliest, time(9), tzinfo=services.SHANGHAI)
    services.update_request(req, s.request_input(bidding_deadline=ok), actor=s.owner)
    services.publish_request(req, actor=s.owner, now=s.now)
    assert req.status is RequestStatus.PUBLISHED and req.published_at == s.now


def test_deadline_counts_the_official_calendar(scenario, db):
    """Published on 30 September 2026: the National Day week is off, Saturday 10 October is worked."""
    s = scenario
    eve = datetime(2026, 9, 30, 10, tzinfo=services.SHANGHAI)
    assert services.earliest_deadline_day(eve) == date(2026, 10, 10)
    req = s.draft(bidding_deadline=datetime(2026, 10, 9, 17, tzinfo=services.SHANGHAI))
    with pytest.raises(DomainError, match="2026-10-10"):
        services.publish_request(req, actor=s.owner, now=eve)
    # a deadline typed late on the last allowed day in China is still that day
    services.update_request(req, s.request_input(bidding_deadline=datetime(2026, 10, 10, 23, 30, tzinfo=services.SHANGHAI)),
                            actor=s.owner)
    services.publish_request(req, actor=s.owner, now=eve)
    assert req.bidding_deadline.tzinfo is not None and services.china_date(req.bidding_deadline) == date(2026, 10, 10)


@pytest.mark.parametrize(("changes", "field"), [
    ({"content": "投标人须为本地注册企业。"}, "content"),
    ({"title": "仅限本地企业参与"}, "title"),
    ({"content": "Bidders must be registered locally."}, "content"),
    ({"scale": "注册地须在昆明市"}, "scale"),
    ({"budget_ceiling_fen": None}, "budget_ceiling"),
    ({"budget_ceiling_fen": 0}, "budget_ceiling"),
    ({"is_budgeted": False, "quote_min_fen": 500, "quote_max_fen": 100}, "quote_max"),
    ({"is_budgeted": False, "quote_min_fen": None, "quote_max_fen": 100}, "quote_min"),
    ({"selection_method": SelectionMethod.SCORING, "weight_price": 50, "weight_time": 30, "weight_credit": 30}, "weight_price"),
    ({"selection_method": SelectionMethod.SCORING, "weight_price": 150, "weight_time": -30, "weight_credit": -20}, "weight_price"),
    ({"selection_method": SelectionMethod.DIRECT}, "direct_agency_id"),
    ({"contact_phone": "call me"}, "contact_phone"),
    ({"title": "x" * 201}, "title"),
    ({"content": "bad\x00byte"}, "content"),
    ({"bidding_deadline": None}, "bidding_deadline"),
])
def test_bad_request_input(scenario, db, changes, field):
    with pytest.raises(DomainError) as exc:
        scenario.draft(**changes)
    assert exc.value.field == field


def test_direct_selection_needs_a_reason_and_an_eligible_agency(scenario, db):
    s = scenario
    with pytest.raises(DomainError) as exc:
        s.draft(selection_method=SelectionMethod.DIRECT, direct_agency_id=s.agencies[0].id)
    assert exc.value.field == "direct_reason"
    from tests.factories import AgencyFactory

    outsider = AgencyFactory()
    req = s.draft(selection_method=SelectionMethod.DIRECT, direct_agency_id=outsider.id, direct_reason="熟悉项目")
    with pytest.raises(DomainError) as exc:
        services.publish_request(req, actor=s.owner, now=s.now)
    assert exc.value.field == "direct_agency_id"


def test_required_qualifications_only_from_the_catalogue(scenario, db):
    s = scenario
    foreign = QualificationTypeFactory(name="本地备案证明")
    with pytest.raises(DomainError) as exc:
        s.draft(qualification_type_ids=(foreign.id,))
    assert exc.value.field == "qualification_type_ids"
    own = s.item.qualification_types[0]
    assert s.draft(qualification_type_ids=(own.id,)).required_qualifications == [own]


def test_service_item_must_be_needed_by_the_case(scenario, db):
    s = scenario
    other = ServiceItemFactory()
    with pytest.raises(DomainError, match="not among the services"):
        services.create_request(s.case, other, s.request_input(), actor=s.owner)


def test_one_live_request_per_case_and_service(scenario, db):
    s = scenario
    s.draft()
    with pytest.raises(DomainError, match="may not be split"):
        s.draft()


def test_closed_case_takes_no_request(scenario, db):
    s = scenario
    CASE_MACHINE.transition(s.case, CaseStatus.APPROVED, actor="test")
    with pytest.raises(DomainError, match="no longer in progress"):
        s.draft()


def test_only_the_owner_drafts_and_publishes(scenario, db):
    s = scenario
    with pytest.raises(PermissionDenied):
        services.create_request(s.case, s.item, s.request_input(), actor=s.staff[0])
    req = s.draft()
    with pytest.raises(PermissionDenied):
        services.publish_request(req, actor=s.staff[0], now=s.now)


def test_published_request_cannot_be_edited_or_republished(scenario, db):
    s = scenario
    req = s.published()
    with pytest.raises(DomainError):
        services.update_request(req, s.request_input(title="改"), actor=s.owner)
    with pytest.raises(InvalidTransition):
        services.publish_request(req, actor=s.owner, now=s.now)
    with pytest.raises(DomainError):
        services.republish_request(req, actor=s.owner, now=s.now)


def test_cancel_needs_a_public_reason(scenario, db, client):
    s = scenario
    req = s.published()
    with pytest.raises(DomainError):
        services.cancel_request(req, "  ", actor=s.owner, now=s.now)
    services.cancel_request(req, "项目规划调整，本次采购取消", actor=s.owner, now=s.now)
    db.session.commit()
    assert req.status is RequestStatus.CANCELLED
    html = client.get(f"/announcements/{req.id}").get_data(as_text=True)
    assert "项目规划调整，本次采购取消" in html
    # a new request for the same service may follow a cancelled one
    assert s.draft().status is RequestStatus.DRAFT


@pytest.mark.parametrize("method", [SelectionMethod.LOWEST_PRICE, SelectionMethod.RANDOM_DRAW])
def test_a_draft_cancelled_in_the_form_stays_private_and_frees_the_case(
    scenario, db, client, browser, login_as, app, method
):
    """Cancelling a draft (never published) works and publishes nothing; it used to be HTTP 500."""
    s = scenario
    req = s.draft(selection_method=method)
    db.session.commit()
    login_as(s.owner)
    resp = browser.post(f"/procurement/requests/{req.id}/cancel", {"cancel-reason": "项目选址调整"},
                        form_url=f"/announcements/{req.id}", follow_redirects=True)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "The draft is cancelled. It was never published" in html
    assert "项目选址调整" in html
    db.session.refresh(req)
    assert req.status is RequestStatus.CANCELLED and req.published_at is None
    anonymous = app.test_client()
    assert anonymous.get(f"/announcements/{req.id}").status_code == 404
    assert req.title not in anonymous.get("/announcements").get_data(as_text=True)
    assert anonymous.get(f"/api/v1/announcements/{req.id}").status_code == 404
    # nor does its trail: the public audit page and API show no event of the never-published draft
    assert req.reference not in anonymous.get("/audit").get_data(as_text=True)
    events = anonymous.get("/api/v1/audit/events").get_json()
    assert all(
        not (e.get("object_type") == "purchase_requests" and str(e.get("object_id")) == str(req.id))
        for e in events["items"]
    )
    # the case and service item are free for a new request
    assert s.draft().status is RequestStatus.DRAFT


def test_exclusions_in_the_draft_are_public_after_publication(scenario, db, client, browser, login_as):
    s = scenario
    req = s.draft()
    db.session.commit()
    login_as(s.owner)
    resp = browser.post(f"/procurement/requests/{req.id}/exclusions",
                        {"agency_id": s.agencies[1].id, "reason": "该机构为本项目设计单位的关联公司"},
                        form_url=f"/announcements/{req.id}")
    assert resp.status_code == 302
    db.session.refresh(req)
    assert [e.agency_id for e in req.exclusions] == [s.agencies[1].id]
    with pytest.raises(DomainError, match="already excluded"):
        services.add_exclusion(req, s.agencies[1].id, "again", actor=s.owner)
    db.session.rollback()
    services.publish_request(req, actor=s.owner, now=s.now)
    db.session.commit()
    with pytest.raises(DomainError, match="only while the request is a draft"):
        services.add_exclusion(req, s.agencies[0].id, "late", actor=s.owner)
    html = client.get(f"/announcements/{req.id}").get_data(as_text=True)
    assert "该机构为本项目设计单位的关联公司" in html


def test_republish_copies_terms_and_links_rounds(scenario, db):
    s = scenario
    req = s.draft()
    services.add_exclusion(req, s.agencies[2].id, "关联关系", actor=s.owner)
    services.publish_request(req, actor=s.owner, now=s.now)
    s.bid(req, 0, 5_000_000)
    services.close_bidding(req, now=s.after_deadline(req))
    assert req.status is RequestStatus.FAILED
    nxt = services.republish_request(req, actor=s.owner, now=s.after_deadline(req))
    assert (nxt.round_number, nxt.previous_round_id, nxt.title, nxt.status) == (2, req.id, req.title, RequestStatus.DRAFT)
    assert nxt.bidding_deadline > s.after_deadline(req)
    assert [(e.agency_id, e.reason) for e in nxt.exclusions] == [(s.agencies[2].id, "关联关系")]
    assert services.rounds_of(nxt) == [req, nxt] == services.rounds_of(req)
    with pytest.raises(DomainError, match="already been published again"):
        services.republish_request(req, actor=s.owner, now=s.after_deadline(req))


def test_edit_form_roundtrip(scenario, db, browser, login_as):
    s = scenario
    req = s.draft(selection_method=SelectionMethod.SCORING, weight_price=40, weight_time=40, weight_credit=20)
    db.session.commit()
    login_as(s.owner)
    page = browser.get(f"/procurement/requests/{req.id}/edit").get_data(as_text=True)
    assert 'value="40"' in page and req.title in page
    deadline = services.default_deadline(s.now).astimezone(services.SHANGHAI).strftime("%Y-%m-%dT%H:%M")
    resp = browser.post(f"/procurement/requests/{req.id}/edit", {
        "title": "修改后的标题", "content": "内容", "scale": "", "is_budgeted": "no", "budget_ceiling": "",
        "quote_min": "1,000", "quote_max": "50,000", "selection_method": "scoring", "direct_agency_id": "0",
        "direct_reason": "", "weight_price": "50", "weight_time": "25", "weight_credit": "25",
        "bidding_deadline": deadline, "contact_name": "钱", "contact_phone": "13800000000",
        "complaint_phone": "12345",
    })
    assert resp.status_code == 302
    db.session.refresh(req)
    assert (req.title, req.is_budgeted, req.quote_max_fen, req.weight_price) == ("修改后的标题", False, 5_000_000, 50)


@pytest.mark.parametrize("field_values", [
    {"bidding_deadline": "not a date"}, {"budget_ceiling": "lots"}, {"weight_price": "x"},
    {"selection_method": "bribery"},
    {"selection_method": "direct", "direct_agency_id": "99999999999999", "direct_reason": "x"},
    {"qualification_type_ids": ["abc", "-1"]}, {"is_budgeted": "maybe"},
    {"budget_ceiling": "1e30"}, {"budget_ceiling": "9" * 29},
])
def test_bad_form_input_never_crashes(scenario, db, browser, login_as, field_values):
    s = scenario
    db.session.commit()
    login_as(s.owner)
    data = {"title": "t", "content": "c", "is_budgeted": "yes", "budget_ceiling": "1000",
            "selection_method": "lowest_price", "bidding_deadline": "2030-01-01T10:00",
            "contact_name": "a", "contact_phone": "0871-1234567", "complaint_phone": "12345", **field_values}
    resp = browser.post(f"/procurement/cases/{s.case.id}/items/{s.item.id}/request", data)
    assert resp.status_code == 200
    assert db.session.execute(sa.text("SELECT COUNT(*) FROM purchase_requests")).scalar() == 0
