"""Flagging a red-top agency: bidding and award refuse it for that department only."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from marketplace.audit.models import AuditEvent
from marketplace.core.errors import DomainError, InvalidTransition, PermissionDenied
from marketplace.independence import services
from marketplace.independence.models import FlagStatus, IndependenceFlag
from marketplace.procurement import services as procurement
from marketplace.procurement.models import BidStatus, RequestStatus
from marketplace.sanctions.models import SanctionCase
from tests.factories.procurement import ApprovalCaseFactory


def _actions(db, flag) -> list[str]:
    return list(db.session.execute(
        sa.select(AuditEvent.action).where(AuditEvent.object_type == "independence_flags",
                                           AuditEvent.object_id == str(flag.id)).order_by(AuditEvent.seq)
    ).scalars())


def test_a_flagged_agency_cannot_bid_on_that_departments_cases_only(world, db):
    s = world.s
    req = s.published()
    other_case = ApprovalCaseFactory(applicant=s.enterprise, approval_item=s.item.approval_items[0],
                                     service_items=[s.item])
    assert other_case.department_id != s.case.department_id
    other_req = procurement.create_request(other_case, s.item, s.request_input(), actor=s.owner)
    procurement.publish_request(other_req, actor=s.owner, now=s.now)
    world.flag()
    db.session.commit()

    with pytest.raises(DomainError, match=s.case.department.name) as err:
        s.bid(req, 0, 8_000_000)
    assert "may not take part" in str(err.value)
    s.bid(other_req, 0, 8_000_000)  # another department's case: no bar
    s.bid(req, 1, 8_000_000)  # other agencies carry on


def test_the_bid_page_explains_the_bar(world, db, client, login_as):
    s = world.s
    req = s.published()
    world.flag()
    db.session.commit()
    login_as(s.staff[0])
    page = client.get(f"/announcements/{req.id}/bid").get_data(as_text=True)
    assert "A regulator found your agency tied to" in page and s.case.department.name in page


def test_a_bid_made_before_the_flag_is_rejected_at_the_close(world, db):
    s = world.s
    req = s.published()
    s.bid(req, 0, 7_000_000)
    s.bid(req, 1, 8_000_000)
    s.bid(req, 2, 8_500_000)
    world.flag()
    procurement.close_bidding(req, now=s.after_deadline(req))
    procurement.award_request(req, now=s.after_deadline(req))
    assert req.status is RequestStatus.AWARDED
    assert req.awarded_org_id == s.agencies[1].id
    rejected = procurement.live_bid(req.id, s.agencies[0].id)
    assert rejected.status is BidStatus.REJECTED and "may not take part" in rejected.rejection_reason


def test_the_award_checks_again_a_flag_raised_after_the_close(world, db):
    s = world.s
    req = s.published()
    s.bid(req, 0, 1_000_000)  # abnormally low: the enterprise must decide before the award
    s.bid(req, 1, 8_000_000)
    s.bid(req, 2, 8_500_000)
    later = s.after_deadline(req)
    procurement.close_bidding(req, now=later)
    assert req.status is RequestStatus.BIDDING_CLOSED
    low = procurement.pending_decisions(req)[0]
    world.flag()  # found out meanwhile
    procurement.decide_abnormal_bid(req, low, confirm=True, reason="报价有成本说明。", actor=s.owner, now=later)
    assert req.status is RequestStatus.AWARDED
    assert req.awarded_org_id == s.agencies[1].id
    db.session.refresh(low)
    assert low.status is BidStatus.REJECTED and s.case.department.name in low.rejection_reason


def test_lifting_ends_the_bar_and_everything_is_on_the_audit_trail(world, db):
    s = world.s
    req = s.published()
    flag = world.flag()
    with pytest.raises(DomainError):
        s.bid(req, 0, 8_000_000)
    services.respond_to_flag(flag, text="该持股已于上月转让，附变更登记。", actor=s.staff[0])
    with pytest.raises(DomainError, match="required"):
        services.lift_flag(flag, reason="  ", actor=world.r2)
    services.lift_flag(flag, reason="核实股权已转让，已脱钩。", actor=world.r2)
    db.session.commit()
    assert flag.status is FlagStatus.LIFTED and flag.lifted_by_id == world.r2.id
    s.bid(req, 0, 8_000_000)
    with pytest.raises(InvalidTransition):
        services.lift_flag(flag, reason="again", actor=world.r1)
    with pytest.raises(DomainError, match="lifted"):
        services.respond_to_flag(flag, text="补充说明。", actor=s.staff[0])
    db.session.rollback()
    assert _actions(db, flag) == ["independence_flag.raised", "independence_flag.responded",
                                  "independence_flag.lifted"]
    # a new finding after the lift is a new flag
    assert world.flag().id != flag.id


def test_bad_input_and_wrong_people_change_nothing(world, db):
    s = world.s
    db.session.commit()
    with pytest.raises(PermissionDenied):
        world.flag(actor=s.staff[1])
    with pytest.raises(DomainError, match="department"):
        world.flag(department=s.enterprise)
    with pytest.raises(DomainError, match="At most"):
        world.flag(evidence_text="证" * 5000)
    with pytest.raises(DomainError, match="how the agency is tied"):
        world.flag(link_kind="cousin")
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count(IndependenceFlag.id))).scalar() == 0
    flag = world.flag()
    with pytest.raises(DomainError, match="already has an active flag"):
        world.flag(actor=world.r2)
    with pytest.raises(PermissionDenied):
        services.respond_to_flag(flag, text="与我无关。", actor=s.staff[1])
    with pytest.raises(PermissionDenied):
        services.lift_flag(flag, reason="x", actor=s.staff[0])


def test_a_sanction_proposal_opens_from_the_flag_with_the_flag_as_evidence(world, db):
    s = world.s
    flag = world.flag()
    db.session.commit()
    case = services.propose_sanction_from_flag(flag, kind="warning", facts=flag.evidence_text, actor=world.r1)
    db.session.commit()
    assert case.ground_code == "false_independence" and case.organisation_id == s.agencies[0].id
    assert [(e.object_type.value, e.object_id) for e in case.evidence] == [("other", flag.reference)]
    assert flag.sanction_case_id == case.id
    with pytest.raises(DomainError, match="already opened"):
        services.propose_sanction_from_flag(flag, kind="warning", facts="x", actor=world.r1)
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count(SanctionCase.id))).scalar() == 1


def test_a_flagged_agency_cannot_be_selected_directly(world, db):
    from marketplace.procurement.models import SelectionMethod

    s = world.s
    req = s.draft(selection_method=SelectionMethod.DIRECT, direct_agency_id=s.agencies[0].id,
                  direct_reason="熟悉项目情况")
    world.flag()
    with pytest.raises(DomainError, match="may not take part") as err:
        procurement.publish_request(req, actor=s.owner, now=s.now)
    assert err.value.field == "direct_agency_id" and req.status is RequestStatus.DRAFT
