"""Every (from, to) pair of each lifecycle: allowed moves succeed with an audit event, others refuse."""

import itertools
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from marketplace.audit.models import AuditEvent
from marketplace.core.db import utcnow
from marketplace.core.errors import ConcurrentUpdate, InvalidTransition
from marketplace.extensions import db as _db
from marketplace.procurement.models import Bid, BidStatus, CaseStatus, RequestStatus
from marketplace.procurement.states import (
    BID_MACHINE,
    BID_TRANSITIONS,
    CASE_MACHINE,
    CASE_TRANSITIONS,
    REQUEST_MACHINE,
    REQUEST_TRANSITIONS,
)
from tests.factories import AgencyFactory
from tests.factories.procurement import ApprovalCaseFactory, PurchaseRequestFactory

ROOT = Path(__file__).resolve().parents[2]


def _complete_request(status):
    """A request whose data satisfies every status's CHECK constraints."""
    agency = AgencyFactory()
    now = utcnow()
    return PurchaseRequestFactory(
        status=status, published_at=now, awarded_org_id=agency.id, awarded_price_fen=100,
        awarded_days=5, awarded_at=now, objection_deadline=now, failure_reason="x", cancel_reason="x",
    )


def _bid(status):
    req = _complete_request(RequestStatus.BIDDING_CLOSED)
    bid = Bid(request_id=req.id, agency_id=AgencyFactory().id, price_fen=100, days=3, status=status,
              seal_nonce="n", commitment="c", rejection_reason="x")
    _db.session.add(bid)
    _db.session.flush()
    return bid


def _pairs(table):
    return list(itertools.product(list(table), repeat=2))


def _check_pair(machine, table, obj, src, dst):
    allowed = dst in table[src]
    before = _db.session.execute(sa.select(sa.func.count(AuditEvent.seq))).scalar()
    if allowed:
        machine.transition(obj, dst, actor="test")
        _db.session.refresh(obj)
        assert obj.status is dst
        after = _db.session.execute(sa.select(sa.func.count(AuditEvent.seq))).scalar()
        assert after == before + 1
        event = _db.session.execute(sa.select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
        assert event.action.endswith(f".{dst.value}")
    else:
        with pytest.raises(InvalidTransition):
            machine.transition(obj, dst, actor="test")
        assert obj.status is src


@pytest.mark.parametrize(("src", "dst"), _pairs(REQUEST_TRANSITIONS), ids=lambda s: s.value)
def test_request_transition_pair(db, src, dst):
    _check_pair(REQUEST_MACHINE, REQUEST_TRANSITIONS, _complete_request(src), src, dst)


@pytest.mark.parametrize(("src", "dst"), _pairs(BID_TRANSITIONS), ids=lambda s: s.value)
def test_bid_transition_pair(db, src, dst):
    _check_pair(BID_MACHINE, BID_TRANSITIONS, _bid(src), src, dst)


@pytest.mark.parametrize(("src", "dst"), _pairs(CASE_TRANSITIONS), ids=lambda s: s.value)
def test_case_transition_pair(db, src, dst):
    _check_pair(CASE_MACHINE, CASE_TRANSITIONS, ApprovalCaseFactory(status=src), src, dst)


def test_every_status_is_in_the_tables():
    assert set(REQUEST_TRANSITIONS) == set(RequestStatus)
    assert set(BID_TRANSITIONS) == set(BidStatus)
    assert set(CASE_TRANSITIONS) == set(CaseStatus)


def test_a_stale_object_loses_the_race(db):
    """Two copies of the same request: the second move from the same state is refused."""
    req = _complete_request(RequestStatus.BIDDING_CLOSED)
    db.session.commit()
    REQUEST_MACHINE.transition(req, RequestStatus.AWARDED, actor="first")
    db.session.commit()
    stale = req
    stale.__dict__["status"] = RequestStatus.BIDDING_CLOSED  # what a slower reader still believes
    with pytest.raises(ConcurrentUpdate):
        REQUEST_MACHINE.transition(stale, RequestStatus.FAILED, actor="second")


def test_database_refuses_an_award_without_a_winner(db):
    req = PurchaseRequestFactory(status=RequestStatus.BIDDING_CLOSED, published_at=utcnow())
    db.session.commit()
    with pytest.raises(sa.exc.IntegrityError):
        REQUEST_MACHINE.transition(req, RequestStatus.AWARDED, actor="test")
    db.session.rollback()


ASSIGNMENT = re.compile(
    r"\.\s*status\s*=(?!=)"                      # obj.status = ...
    r"|\[\s*[\"']status[\"']\s*\]\s*=(?!=)"      # obj.__dict__["status"] = ...
    r"|setattr\([^)]*[\"']status[\"']"           # setattr(obj, "status", ...)
    r"|\.values\([^)]*\bstatus\s*="              # update(...).values(status=...)
)


def _offending_lines(paths):
    found = []
    for path in paths:
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if ASSIGNMENT.search(code):
                found.append(f"{path.relative_to(ROOT)}:{lineno}: {line.strip()}")
    return found


def test_only_the_state_machine_assigns_a_status():
    """Procurement changes statuses only through StateMachine.transition (core/states.py)."""
    package = ROOT / "marketplace" / "procurement"
    assert _offending_lines(sorted(package.rglob("*.py"))) == []
    core = _offending_lines([ROOT / "marketplace" / "core" / "states.py"])
    assert core, "the grep no longer recognises the state machine's own assignment"


def test_no_module_writes_a_procurement_status_in_sql():
    """Nowhere in the application is a status set by a bulk UPDATE except in the state machine."""
    offending = [
        line for line in _offending_lines(sorted((ROOT / "marketplace").rglob("*.py")))
        if ".values(" in line and not line.startswith("marketplace/core/states.py")
    ]
    assert offending == []
