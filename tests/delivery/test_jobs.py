"""The job: overdue from the day after the due date (across National Day), reminders once."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from marketplace.audit.models import AuditEvent
from marketplace.credit.models import CreditInput
from marketplace.delivery import services
from marketplace.delivery.jobs import run_delivery_deadlines
from marketplace.delivery.models import Delivery
from marketplace.jobs.registry import all_jobs
from marketplace.jobs.runner import run_once
from marketplace.notifications.models import Notification
from marketplace.workdays.services import is_working_day, working_days_between
from tests.delivery.conftest import china, upload

BEFORE_NATIONAL_DAY = date(2026, 9, 30)  # Wednesday, the last working day before the holiday


def _notes(kind: str) -> list[Notification]:
    from marketplace.extensions import db

    return list(db.session.execute(sa.select(Notification).where(Notification.kind == kind)
                                   .order_by(Notification.id)).scalars())


def test_the_job_is_registered():
    assert "delivery.deadlines" in [job.name for job in all_jobs()]


def test_the_job_opens_the_delivery_of_a_contract_in_force(db, in_force):
    assert services.delivery_of(in_force.contract) is None
    assert run_once(only="delivery.deadlines") == {"delivery.deadlines": 1}
    delivery = services.delivery_of(in_force.contract)
    assert delivery is not None and delivery.due_date == in_force.contract.due_date
    assert run_delivery_deadlines(china(delivery.created_at.date())) == 0


def test_overdue_across_national_day(db, in_force):
    f = in_force
    # the seeded official calendar: the National Day holiday follows the due date
    assert is_working_day(BEFORE_NATIONAL_DAY)
    assert not any(is_working_day(date(2026, 10, d)) for d in range(1, 8))
    delivery = f.delivery(due=BEFORE_NATIONAL_DAY)
    assert run_delivery_deadlines(china(BEFORE_NATIONAL_DAY, 23)) == 0  # the due day itself
    assert delivery.overdue_since is None
    # The job did not run on Oct 1: it catches up on Oct 3, in the holiday.
    assert run_delivery_deadlines(china(date(2026, 10, 3))) == 1
    db.session.expire_all()
    delivery = db.session.get(Delivery, delivery.id)
    assert delivery.overdue_since == date(2026, 10, 1)  # the day after the due date
    assert len(_notes("delivery.overdue")) == 2  # agency and enterprise staff, once
    assert run_delivery_deadlines(china(date(2026, 10, 5))) == 0
    assert len(_notes("delivery.overdue")) == 2
    events = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "delivery.overdue")).scalars().all()
    assert len(events) == 1
    # counted in working days, the holiday costs nothing: still 0 on the last holiday day
    assert services.countdown(delivery, date(2026, 10, 7)).days == 0
    assert services.countdown(delivery, date(2026, 10, 7)).state == "overrun"
    submitted = date(2026, 10, 9)
    services.submit_result(delivery, summary="节后提交", files=[upload()], actor=f.agent, now=china(submitted))
    services.accept_delivery(delivery, version=1, actor=f.owner, now=china(date(2026, 10, 12)))
    expected = working_days_between(BEFORE_NATIONAL_DAY, submitted)
    assert expected == sum(is_working_day(BEFORE_NATIONAL_DAY + timedelta(days=n)) for n in range(1, 10))
    assert expected >= 1
    assert delivery.overrun_days == expected
    entry = db.session.execute(sa.select(CreditInput)).scalar_one()
    assert entry.value == expected


def test_submitted_within_the_holiday_is_overdue_but_without_overrun(db, in_force):
    f = in_force
    delivery = f.delivery(due=BEFORE_NATIONAL_DAY)
    run_delivery_deadlines(china(date(2026, 10, 1)))
    services.submit_result(delivery, summary="假期中提交", files=[upload()], actor=f.agent,
                           now=china(date(2026, 10, 6)))
    services.accept_delivery(delivery, version=1, actor=f.owner, now=china(date(2026, 10, 9)))
    assert delivery.overdue_since == date(2026, 10, 1)
    assert delivery.overrun_days == 0
    assert db.session.execute(sa.select(sa.func.count(CreditInput.id))).scalar() == 0


def test_no_overdue_while_the_enterprise_holds_the_result(db, in_force):
    f = in_force
    delivery = f.delivery(due=date(2026, 6, 30))
    services.submit_result(delivery, summary="按期提交", files=[upload()], actor=f.agent,
                           now=china(date(2026, 6, 29)))
    db.session.commit()
    assert run_delivery_deadlines(china(date(2026, 7, 10))) == 0
    assert db.session.get(Delivery, delivery.id).overdue_since is None


def test_reminders_three_and_one_working_day_before_once_each(db, in_force):
    f = in_force
    due = date(2026, 6, 30)  # Tuesday
    f.delivery(due=due)
    agency_users = len([u for u in f.contract.agency.users if u.is_enabled])
    assert run_delivery_deadlines(china(date(2026, 6, 24))) == 0  # 4 working days left
    assert run_delivery_deadlines(china(date(2026, 6, 25))) == 1  # Thu: 3 left (Fri, Mon, Tue)
    assert run_delivery_deadlines(china(date(2026, 6, 25), 18)) == 0
    assert run_delivery_deadlines(china(date(2026, 6, 27))) == 0  # Saturday: still 2 left, sent
    assert len(_notes("delivery.reminder")) == agency_users
    note = _notes("delivery.reminder")[0]
    assert note.user.organisation_id == f.contract.agency_org_id
    assert run_delivery_deadlines(china(date(2026, 6, 29))) == 1  # Mon: 1 left
    assert run_delivery_deadlines(china(date(2026, 6, 29), 20)) == 0
    assert len(_notes("delivery.reminder_last")) == agency_users
    assert run_delivery_deadlines(china(due)) == 0  # the due day: nothing more
    # the enterprise gets no reminder
    assert all(n.user.organisation_id == f.contract.agency_org_id
               for n in _notes("delivery.reminder") + _notes("delivery.reminder_last"))


def test_a_late_job_sends_only_the_most_urgent_reminder_and_a_new_due_date_its_own(db, in_force):
    f = in_force
    due = date(2026, 6, 30)
    delivery = f.delivery(due=due)
    assert run_delivery_deadlines(china(date(2026, 6, 29))) == 1  # first run: 1 day left
    assert _notes("delivery.reminder") == [] and len(_notes("delivery.reminder_last")) >= 1
    ext = services.propose_extension(delivery, new_due_date=date(2026, 7, 8), reason="延期",
                                     actor=f.agent, now=china(date(2026, 6, 29)))
    services.decide_extension(ext, agree=True, actor=f.owner, now=china(date(2026, 6, 29)))
    db.session.commit()
    assert run_delivery_deadlines(china(date(2026, 7, 3))) == 1  # Fri: 3 left for the new date
    assert len(_notes("delivery.reminder")) >= 1
