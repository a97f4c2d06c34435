"""The time-driven job, the objection period, final awards and passing the award on."""

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from marketplace.audit.models import AuditEvent
from marketplace.core.errors import DomainError, InvalidTransition, PermissionDenied
from marketplace.jobs.registry import all_jobs
from marketplace.jobs.runner import run_once
from marketplace.procurement import eligibility, services
from marketplace.procurement.jobs import run_procurement_deadlines
from marketplace.procurement.models import (
    BidStatus,
    RequestStatus,
    SelectionMethod,
)
from marketplace.procurement.signals import award_finalised, award_passed, objection_check
from marketplace.workdays.services import working_days_between
from tests.procurement.conftest import make_scenario


def _awarded(s, prices=(9_000_000, 8_000_000, 8_500_000), **changes):
    req = s.published(**changes)
    for i, price in enumerate(prices):
        s.bid(req, i, price)
    run_procurement_deadlines(s.after_deadline(req))
    return req


def test_the_job_is_registered_and_runs_from_the_runner(scenario, db):
    assert "procurement.deadlines" in [job.name for job in all_jobs()]
    s = scenario
    req = s.published()
    s.bid(req, 0, 1_000_000)
    s.bid(req, 1, 1_100_000)
    db.session.commit()
    assert run_once(s.now)["procurement.deadlines"] == 0  # not yet due
    assert run_once(s.after_deadline(req))["procurement.deadlines"] == 1
    db.session.refresh(req)
    assert req.status is RequestStatus.AWARDED


def test_the_job_is_idempotent_and_catches_up(db):
    scenarios = [make_scenario(db) for _ in range(3)]
    reqs = []
    for s in scenarios:
        req = s.published()
        s.bid(req, 0, 1_000_000)
        s.bid(req, 1, 1_100_000)
        reqs.append(req)
    db.session.commit()
    much_later = max(r.bidding_deadline for r in reqs) + timedelta(days=60)
    # one run long after every deadline closes and awards everything; the objection period
    # starts with the published result, so it runs from the award, not from the deadline
    assert run_procurement_deadlines(much_later) == 3
    assert run_procurement_deadlines(much_later) == 0
    for req in reqs:
        db.session.refresh(req)
        assert req.status is RequestStatus.AWARDED and not services.award_is_final(req)
        assert req.awarded_at == much_later
    even_later = much_later + timedelta(days=30)
    assert run_procurement_deadlines(even_later) == 3
    assert run_procurement_deadlines(even_later) == 0
    for req in reqs:
        db.session.refresh(req)
        assert services.award_is_final(req)
    events = db.session.execute(
        sa.select(sa.func.count()).where(AuditEvent.action == "purchase_request.awarded")
    ).scalar()
    assert events == 3


def test_objection_period_then_final_award_with_the_signal(scenario, db, app):
    s = scenario
    received = []

    def on_final(sender, **extra):
        received.append(sender.id)

    award_finalised.connect(on_final)
    try:
        req = _awarded(s)
        assert req.status is RequestStatus.AWARDED and not services.award_is_final(req)
        awarded_day = services.china_date(req.awarded_at)
        assert working_days_between(awarded_day, services.china_date(req.objection_deadline)) == \
            app.config["PROCUREMENT_OBJECTION_DAYS"]
        assert run_procurement_deadlines(req.objection_deadline - timedelta(seconds=1)) == 0
        assert received == []
        assert run_procurement_deadlines(req.objection_deadline) == 1
        assert services.award_is_final(req) and received == [req.id]
        assert run_procurement_deadlines(req.objection_deadline + timedelta(days=5)) == 0
        assert received == [req.id]
    finally:
        award_finalised.disconnect(on_final)


def test_an_open_objection_keeps_the_award_open(scenario, db):
    s = scenario
    req = _awarded(s)
    objections = {req.id}

    def check(sender, **extra):
        return sender.id in objections

    objection_check.connect(check)
    try:
        later = req.objection_deadline + timedelta(days=1)
        assert run_procurement_deadlines(later) == 0 and not services.award_is_final(req)
        objections.clear()
        assert run_procurement_deadlines(later) == 1 and services.award_is_final(req)
    finally:
        objection_check.disconnect(check)


def test_winner_refuses_and_the_award_passes_on_the_record(scenario, db, browser, login_as, client):
    s = scenario
    passed = []

    def on_pass(sender, **extra):
        passed.append((extra["from_org_id"], extra["to_org_id"]))

    award_passed.connect(on_pass)
    try:
        req = _awarded(s)
        assert req.awarded_org_id == s.agencies[1].id
        db.session.commit()
        winner = services.winning_bid(req)
        login_as(s.staff[1])
        resp = browser.post(f"/procurement/bids/{winner.id}/decline", {"reason": "人员安排冲突，无法按期完成"},
                            form_url=f"/announcements/{req.id}")
        assert resp.status_code == 302
        db.session.refresh(req)
        assert req.awarded_org_id == s.agencies[2].id and req.awarded_price_fen == 8_500_000
        assert passed == [(s.agencies[1].id, s.agencies[2].id)]
        html = client.get(f"/announcements/{req.id}/result").get_data(as_text=True)
        assert 'id="award-history"' in html and "人员安排冲突" in html
        # the enterprise finds the new winner ineligible: passes to the last one
        services.pass_award_to_next(req, "资质证书已被注销", s.owner)
        assert req.awarded_org_id == s.agencies[0].id
        # nobody left: the request fails, on the record
        services.pass_award_to_next(req, "拒绝签约", s.owner)
        assert req.status is RequestStatus.FAILED and req.failure_reason
        statuses = [b.status for b in services.revealed_bids(req).values()]
        assert statuses == [BidStatus.REJECTED] * 3
        assert passed[-1] == (s.agencies[0].id, None)
    finally:
        award_passed.disconnect(on_pass)


def test_award_skips_a_next_bidder_who_became_ineligible(scenario, db, monkeypatch):
    s = scenario
    req = _awarded(s)
    banned = s.agencies[2].id
    monkeypatch.setattr(eligibility, "agency_is_sanctioned", lambda org_id, on=None: org_id == banned)
    new = services.pass_award_to_next(req, "放弃中选", s.owner)
    assert new.agency_id == s.agencies[0].id
    assert services.revealed_bids(req)[new.id].status is BidStatus.WON


def test_passing_the_award_needs_a_party_and_a_reason(scenario, db):
    s = scenario
    req = _awarded(s)
    with pytest.raises(PermissionDenied):
        services.pass_award_to_next(req, "x", s.staff[0])  # a losing bidder
    with pytest.raises(DomainError):
        services.pass_award_to_next(req, "", s.owner)
    with pytest.raises(PermissionDenied):
        services.decline_award(services.winning_bid(req), "x", actor=s.staff[0])


def test_a_final_award_can_still_pass_before_the_contract(scenario, db):
    s = scenario
    req = _awarded(s)
    assert finalise(req)
    services.pass_award_to_next(req, "拒绝签订合同", s.owner)
    assert not services.award_is_final(req) and req.objection_deadline > req.awarded_at


def finalise(req):
    return services.finalise_award(req, now=req.objection_deadline)


def test_close_and_award_refuse_out_of_order(scenario, db):
    s = scenario
    req = s.published()
    with pytest.raises(DomainError, match="until the deadline"):
        services.close_bidding(req, now=s.now)
    with pytest.raises(InvalidTransition):
        services.award_request(req, now=s.now)


def test_direct_selection_without_confirmation_fails(scenario, db):
    s = scenario
    req = s.published(selection_method=SelectionMethod.DIRECT, direct_agency_id=s.agencies[0].id,
                      direct_reason="熟悉项目")
    run_procurement_deadlines(s.after_deadline(req))
    assert req.status is RequestStatus.FAILED


def test_withdrawn_bids_do_not_count(scenario, db):
    s = scenario
    req = s.published()
    s.bid(req, 0, 1_000_000)
    services.withdraw_bid(s.bid(req, 1, 2_000_000), actor=s.staff[1], now=s.now + timedelta(hours=1))
    run_procurement_deadlines(s.after_deadline(req))
    assert req.status is RequestStatus.FAILED


def test_cli_advance(scenario, db, app):
    s = scenario
    req = s.published()
    s.bid(req, 0, 1_000_000)
    s.bid(req, 1, 1_100_000)
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["procurement", "advance", "--now", s.after_deadline(req).isoformat()])
    assert result.exit_code == 0 and "1 request(s) changed" in result.output
    result = runner.invoke(args=["procurement", "result", str(req.id)])
    assert result.exit_code == 0 and '"status": "awarded"' in result.output
    assert runner.invoke(args=["procurement", "advance", "--now", "soon"]).exit_code == 2


def test_cli_advance_only_the_requests_named(scenario, db, app):
    from tests.procurement.conftest import make_scenario

    s, other = scenario, make_scenario(db)
    first, second = s.published(), other.published()
    for sc, req in ((s, first), (other, second)):
        sc.bid(req, 0, 1_000_000)
        sc.bid(req, 1, 1_100_000)
    db.session.commit()
    runner = app.test_cli_runner()
    later = max(s.after_deadline(first), other.after_deadline(second)).isoformat()
    result = runner.invoke(args=["procurement", "advance", "--now", later, "--request", first.reference])
    assert result.exit_code == 0 and "1 request(s) changed" in result.output
    db.session.expire_all()
    assert first.status is RequestStatus.AWARDED and second.status is RequestStatus.PUBLISHED
    result = runner.invoke(args=["procurement", "advance", "--now", later, "--request", str(second.id)])
    assert "1 request(s) changed" in result.output
    assert runner.invoke(args=["procurement", "advance", "--request", "x1"]).exit_code == 2
    help_text = runner.invoke(args=["procurement", "advance", "--help"]).output
    assert "demo requests included" in help_text


def test_result_shows_the_published_deadline_and_links_the_objection_form(scenario, db, client):
    s = scenario
    req = _awarded(s)
    db.session.commit()
    html = client.get(f"/announcements/{req.id}/result?lang=zh_CN").get_data(as_text=True)
    published = req.bidding_deadline.astimezone(services.SHANGHAI).strftime("%Y-%m-%d %H:%M")
    closed = req.closed_at.astimezone(services.SHANGHAI).strftime("%Y-%m-%d %H:%M")
    assert published != closed
    outcome_line = html.split("报价截止时间")[1].split("</p>")[0]
    assert published in outcome_line and closed not in outcome_line
    assert "投诉电话" not in html
    # the ranking's submission times are Beijing time like every other time on the page
    assert " UTC<" not in html
    first = req.outcome["ranking"][0]["final_submitted_at"]
    beijing = datetime.fromisoformat(first).astimezone(services.SHANGHAI)
    assert beijing.strftime("%Y-%m-%d %H:%M:%S") in html
    assert f'href="/announcements/{req.id}/objections/new" id="objection-form-link">在线质疑表单</a>' in html


def test_result_ranking_names_each_agency_not_its_id(scenario, db, client):
    s = scenario
    req = _awarded(s)
    db.session.commit()
    html = client.get(f"/announcements/{req.id}/result").get_data(as_text=True)
    ranking = html.split('id="ranking"')[1].split("</table>")[0]
    for agency in s.agencies:
        assert f'<a href="/agencies/{agency.id}">{agency.name}</a>' in ranking
        assert f"#{agency.id}<" not in ranking
