"""Every (from, to) pair of both lifecycles; each move belongs to one role or the job runner."""

import itertools
import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from marketplace.audit.models import AuditEvent
from marketplace.complaints.models import (
    Complaint,
    ComplaintCategory,
    ComplaintKind,
    ComplaintStatus,
    Objection,
    ObjectionStatus,
    UpheldAgainst,
)
from marketplace.complaints.states import (
    COMPLAINT_ACTORS,
    COMPLAINT_MACHINE,
    COMPLAINT_TRANSITIONS,
    OBJECTION_ACTORS,
    OBJECTION_MACHINE,
    OBJECTION_TRANSITIONS,
)
from marketplace.core.errors import InvalidTransition

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = re.compile(r"\.\s*status\s*=(?!=)|\[\s*[\"']status[\"']\s*\]\s*=(?!=)|\.values\([^)]*\bstatus\s*=")


def _pairs(table):
    return list(itertools.product(list(table), repeat=2))


def _objection(world, status):
    now = world.during()
    obj = Objection(request_id=world.req.id, objector_org_id=world.s.agencies[0].id,
                    award_org_id=world.winner.id, grounds="理由", status=status, submitted_at=now,
                    answer_deadline=now + timedelta(days=3), answer_text="答复", answered_at=now,
                    escalation_deadline=now + timedelta(days=5))
    from marketplace.extensions import db

    db.session.add(obj)
    db.session.flush()
    return obj


def _complaint(world, status):
    now = world.during()
    c = Complaint(kind=ComplaintKind.SERVICE, category=ComplaintCategory.LATENESS, request_id=world.req.id,
                  complainant_org_id=world.s.enterprise.id, agency_org_id=world.winner.id,
                  enterprise_org_id=world.s.enterprise.id, grounds="逾期", status=status, submitted_at=now,
                  acceptance_deadline=now, accepted_at=now, decision_deadline=now, decided_at=now,
                  decision_text="决定", rejection_reason="理由", upheld_against=UpheldAgainst.AGENCY,
                  withdrawn_at=now)
    from marketplace.extensions import db

    db.session.add(c)
    db.session.flush()
    return c


def _check(machine, table, obj, src, dst, db):
    before = db.session.execute(sa.select(sa.func.count(AuditEvent.seq))).scalar()
    if dst in table[src]:
        machine.transition(obj, dst, actor="test")
        db.session.refresh(obj)
        assert obj.status is dst
        assert db.session.execute(sa.select(sa.func.count(AuditEvent.seq))).scalar() == before + 1
    else:
        with pytest.raises(InvalidTransition):
            machine.transition(obj, dst, actor="test")
        assert obj.status is src


@pytest.mark.parametrize(("src", "dst"), _pairs(OBJECTION_TRANSITIONS), ids=lambda s: s.value)
def test_objection_transition_pair(world, db, src, dst):
    _check(OBJECTION_MACHINE, OBJECTION_TRANSITIONS, _objection(world, src), src, dst, db)


@pytest.mark.parametrize(("src", "dst"), _pairs(COMPLAINT_TRANSITIONS), ids=lambda s: s.value)
def test_complaint_transition_pair(world, db, src, dst):
    _check(COMPLAINT_MACHINE, COMPLAINT_TRANSITIONS, _complaint(world, src), src, dst, db)


def test_every_transition_has_its_actor():
    for table, actors in ((OBJECTION_TRANSITIONS, OBJECTION_ACTORS), (COMPLAINT_TRANSITIONS, COMPLAINT_ACTORS)):
        moves = {(src, dst) for src, targets in table.items() for dst in targets}
        assert moves == set(actors)
        assert all(actors[m] <= {"objector", "enterprise", "complainant", "regulator", "job"} for m in moves)


def test_nothing_but_the_state_machine_assigns_a_status():
    found = []
    for path in sorted((ROOT / "marketplace" / "complaints").glob("*.py")):
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if ASSIGNMENT.search(line.split("#", 1)[0]):
                found.append(f"{path.name}:{lineno}: {line.strip()}")
    assert found == []


def test_statuses_have_labels():
    assert all(str(s.label) for s in ObjectionStatus)
    assert all(str(s.label) for s in ComplaintStatus)
