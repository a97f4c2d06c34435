"""Every (from, to) pair of both lifecycles; nothing but the state machine assigns a status."""

import itertools
import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from marketplace.audit.models import AuditEvent
from marketplace.core.errors import ConcurrentUpdate, InvalidTransition
from marketplace.sanctions.models import RepairRequest, RepairStatus, SanctionKind, SanctionStatus
from marketplace.sanctions.states import (
    REPAIR_MACHINE,
    REPAIR_TRANSITIONS,
    SANCTION_MACHINE,
    TRANSITIONS,
)
from tests.factories import RegulatorFactory, SanctionCaseFactory
from tests.sanctions.conftest import NOW, TODAY

ROOT = Path(__file__).resolve().parents[2]
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
            if ASSIGNMENT.search(line.split("#", 1)[0]):
                found.append(f"{path.relative_to(ROOT)}:{lineno}: {line.strip()}")
    return found


def _complete_case(status):
    """A case whose data satisfies every status's CHECK constraints."""
    return SanctionCaseFactory(
        status=status, kind=SanctionKind.SUSPENSION, decider=RegulatorFactory(), decided_at=NOW,
        notified_at=NOW, response_deadline=TODAY + timedelta(days=7), start_date=TODAY,
        end_date=TODAY + timedelta(days=60), appealed_at=NOW, appeal_text="x",
        appeal_decider=RegulatorFactory(), appeal_decided_at=NOW,
    )


def _pairs(table):
    return list(itertools.product(list(table), repeat=2))


def _check(machine, table, obj, src, dst, db):
    before = db.session.execute(sa.select(sa.func.count(AuditEvent.seq))).scalar()
    if dst in table[src]:
        machine.transition(obj, dst, actor="test")
        db.session.refresh(obj)
        assert obj.status is dst
        event = db.session.execute(sa.select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
        assert event.action.endswith(f".{dst.value}")
        assert db.session.execute(sa.select(sa.func.count(AuditEvent.seq))).scalar() == before + 1
    else:
        with pytest.raises(InvalidTransition):
            machine.transition(obj, dst, actor="test")
        assert obj.status is src


@pytest.mark.parametrize(("src", "dst"), _pairs(TRANSITIONS), ids=lambda s: s.value)
def test_sanction_transition_pair(db, src, dst):
    _check(SANCTION_MACHINE, TRANSITIONS, _complete_case(src), src, dst, db)


@pytest.mark.parametrize(("src", "dst"), _pairs(REPAIR_TRANSITIONS), ids=lambda s: s.value)
def test_repair_transition_pair(db, src, dst):
    case = _complete_case(SanctionStatus.DECIDED)
    req = RepairRequest(case_id=case.id, organisation_id=case.organisation_id, text="已整改", status=src,
                        decided_by_id=case.decider_id, decided_at=NOW)
    db.session.add(req)
    db.session.flush()
    _check(REPAIR_MACHINE, REPAIR_TRANSITIONS, req, src, dst, db)


def test_every_status_is_in_the_tables():
    assert set(TRANSITIONS) == set(SanctionStatus)
    assert set(REPAIR_TRANSITIONS) == set(RepairStatus)


def test_a_stale_copy_loses(db):
    case = _complete_case(SanctionStatus.NOTIFIED)
    db.session.commit()
    SANCTION_MACHINE.transition(case, SanctionStatus.DECIDED, actor="first")
    db.session.commit()
    case.__dict__["status"] = SanctionStatus.NOTIFIED  # what a slower reader still believes
    with pytest.raises(ConcurrentUpdate):
        SANCTION_MACHINE.transition(case, SanctionStatus.WITHDRAWN, actor="second")


def test_database_refuses_a_decision_without_a_decider(db):
    case = SanctionCaseFactory(status=SanctionStatus.NOTIFIED, notified_at=NOW,
                               response_deadline=TODAY, kind=SanctionKind.SUSPENSION)
    db.session.commit()
    with pytest.raises(sa.exc.IntegrityError):
        SANCTION_MACHINE.transition(case, SanctionStatus.DECIDED, actor="test")
    db.session.rollback()


def test_database_refuses_a_suspension_decided_without_notice(db):
    case = SanctionCaseFactory(status=SanctionStatus.PROPOSED, kind=SanctionKind.SUSPENSION,
                               decider=RegulatorFactory(), decided_at=NOW)
    db.session.commit()
    with pytest.raises(sa.exc.IntegrityError):
        SANCTION_MACHINE.transition(case, SanctionStatus.DECIDED, actor="test")
    db.session.rollback()


def test_only_the_state_machine_assigns_a_status():
    for package in ("sanctions", "credit"):
        assert _offending_lines(sorted((ROOT / "marketplace" / package).rglob("*.py"))) == [], package
    assert ASSIGNMENT.search("obj.status = x")
