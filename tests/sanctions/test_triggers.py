"""Automatic triggers: a proposal (never a sanction) for an agency at the threshold grade, tied to
the contracts and approval cases where its low ratings and overruns arose; once per run of facts."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from marketplace.credit.services import credit_grade_for, record_credit_input
from marketplace.notifications.models import Notification
from marketplace.sanctions.jobs import run_sanction_triggers
from marketplace.sanctions.models import SanctionCase, SanctionKind, SanctionStatus
from marketplace.sanctions.services import withdraw_sanction
from tests.sanctions.conftest import NOW


def _refs(n: int) -> list[tuple[str, int, str]]:
    return [("contract", 100 + n, f"ZJHT-2026-{n:06d}-1"), ("approval_case", 200 + n, f"SP2026{n:06d}")]


def _grade_d(agency) -> None:
    """Two poorly rated contracts, one of them late: grade D."""
    record_credit_input(agency, "rating_enterprise", value="1.4", refs=[*_refs(1), ("rating", 7, "enterprise")],
                        now=NOW - timedelta(days=20))
    record_credit_input(agency, "overrun_days", value=3, refs=_refs(1), now=NOW - timedelta(days=20))
    record_credit_input(agency, "rating_approval_office", value=1, refs=_refs(2), now=NOW - timedelta(days=2))
    assert credit_grade_for(agency.id) == "D"


def _cases(db, agency) -> list[SanctionCase]:
    return list(db.session.execute(
        sa.select(SanctionCase).where(SanctionCase.organisation_id == agency.id).order_by(SanctionCase.id)
    ).scalars())


def test_grade_d_opens_one_proposal_with_its_contracts_and_cases(db, world):
    _grade_d(world.agency)
    assert run_sanction_triggers(NOW) == 1
    [case] = _cases(db, world.agency)
    assert (case.kind, case.status, case.proposer_id) == (SanctionKind.WARNING, SanctionStatus.PROPOSED, None)
    assert (case.trigger_code, case.ground_code) == ("credit_grade", "low_credit_grade")
    # the evidence: where the facts arose, newest first, each once (no rating rows)
    assert [(e.object_type.value, e.object_id, e.note) for e in case.evidence] == [
        ("contract", "102", "ZJHT-2026-000002-1"), ("approval_case", "202", "SP2026000002"),
        ("contract", "101", "ZJHT-2026-000001-1"), ("approval_case", "201", "SP2026000001"),
    ]
    told = {n.user_id for n in db.session.execute(
        sa.select(Notification).where(Notification.kind == "sanctions.system_proposal")).scalars()}
    assert told == {world.r1.id, world.r2.id, world.r3.id}
    # the same facts never open a second proposal, even once the first is withdrawn
    assert run_sanction_triggers(NOW + timedelta(hours=1)) == 0
    withdraw_sanction(case, actor=world.r1, reason="已另行立案", now=NOW + timedelta(hours=1))
    assert run_sanction_triggers(NOW + timedelta(hours=2)) == 0
    assert len(_cases(db, world.agency)) == 1


def test_an_excluded_agency_is_left_to_the_regulators(db, world):
    world.decided("suspension")
    _grade_d(world.agency)
    assert run_sanction_triggers(NOW) == 0
    assert [c.kind for c in _cases(db, world.agency)] == [SanctionKind.SUSPENSION]


def test_the_rule_is_switched_off_by_an_empty_grade(app, db, world, monkeypatch):
    monkeypatch.setitem(app.config, "SANCTION_TRIGGER_GRADE", "")
    _grade_d(world.agency)
    assert run_sanction_triggers(NOW) == 0
    assert _cases(db, world.agency) == []
