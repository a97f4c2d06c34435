"""Simultaneous moves on PostgreSQL with real threads: exactly one wins, the others are refused."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Role, User
from marketplace.complaints import services
from marketplace.complaints.models import Complaint, ComplaintStatus, Objection
from marketplace.core.errors import DomainError
from marketplace.extensions import db as _db
from marketplace.procurement import services as procurement
from marketplace.procurement.models import PurchaseRequest
from tests.factories import RegulatorFactory, UserFactory


def _race(app, jobs) -> list[str]:
    barrier = threading.Barrier(len(jobs))
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(user_id, action):
        with app.app_context():
            try:
                user = _db.session.get(User, user_id) if user_id else None
                barrier.wait(timeout=30)
                action(user)
                _db.session.commit()
                result = "won"
            except DomainError:
                _db.session.rollback()
                result = "refused"
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                _db.session.rollback()
                result = repr(exc)
            finally:
                _db.session.remove()
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=worker, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return sorted(outcomes)


@pytest.fixture
def postgres(db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs real concurrent transactions: run with TEST_DATABASE_URL=postgresql://...")


def test_simultaneous_objections_of_one_bidder_give_one(postgres, app, db, world):
    staff = [world.objector] + [UserFactory(organisation=world.s.agencies[0], role=Role.AGENCY_STAFF)
                                for _ in range(4)]
    db.session.commit()
    req_id, now = world.req.id, world.during()

    def file(user):
        req = _db.session.get(PurchaseRequest, req_id)
        services.file_objection(req, grounds=f"质疑 {user.id}", actor=user, now=now)

    assert _race(app, [(u.id, file) for u in staff]) == ["refused"] * 4 + ["won"]
    assert db.session.execute(sa.select(sa.func.count(Objection.id))).scalar() == 1


def test_simultaneous_acceptance_and_rejection_give_one_decision(postgres, app, db, world):
    c = world.escalated()
    regulators = [world.regulator] + [RegulatorFactory(organisation=world.regulator.organisation)
                                      for _ in range(3)]
    db.session.commit()
    complaint_id = c.id

    def accept(user):
        services.accept_complaint(_db.session.get(Complaint, complaint_id), actor=user)

    def reject(user):
        services.reject_complaint(_db.session.get(Complaint, complaint_id), reason="不予受理", actor=user)

    jobs = [(r.id, accept if i % 2 else reject) for i, r in enumerate(regulators)]
    assert _race(app, jobs) == ["refused"] * 3 + ["won"]
    db.session.expire_all()
    assert db.session.get(Complaint, complaint_id).status in (ComplaintStatus.ACCEPTED, ComplaintStatus.REJECTED)


def test_an_objection_and_the_final_award_at_the_deadline_never_both_win(postgres, app, db, world):
    draft = world.objection(submit=False)
    db.session.commit()
    req_id, obj_id = world.req.id, draft.id
    deadline = world.req.objection_deadline

    def submit(user):
        # the clock of the objector still reads just before the deadline
        services.submit_objection(_db.session.get(Objection, obj_id), actor=user,
                                  now=deadline - timedelta(milliseconds=1))

    def finalise(_user):
        if not procurement.finalise_award(_db.session.get(PurchaseRequest, req_id),
                                          now=deadline + timedelta(milliseconds=1)):
            raise DomainError("not finalised")

    outcomes = _race(app, [(world.objector.id, submit), (None, finalise)])
    db.session.expire_all()
    obj = db.session.get(Objection, obj_id)
    req = db.session.get(PurchaseRequest, req_id)
    assert outcomes.count("won") >= 1
    assert not (obj.status.value == "submitted" and req.award_finalised_at is not None)
