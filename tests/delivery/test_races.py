"""Simultaneous moves on PostgreSQL with real threads: exactly one wins, the others are refused."""

from __future__ import annotations

import threading

import pytest

from marketplace.accounts.models import Role, User
from marketplace.contracts.models import ContractStatus
from marketplace.contracts.states import CONTRACT_MACHINE
from marketplace.core.errors import DomainError
from marketplace.delivery import services
from marketplace.delivery.models import Delivery, DeliveryStatus
from marketplace.extensions import db as _db
from tests.delivery.conftest import PDF, upload
from tests.factories import UserFactory


def _race(app, delivery_id: int, jobs) -> list[str]:
    barrier = threading.Barrier(len(jobs))
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(user_id, action):
        with app.app_context():
            try:
                user = _db.session.get(User, user_id)
                delivery = _db.session.get(Delivery, delivery_id)
                barrier.wait(timeout=30)
                action(delivery, user)
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


def test_simultaneous_submissions_give_one_version(postgres, app, db, in_force):
    f = in_force
    delivery = f.delivery()
    staff = [f.agent] + [UserFactory(organisation=f.contract.agency, role=Role.AGENCY_STAFF) for _ in range(4)]
    db.session.commit()

    def submit(d, user):
        services.submit_result(d, summary=f"成果 {user.id}", files=[upload(PDF)], actor=user)

    assert _race(app, delivery.id, [(u.id, submit) for u in staff]) == ["refused"] * 4 + ["won"]
    db.session.expire_all()
    assert [s.version for s in db.session.get(Delivery, delivery.id).submissions] == [1]


def test_accept_and_revision_at_once_give_one_decision(postgres, app, db, in_force):
    f = in_force
    delivery = f.delivery()
    services.submit_result(delivery, summary="成果", files=[upload(PDF)], actor=f.agent)
    other = UserFactory(organisation=f.contract.buyer, role=Role.ENTERPRISE_STAFF)
    db.session.commit()

    def accept(d, user):
        services.accept_delivery(d, version=1, actor=user)

    def revise(d, user):
        services.request_revision(d, reason="修改", version=1, actor=user)

    assert _race(app, delivery.id, [(f.owner.id, accept), (other.id, revise)]) == ["refused", "won"]
    db.session.expire_all()
    assert db.session.get(Delivery, delivery.id).status in (DeliveryStatus.ACCEPTED,
                                                              DeliveryStatus.REVISION_REQUESTED)


def test_a_terminated_contract_takes_no_result(db, in_force):
    f = in_force
    delivery = f.delivery()
    CONTRACT_MACHINE.transition(f.contract, ContractStatus.TERMINATED, actor="test")
    with pytest.raises(DomainError, match="no longer in force"):
        services.submit_result(delivery, summary="成果", files=[upload(PDF)], actor=f.agent)
