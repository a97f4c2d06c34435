"""Deadlines the job runner enforces: unanswered objections escalate, lapsed ones close, overdue flags."""

from datetime import timedelta

import sqlalchemy as sa

from marketplace.complaints.jobs import run_complaint_deadlines
from marketplace.complaints.models import ComplaintKind, ComplaintStatus, ObjectionStatus
from marketplace.jobs.registry import all_jobs
from marketplace.jobs.runner import run_once
from marketplace.notifications.models import Notification
from marketplace.procurement import services as procurement
from marketplace.procurement.models import RequestStatus


def _count(user, kind):
    from marketplace.extensions import db

    return db.session.execute(sa.select(sa.func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.kind == kind)).scalar()


def test_the_job_runs_before_the_award_is_finalised():
    names = [job.name for job in all_jobs()]
    assert names.index("complaints.deadlines") < names.index("procurement.deadlines")


def test_an_unanswered_objection_is_escalated_at_its_deadline(world, db):
    obj = world.objection()
    db.session.commit()
    assert run_complaint_deadlines(obj.answer_deadline - timedelta(minutes=1)) == 0
    assert obj.status is ObjectionStatus.SUBMITTED
    assert run_complaint_deadlines(obj.answer_deadline + timedelta(minutes=1)) == 1
    db.session.refresh(obj)
    assert obj.status is ObjectionStatus.ESCALATED
    assert obj.complaint.kind is ComplaintKind.OBJECTION
    assert obj.complaint.status is ComplaintStatus.SUBMITTED
    assert "did not answer" in obj.closing_note
    assert _count(world.objector, "complaints.objection_escalated") == 1
    # idempotent: a second run does nothing more
    assert run_complaint_deadlines(obj.answer_deadline + timedelta(minutes=2)) == 0


def test_an_answered_objection_lapses_into_resolved_and_the_award_becomes_final(world, db):
    obj = world.answered()
    db.session.commit()
    later = max(obj.escalation_deadline, world.req.objection_deadline) + timedelta(minutes=1)
    results = run_once(later)
    assert results["complaints.deadlines"] == 1
    db.session.refresh(obj)
    db.session.refresh(world.req)
    assert obj.status is ObjectionStatus.RESOLVED
    assert procurement.award_is_final(world.req)
    assert world.req.status in (RequestStatus.AWARDED, RequestStatus.CONTRACTED)


def test_an_escalated_objection_holds_the_award_through_the_job(world, db):
    c = world.escalated()
    db.session.commit()
    results = run_once(world.req.objection_deadline + timedelta(days=1))
    assert results["procurement.deadlines"] == 0
    db.session.refresh(world.req)
    assert not procurement.award_is_final(world.req)
    assert c.status is ComplaintStatus.SUBMITTED


def test_a_complaint_not_accepted_in_time_is_overdue_and_regulators_are_told_once(world, db):
    c = world.escalated()
    db.session.commit()
    assert not c.is_overdue(c.acceptance_deadline)
    late = c.acceptance_deadline + timedelta(minutes=1)
    assert c.is_overdue(late)
    assert run_complaint_deadlines(late) == 1
    assert run_complaint_deadlines(late + timedelta(hours=1)) == 0
    assert _count(world.regulator, "complaints.complaint_overdue") == 1
    # accepted, the decision deadline takes over
    from marketplace.complaints import services

    services.accept_complaint(c, actor=world.regulator, now=late)
    db.session.commit()
    assert not c.is_overdue(late)
    assert run_complaint_deadlines(c.decision_deadline + timedelta(minutes=1)) == 1
    assert _count(world.regulator, "complaints.complaint_overdue") == 2


def test_an_objection_to_an_award_that_passed_on_is_closed_by_the_job(world, db):
    obj = world.objection()
    procurement.pass_award_to_next(world.req, "中选人放弃中选资格。", world.owner, now=world.during(10))
    db.session.commit()
    assert run_complaint_deadlines(world.during(20)) == 1
    db.session.refresh(obj)
    assert obj.status is ObjectionStatus.RESOLVED and "no longer stands" in obj.closing_note
    assert _count(world.objector, "complaints.objection_moot") == 1
    # the new winner's objection period then runs on its own
    db.session.refresh(world.req)
    assert not procurement.finalise_award(world.req, now=world.during(30))
    assert procurement.finalise_award(world.req, now=world.req.objection_deadline + timedelta(minutes=1))
