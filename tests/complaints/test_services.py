"""Objection → answer → escalation → decision, the award hook, credit, service complaints."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.audit.models import AuditEvent
from marketplace.complaints import services
from marketplace.complaints.models import (
    Complaint,
    ComplaintKind,
    ComplaintStatus,
    Objection,
    ObjectionStatus,
    Remedy,
    UpheldAgainst,
)
from marketplace.core.errors import DomainError, InvalidTransition, PermissionDenied
from marketplace.credit import services as credit
from marketplace.credit.models import CreditInput, CreditInputKind
from marketplace.notifications.models import Notification
from marketplace.procurement import services as procurement
from marketplace.procurement.models import Bid, BidStatus, RequestStatus
from marketplace.procurement.signals import has_open_objection
from tests.complaints.conftest import PDF
from tests.factories import AgencyFactory, UserFactory


def _kinds(user):
    from marketplace.extensions import db

    return [n.kind for n in db.session.execute(
        sa.select(Notification).where(Notification.user_id == user.id)).scalars()]


def _credit_inputs(org_id):
    from marketplace.extensions import db

    return db.session.execute(
        sa.select(CreditInput).where(CreditInput.organisation_id == org_id,
                                     CreditInput.kind == CreditInputKind.COMPLAINT_UPHELD)
    ).scalars().all()


# --- filing ----------------------------------------------------------------------------------


def test_a_losing_bidder_objects_and_the_enterprise_is_told_with_the_deadline(world, db):
    obj = world.objection(files=[PDF])
    assert obj.status is ObjectionStatus.SUBMITTED
    assert obj.award_org_id == world.winner.id
    # three working days, ending at 24:00 Beijing time
    assert obj.answer_deadline > world.during() + timedelta(days=2)
    assert len(obj.evidence) == 1 and obj.evidence[0].stored.content_type == "application/pdf"
    assert "complaints.objection_submitted" in _kinds(world.owner)
    actions = db.session.execute(sa.select(AuditEvent.action).where(AuditEvent.object_type == "objections")
                                 .order_by(AuditEvent.seq)).scalars()
    assert list(actions) == ["objection.drafted", "objection.submitted"]


@pytest.mark.parametrize("who", ["winner", "outsider", "enterprise"])
def test_only_a_losing_bidder_may_object(world, who):
    if who == "winner":
        actor = world.s.staff[1]
    elif who == "outsider":
        actor = UserFactory(organisation=AgencyFactory(), role=world.objector.role)
    else:
        actor = world.owner
    with pytest.raises(DomainError):
        services.file_objection(world.req, grounds="不服", actor=actor, now=world.during())


def test_no_objection_after_the_deadline_and_only_one_per_bidder(world):
    with pytest.raises(DomainError, match="objection period"):
        world.objection(at=world.req.objection_deadline + timedelta(seconds=1))
    world.objection()
    with pytest.raises(DomainError, match="already has an objection"):
        world.objection()


def test_empty_grounds_and_a_bad_file_change_nothing(world, db):
    with pytest.raises(DomainError):
        world.objection(grounds="   ")
    db.session.rollback()
    with pytest.raises(DomainError, match="PDF, JPEG and PNG"):
        world.objection(files=[b"MZ\x90\x00 not a document"])
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count(Objection.id))).scalar() == 0


def test_a_draft_does_not_hold_the_award_but_a_submitted_objection_does(world, db):
    draft = world.objection(submit=False)
    assert draft.status is ObjectionStatus.DRAFT
    assert not has_open_objection(world.req)
    services.submit_objection(draft, actor=world.objector, now=world.during(5))
    assert has_open_objection(world.req)
    after = world.req.objection_deadline + timedelta(minutes=1)
    assert not procurement.finalise_award(world.req, now=after)
    assert not procurement.award_is_final(world.req)


def test_a_draft_cannot_be_submitted_after_the_deadline(world):
    draft = world.objection(submit=False)
    with pytest.raises(DomainError, match="objection period"):
        services.submit_objection(draft, actor=world.objector,
                                  now=world.req.objection_deadline + timedelta(seconds=1))


# --- answer, acceptance, escalation ------------------------------------------------------------


def test_the_enterprise_answers_and_the_objector_accepts_then_the_award_becomes_final(world, db):
    obj = world.answered()
    assert obj.status is ObjectionStatus.ANSWERED
    assert "complaints.objection_answered" in _kinds(world.objector)
    with pytest.raises(PermissionDenied):
        services.accept_answer(obj, actor=world.owner, now=world.during(70))
    services.accept_answer(obj, actor=world.objector, now=world.during(70))
    assert obj.status is ObjectionStatus.RESOLVED
    assert not has_open_objection(world.req)
    assert procurement.finalise_award(world.req, now=world.req.objection_deadline + timedelta(minutes=1))


def test_only_the_enterprise_answers_and_not_after_its_deadline(world):
    obj = world.objection()
    with pytest.raises(PermissionDenied):
        services.answer_objection(obj, text="答复", actor=world.s.staff[1], now=world.during(40))
    with pytest.raises(DomainError, match="answer deadline has passed"):
        services.answer_objection(obj, text="答复", actor=world.owner,
                                  now=obj.answer_deadline + timedelta(seconds=1))
    assert obj.status is ObjectionStatus.SUBMITTED


def test_escalation_needs_an_answer_or_a_missed_deadline(world):
    obj = world.objection()
    with pytest.raises(DomainError, match="may still answer"):
        services.escalate_objection(obj, actor=world.objector, now=world.during(40))
    c = services.escalate_objection(obj, actor=world.objector, now=obj.answer_deadline + timedelta(minutes=1))
    assert obj.status is ObjectionStatus.ESCALATED
    assert c.kind is ComplaintKind.OBJECTION and c.status is ComplaintStatus.SUBMITTED


def test_escalating_creates_a_complaint_for_the_regulators_and_keeps_the_award_open(world, db):
    c = world.escalated()
    assert c.objection.status is ObjectionStatus.ESCALATED
    assert c.agency_org_id == world.winner.id and c.enterprise_org_id == world.s.enterprise.id
    assert "答复未附证明材料" in c.grounds
    assert "complaints.complaint_submitted" in _kinds(world.regulator)
    assert "complaints.complaint_filed_against" in _kinds(world.s.staff[1])
    assert has_open_objection(world.req)
    with pytest.raises(InvalidTransition):
        services.escalate_objection(c.objection, actor=world.objector, now=world.during(95))


# --- the regulator's decision --------------------------------------------------------------------


def test_upheld_complaint_cancels_the_award_which_passes_to_the_next_bidder(world, db):
    c = world.accepted()
    assert c.status is ComplaintStatus.ACCEPTED and c.decision_deadline is not None
    services.decide_complaint(c, upheld=True, text="中选单位资质不符，取消中选结果。", against="agency",
                              remedy="next_bidder", actor=world.regulator, now=world.during(150))
    db.session.refresh(world.req)
    assert c.status is ComplaintStatus.UPHELD
    assert world.req.status is RequestStatus.AWARDED
    assert world.req.awarded_org_id == world.s.agencies[2].id
    old = db.session.execute(sa.select(Bid).where(Bid.agency_id == world.winner.id)).scalar_one()
    assert old.status is BidStatus.REJECTED and c.reference in old.rejection_reason
    # the new winner gets its own objection period
    assert world.req.objection_deadline > world.during(150)
    assert len(_credit_inputs(world.winner.id)) == 1
    assert credit.score_row(world.winner.id).complaints == 1
    assert services.public_outcomes(world.req) == [c]
    assert "complaints.complaint_decided" in _kinds(world.objector)


def test_upheld_with_a_new_round_cancels_the_request(world, db):
    c = world.accepted()
    services.decide_complaint(c, upheld=True, text="评审程序违法，重新采购。", against="enterprise",
                              remedy=Remedy.NEW_ROUND, actor=world.regulator, now=world.during(150))
    db.session.refresh(world.req)
    assert world.req.status is RequestStatus.CANCELLED
    assert c.upheld_against is UpheldAgainst.ENTERPRISE
    # the formula scores agencies only: recorded, not scored
    assert _credit_inputs(world.winner.id) == []
    assert db.session.execute(sa.select(AuditEvent).where(
        AuditEvent.action == "complaint.upheld_against_enterprise")).scalar_one()


def test_dismissed_complaint_lets_the_award_become_final(world, db):
    c = world.accepted()
    services.decide_complaint(c, upheld=False, text="投诉缺乏事实依据，驳回。", actor=world.regulator,
                              now=world.during(150))
    assert c.status is ComplaintStatus.DISMISSED
    assert not has_open_objection(world.req)
    assert procurement.finalise_award(world.req, now=world.req.objection_deadline + timedelta(minutes=1))
    assert _credit_inputs(world.winner.id) == []


def test_an_upheld_decision_needs_a_party_and_a_remedy_and_a_live_award(world, db):
    c = world.accepted()
    with pytest.raises(DomainError, match="whom"):
        services.decide_complaint(c, upheld=True, text="成立", remedy="none", actor=world.regulator)
    with pytest.raises(DomainError, match="award"):
        services.decide_complaint(c, upheld=True, text="成立", against="agency", actor=world.regulator)
    procurement.pass_award_to_next(world.req, "中选人放弃", world.owner, now=world.during(140))
    with pytest.raises(DomainError, match="no longer in place"):
        services.decide_complaint(c, upheld=True, text="成立", against="agency", remedy="next_bidder",
                                  actor=world.regulator, now=world.during(150))
    assert c.status is ComplaintStatus.ACCEPTED


def test_only_the_routed_department_handles_a_complaint(world, db):
    services.set_route(world.req.service_item_id, world.regulator.organisation_id, actor=world.admin)
    c = world.escalated()
    assert c.regulator_org_id == world.regulator.organisation_id
    assert "complaints.complaint_submitted" not in _kinds(world.other_regulator)
    with pytest.raises(PermissionDenied):
        services.accept_complaint(c, actor=world.other_regulator)
    with pytest.raises(PermissionDenied):
        services.accept_complaint(c, actor=world.admin)
    services.accept_complaint(c, actor=world.regulator)


def test_rejection_needs_a_reason_and_closes_the_case(world, db):
    c = world.escalated()
    with pytest.raises(DomainError):
        services.reject_complaint(c, reason="", actor=world.regulator)
    services.reject_complaint(c, reason="超过投诉期限。", actor=world.regulator)
    assert c.status is ComplaintStatus.REJECTED
    assert not has_open_objection(world.req)
    assert services.public_outcomes(world.req) == []  # only decided complaints are published


def test_the_complainant_withdraws(world, db):
    c = world.escalated()
    with pytest.raises(PermissionDenied):
        services.withdraw_complaint(c, reason="撤回", actor=world.owner)
    services.withdraw_complaint(c, reason="已与采购人协商解决。", actor=world.objector)
    assert c.status is ComplaintStatus.WITHDRAWN
    with pytest.raises(InvalidTransition):
        services.accept_complaint(c, actor=world.regulator)


# --- service complaints ----------------------------------------------------------------------------


def test_the_enterprise_complains_about_the_agency_and_an_upheld_complaint_counts_in_its_credit(world, db):
    c = services.file_service_complaint(world.req, category="overcharging", grounds="实际收费超出承诺收费标准。",
                                        files=[PDF], actor=world.owner, now=world.during())
    assert c.kind is ComplaintKind.SERVICE and c.agency_org_id == world.winner.id
    assert not has_open_objection(world.req)  # a service complaint does not hold the award
    services.accept_complaint(c, actor=world.regulator)
    services.decide_complaint(c, upheld=True, text="收费超出承诺，责令退还。", actor=world.regulator)
    assert c.upheld_against is UpheldAgainst.AGENCY and c.remedy is Remedy.NONE
    assert len(_credit_inputs(world.winner.id)) == 1
    db.session.refresh(world.req)
    assert world.req.awarded_org_id == world.winner.id


def test_service_complaint_checks(world, db):
    with pytest.raises(DomainError, match="itself"):
        services.file_service_complaint(world.req, category="lateness", grounds="x", actor=world.s.staff[1])
    with pytest.raises(DomainError, match="about"):
        services.file_service_complaint(world.req, category="procurement", grounds="x", actor=world.owner)
    services.file_service_complaint(world.req, category="lateness", grounds="逾期", actor=world.owner)
    db.session.commit()
    with pytest.raises(DomainError, match="open complaint"):
        services.file_service_complaint(world.req, category="poor_work", grounds="质量差", actor=world.owner)
    assert db.session.execute(sa.select(sa.func.count(Complaint.id))).scalar() == 1


# --- who sees what ------------------------------------------------------------------------------


def test_visibility(world, db):
    obj = world.answered()
    stranger = UserFactory(organisation=AgencyFactory(), role=world.objector.role)
    assert services.can_view_objection(world.owner, obj)
    assert services.can_view_objection(world.regulator, obj)
    assert not services.can_view_objection(world.s.staff[2], obj)
    assert not services.can_view_objection(stranger, obj)
    draft = services.file_objection(world.req, grounds="草稿", actor=world.s.staff[2], submit=False,
                                    now=world.during())
    assert not services.can_view_objection(world.owner, draft)


def test_every_notification_of_the_flow_renders_its_text(world, db):
    c = world.accepted()
    services.decide_complaint(c, upheld=False, text="驳回。", actor=world.regulator, now=world.during(150))
    from marketplace.notifications.services import render

    notes = db.session.execute(sa.select(Notification).where(Notification.kind.like("complaints.%"))).scalars().all()
    assert {n.kind for n in notes} >= {
        "complaints.objection_submitted", "complaints.objection_answered", "complaints.objection_escalated",
        "complaints.complaint_submitted", "complaints.complaint_accepted", "complaints.complaint_decided",
    }
    for note in notes:
        text = render(note)
        assert "%(" not in text and not text.startswith("Notification:")
        assert note.link.startswith(("/objections/", "/complaints/"))
