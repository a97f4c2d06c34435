"""Every (from, to) pair of the delivery and extension lifecycles; the race; no status assignment."""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from marketplace.audit.models import AuditEvent
from marketplace.core.db import utcnow
from marketplace.core.errors import ConcurrentUpdate, InvalidTransition
from marketplace.delivery.models import DeliveryExtension, DeliveryStatus, ExtensionStatus
from marketplace.delivery.states import (
    DELIVERY_MACHINE,
    DELIVERY_TRANSITIONS,
    EXTENSION_MACHINE,
    EXTENSION_TRANSITIONS,
)
from marketplace.extensions import db as _db
from tests.procurement.test_states import _offending_lines

ROOT = Path(__file__).resolve().parents[2]


def _count() -> int:
    return _db.session.execute(sa.select(sa.func.count(AuditEvent.seq))).scalar()


def _check(machine, table, obj, src, dst):
    before = _count()
    if dst in table[src]:
        machine.transition(obj, dst, actor="test")
        _db.session.refresh(obj)
        assert obj.status is dst and _count() == before + 1
    else:
        with pytest.raises(InvalidTransition):
            machine.transition(obj, dst, actor="test")
        assert obj.status is src and _count() == before


def _delivery(in_force, status):
    delivery = in_force.delivery()
    # Test data only: put the row in ``status`` with what its CHECK constraints require.
    _db.session.execute(sa.update(type(delivery)).where(type(delivery).id == delivery.id).values(
        {"status": status, "accepted_at": utcnow(), "accepted_version": 1, "overrun_days": 0}))
    _db.session.expire_all()
    return _db.session.get(type(delivery), delivery.id)


@pytest.mark.parametrize(("src", "dst"), list(itertools.product(list(DeliveryStatus), repeat=2)),
                         ids=lambda s: s.value)
def test_delivery_transition_pair(db, in_force, src, dst):
    _check(DELIVERY_MACHINE, DELIVERY_TRANSITIONS, _delivery(in_force, src), src, dst)


@pytest.mark.parametrize(("src", "dst"), list(itertools.product(list(ExtensionStatus), repeat=2)),
                         ids=lambda s: s.value)
def test_extension_transition_pair(db, in_force, src, dst):
    delivery = in_force.delivery(due=date(2026, 6, 30))
    ext = DeliveryExtension(delivery_id=delivery.id, status=src, proposed_by_org_id=delivery.agency_org_id,
                            proposed_by_id=in_force.agent.id, current_due_date=date(2026, 6, 30),
                            proposed_due_date=date(2026, 7, 3), reason="r", decided_at=utcnow())
    _db.session.add(ext)
    _db.session.flush()
    _check(EXTENSION_MACHINE, EXTENSION_TRANSITIONS, ext, src, dst)


def test_every_status_is_in_the_tables():
    assert set(DELIVERY_TRANSITIONS) == set(DeliveryStatus)
    assert set(EXTENSION_TRANSITIONS) == set(ExtensionStatus)


def test_a_stale_delivery_loses_the_race(db, in_force):
    delivery = _delivery(in_force, DeliveryStatus.SUBMITTED)
    db.session.commit()
    DELIVERY_MACHINE.transition(delivery, DeliveryStatus.ACCEPTED, actor="first")
    db.session.commit()
    delivery.__dict__["status"] = DeliveryStatus.SUBMITTED  # what a slower reader still believes
    with pytest.raises(ConcurrentUpdate):
        DELIVERY_MACHINE.transition(delivery, DeliveryStatus.REVISION_REQUESTED, actor="second")


def test_only_the_state_machine_assigns_a_status():
    assert _offending_lines(sorted((ROOT / "marketplace" / "delivery").rglob("*.py"))) == []
