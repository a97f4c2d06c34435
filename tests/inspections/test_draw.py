"""The double random draw: committed seeds, frozen pools, recomputable with docs/verify_draw.py."""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Role
from marketplace.audit.models import AuditEvent
from marketplace.core.errors import DomainError, InvalidTransition, PermissionDenied
from marketplace.inspections import services
from marketplace.inspections.models import InspectionPlan, PlanStatus
from marketplace.procurement.selection import draw_commitment
from tests.factories import UserFactory

VERIFIER = Path(__file__).resolve().parents[2] / "docs" / "verify_draw.py"


def load_verifier():
    spec = importlib.util.spec_from_file_location("verify_draw", VERIFIER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _events(db, plan) -> list[AuditEvent]:
    return list(db.session.execute(
        sa.select(AuditEvent).where(AuditEvent.object_type == "inspection_plans",
                                    AuditEvent.object_id == str(plan.id)).order_by(AuditEvent.seq)
    ).scalars())


def test_the_seeds_are_committed_at_creation_and_revealed_by_the_draw(world, db):
    plan = world.plan()
    created = _events(db, plan)[0]
    payload = json.loads(created.payload)
    assert created.action == "inspection_plan.created"
    assert payload["agency_commitment"] == draw_commitment(plan.agency_seed)
    assert plan.agency_seed not in created.payload and plan.inspector_seed not in created.payload
    services.draw_plan(plan, actor=world.regulators[1])
    drawn = _events(db, plan)[-1]
    assert drawn.action == "inspection_plan.drawn" and drawn.seq > created.seq
    assert json.loads(drawn.payload)["agency_seed"] == plan.agency_seed


def test_the_published_draw_recomputes_with_the_verifier(world, db, client):
    plan = world.plan(agency_sample_size=3, inspector_count=3, inspectors_per_check=2)
    services.draw_plan(plan, actor=world.regulators[0])
    db.session.commit()
    data = client.get(f"/inspections/{plan.id}.json").get_json()
    verifier = load_verifier()
    assert verifier.verify_inspection_plan(data) == []

    # the sample is exactly what the recomputation gives, and what the page shows
    active = sorted(o.id for o in world.kunming + world.jinan)
    assert data["draws"]["agencies"]["bidders"] == active  # the idle agency is not in the pool
    recomputed = [i for _, i, _ in verifier.ranking(plan.agency_seed, active)][:3]
    assert data["draws"]["agencies"]["sample"] == recomputed
    assert [i.organisation_id for i in plan.inspections] == recomputed
    inspectors = sorted(u.id for u in world.regulators)
    team = [i for _, i, _ in verifier.ranking(plan.inspector_seed, inspectors)][:3]
    assert sorted(m.user_id for m in plan.inspectors) == sorted(team)
    for inspection in plan.inspections:
        ranks = verifier.assigned_ranks(inspection.rank, 3, 2)
        assert sorted(u.id for u in inspection.inspectors) == sorted(team[r - 1] for r in ranks)

    # any tampering is caught
    for path, value in ((("agencies", "sample"), list(reversed(recomputed))),
                        (("inspectors", "seed"), "00" * 32),
                        (("agencies", "bidders"), active[:-1])):
        forged = copy.deepcopy(data)
        forged["draws"][path[0]][path[1]] = value
        assert verifier.verify_inspection_plan(forged)
    forged = copy.deepcopy(data)
    forged["inspections"][0]["inspector_ranks"] = [1, 3] if data["inspections"][0]["inspector_ranks"] != [1, 3] else [2, 3]
    assert verifier.verify_inspection_plan(forged)


def test_the_verifier_script_runs_on_the_json(world, db, client, tmp_path):
    plan = world.plan()
    services.draw_plan(plan, actor=world.regulators[0])
    db.session.commit()
    path = tmp_path / "plan.json"
    path.write_bytes(client.get(f"/inspections/{plan.id}.json").data)
    done = subprocess.run([sys.executable, str(VERIFIER), str(path)], capture_output=True, text=True,  # noqa: S603
                          check=False)
    assert done.returncode == 0 and "OK: commitments, pools, rankings, samples and assignments all match." in done.stdout


@pytest.mark.parametrize(("scope", "changes", "expected"), [
    ("service_item", {}, "kunming"),
    ("region", {"region_code": "370000"}, "jinan"),
    ("region", {"region_code": "530102"}, "kunming"),
])
def test_the_pool_follows_the_scope(world, db, scope, changes, expected):
    if scope == "service_item":
        changes = {"service_item_id": world.item.id}
    plan = world.plan(scope=scope, agency_sample_size=10, **changes)
    services.draw_plan(plan, actor=world.regulators[0])
    assert sorted(plan.pool("agencies")) == sorted(o.id for o in getattr(world, expected))
    assert len(plan.inspections) == len(getattr(world, expected))  # the sample is capped by the pool


def test_a_plan_is_drawn_once_and_never_cancelled_after(world, db):
    plan = world.plan()
    services.draw_plan(plan, actor=world.regulators[0])
    with pytest.raises(InvalidTransition, match="already been drawn"):
        services.draw_plan(plan, actor=world.regulators[1])
    with pytest.raises(InvalidTransition):
        services.cancel_plan(plan, reason="样本不理想", actor=world.regulators[0])
    with pytest.raises(InvalidTransition):
        services.update_plan(plan, world.plan_input(agency_sample_size=1), actor=world.regulators[0])


def test_bad_plans_are_refused(world, db):
    db.session.commit()
    cases = [
        ({"title": ""}, "required"),
        ({"scope": "everyone"}, "Choose which agencies"),
        ({"scope": "service_item"}, "Choose a service item"),
        ({"scope": "region", "region_code": "999999"}, "six-digit"),
        ({"agency_sample_size": 0}, "between 1 and"),
        ({"inspector_count": 1, "inspectors_per_check": 2}, "at least as many inspectors"),
    ]
    for changes, message in cases:
        with pytest.raises(DomainError, match=message):
            world.plan(**changes)
    with pytest.raises(PermissionDenied):
        world.plan(by=UserFactory(organisation=world.kunming[0], role=Role.AGENCY_STAFF))
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count(InspectionPlan.id))).scalar() == 0


def test_an_empty_pool_or_too_few_regulators_refuse_the_draw(world, db):
    plan = world.plan(scope="region", region_code="110000")
    with pytest.raises(DomainError, match="No active agency"):
        services.draw_plan(plan, actor=world.regulators[0])
    big = world.plan(inspector_count=5, inspectors_per_check=5)
    with pytest.raises(DomainError, match="fewer regulators"):
        services.draw_plan(big, actor=world.regulators[0])
    assert plan.status is PlanStatus.DRAFT and big.status is PlanStatus.DRAFT
