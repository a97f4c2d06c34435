"""Results by the inspectors drawn, publication (一公开), the pages and the state machines."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from marketplace.audit.models import AuditEvent
from marketplace.core.errors import DomainError, InvalidTransition, PermissionDenied
from marketplace.inspections import services
from marketplace.inspections.models import (
    Inspection,
    InspectionPlan,
    InspectionStatus,
    PlanStatus,
)
from marketplace.inspections.states import (
    INSPECTION_MACHINE,
    INSPECTION_TRANSITIONS,
    PLAN_MACHINE,
    PLAN_TRANSITIONS,
)

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = re.compile(r"\.\s*status\s*=(?!=)|\[\s*[\"']status[\"']\s*\]\s*=(?!=)|setattr\([^)]*[\"']status[\"']"
                        r"|\.values\([^)]*\bstatus\s*=")


def _drawn(world, **changes):
    plan = world.plan(**changes)
    services.draw_plan(plan, actor=world.regulators[0])
    return plan


def test_only_the_inspectors_drawn_record_a_result_and_then_the_results_are_published(world, db):
    plan = _drawn(world)
    first, second, third = plan.inspections
    outsider = next(u for u in world.regulators if u not in first.inspectors)
    with pytest.raises(PermissionDenied):
        services.record_result(first, result="passed", findings="", actor=outsider)
    inspector = first.inspectors[0]
    with pytest.raises(DomainError, match="required"):
        services.record_result(first, result="problems", findings=" ", actor=inspector)
    with pytest.raises(DomainError, match="Choose the result"):
        services.record_result(first, result="pending", findings="", actor=inspector)
    services.record_result(first, result="passed", findings="", actor=inspector)
    with pytest.raises(InvalidTransition):
        services.record_result(first, result="problems", findings="改口", actor=first.inspectors[1])
    services.record_result(second, result="problems", findings="收费公示与实际收费不一致。",
                           actor=second.inspectors[0])
    with pytest.raises(DomainError, match="1 inspection"):
        services.publish_results(plan, actor=world.regulators[0])
    services.record_result(third, result="referred", findings="出具虚假报告，移送惩戒。", actor=third.inspectors[1])
    services.publish_results(plan, actor=world.admin)
    assert plan.status is PlanStatus.PUBLISHED
    assert [i.status for i in plan.inspections] == [InspectionStatus.PASSED, InspectionStatus.PROBLEMS,
                                                   InspectionStatus.REFERRED]
    actions = db.session.execute(sa.select(AuditEvent.action).where(
        AuditEvent.action.like("inspection%"))).scalars().all()
    assert actions.count("inspection.passed") == 1 and "inspection_plan.published" in actions


def test_the_public_page_shows_plan_sample_proof_and_then_results(world, db, client):
    plan = _drawn(world)
    for inspection in plan.inspections:
        services.record_result(inspection, result="problems", findings=f"问题{inspection.rank}：未公示收费标准。",
                               actor=inspection.inspectors[0])
    db.session.commit()
    page = client.get(f"/inspections/{plan.id}").get_data(as_text=True)
    assert plan.title in page and plan.agency_seed in page and plan.agency_commitment in page
    assert all(i.organisation.name in page for i in plan.inspections)
    assert "问题1" not in page and "Published when every inspection is done" in page
    assert client.get(f"/inspections/{plan.id}.json").get_json()["inspections"][0]["result"] is None
    assert plan.reference in client.get("/inspections").get_data(as_text=True)

    services.publish_results(plan, actor=world.regulators[2])
    db.session.commit()
    page = client.get(f"/inspections/{plan.id}").get_data(as_text=True)
    assert "问题1" in page and "Problems found" in page
    assert client.get(f"/inspections/{plan.id}.json").get_json()["inspections"][0]["result"] == "problems"


def test_a_draft_stays_private(world, db, client):
    plan = world.plan()
    db.session.commit()
    assert client.get(f"/inspections/{plan.id}").status_code == 404
    assert client.get(f"/inspections/{plan.id}.json").status_code == 404
    assert plan.reference not in client.get("/inspections").get_data(as_text=True)


def test_the_regulators_desk_from_plan_to_publication(world, db, browser, login_as, client):
    db.session.commit()
    login_as(world.regulators[0])
    resp = browser.post("/regulator/inspections/new", {
        "title": "", "scope": "all", "service_item_id": 0, "agency_sample_size": 2, "inspector_count": 2,
        "inspectors_per_check": 1})
    assert resp.status_code == 200 and db.session.execute(sa.select(sa.func.count(InspectionPlan.id))).scalar() == 0
    resp = browser.post("/regulator/inspections/new", {
        "title": "环评机构专项抽查", "scope": "service_item", "service_item_id": world.item.id,
        "agency_sample_size": 2, "inspector_count": 2, "inspectors_per_check": 1}, follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert "The plan is saved as a draft" in page and "4 agencies in the pool today" in page
    plan = db.session.execute(sa.select(InspectionPlan)).scalar_one()
    url = f"/regulator/inspections/{plan.id}"
    resp = browser.post(f"{url}/draw", form_url=url, follow_redirects=True)
    assert "The draw is made and published" in resp.get_data(as_text=True)
    db.session.refresh(plan)
    assert plan.status is PlanStatus.DRAWN and len(plan.inspections) == 2
    for inspection in plan.inspections:
        login_as(inspection.inspectors[0])
        assert inspection.organisation.name in client.get("/regulator/inspections").get_data(as_text=True)
        prefix = f"r{inspection.id}"
        resp = browser.post(f"{url}/inspections/{inspection.id}/result",
                            {f"{prefix}-result": "referred", f"{prefix}-findings": ""}, form_url=url)
        assert "This field is required." in resp.get_data(as_text=True)
        resp = browser.post(f"{url}/inspections/{inspection.id}/result",
                            {f"{prefix}-result": "referred", f"{prefix}-findings": "超出承诺时限未办结。"},
                            form_url=url, follow_redirects=True)
        assert "The result is on record." in resp.get_data(as_text=True)
    resp = browser.post(f"{url}/publish", form_url=url, follow_redirects=True)
    assert "The results are published" in resp.get_data(as_text=True)
    assert "超出承诺时限未办结。" in client.get(f"/inspections/{plan.id}").get_data(as_text=True)


def test_only_regulators_open_the_desk(world, db, client, login_as):
    from marketplace.accounts.models import Role
    from tests.factories import UserFactory

    plan = world.plan()
    db.session.commit()
    login_as(UserFactory(organisation=world.kunming[0], role=Role.AGENCY_STAFF))
    assert client.get("/regulator/inspections").status_code == 403
    assert client.get(f"/regulator/inspections/{plan.id}").status_code == 403


def _pairs(table):
    return list(itertools.product(list(table), repeat=2))


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


@pytest.mark.parametrize(("src", "dst"), _pairs(PLAN_TRANSITIONS), ids=lambda s: s.value)
def test_plan_transition_pair(world, db, src, dst):
    plan = _drawn(world) if src is not PlanStatus.DRAFT and src is not PlanStatus.CANCELLED else world.plan()
    plan.published_at = plan.drawn_at or plan.created_at
    if src is PlanStatus.PUBLISHED:
        PLAN_MACHINE.transition(plan, PlanStatus.PUBLISHED, actor="test")
    if src is PlanStatus.CANCELLED:
        PLAN_MACHINE.transition(plan, PlanStatus.CANCELLED, actor="test")
    if dst is PlanStatus.DRAWN:  # the data a drawn plan must carry
        plan.drawn_at, plan.drawn_by_id = plan.created_at, world.regulators[0].id
        plan.agency_list_hash = plan.inspector_list_hash = "0" * 64
    _check(PLAN_MACHINE, PLAN_TRANSITIONS, plan, src, dst, db)


@pytest.mark.parametrize(("src", "dst"), _pairs(INSPECTION_TRANSITIONS), ids=lambda s: s.value)
def test_inspection_transition_pair(world, db, src, dst):
    plan = _drawn(world)
    inspection = plan.inspections[0]
    inspection.recorded_by_id, inspection.recorded_at, inspection.findings = world.regulators[0].id, plan.drawn_at, "x"
    if src is not InspectionStatus.PENDING:
        INSPECTION_MACHINE.transition(inspection, src, actor="test")
    _check(INSPECTION_MACHINE, INSPECTION_TRANSITIONS, inspection, src, dst, db)


def test_database_refuses_a_result_without_its_inspector(world, db):
    plan = _drawn(world)
    db.session.commit()
    with pytest.raises(sa.exc.IntegrityError):
        INSPECTION_MACHINE.transition(plan.inspections[0], InspectionStatus.PASSED, actor="test")
    db.session.rollback()
    assert db.session.get(Inspection, plan.inspections[0].id).status is InspectionStatus.PENDING


def test_only_the_state_machines_assign_a_status():
    found = []
    for package in ("inspections", "independence"):
        for path in sorted((ROOT / "marketplace" / package).rglob("*.py")):
            for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if ASSIGNMENT.search(line.split("#", 1)[0]):
                    found.append(f"{path.name}:{lineno}")
    assert found == []


def test_pages_name_the_scope(world, db, client, login_as):
    by_region = _drawn(world, scope="region", region_code="530100", agency_sample_size=2)
    by_item = _drawn(world, scope="service_item", service_item_id=world.item.id, agency_sample_size=2)
    db.session.commit()
    listing = client.get("/inspections").get_data(as_text=True)
    assert "云南省昆明市" in listing and world.item.name in listing
    assert "云南省昆明市" in client.get(f"/inspections/{by_region.id}").get_data(as_text=True)
    login_as(world.regulators[0])
    assert world.item.name in client.get(f"/regulator/inspections/{by_item.id}").get_data(as_text=True)


def test_a_draft_is_edited_then_cancelled_with_a_reason(world, db, browser, login_as, client):
    plan = world.plan()
    db.session.commit()
    login_as(world.regulators[1])
    url = f"/regulator/inspections/{plan.id}"
    page = client.get(f"{url}/edit").get_data(as_text=True)
    assert plan.title in page
    resp = browser.post(f"{url}/edit", {
        "title": "改为按地区抽查", "scope": "region", "service_item_id": 0, "region_code": "abc",
        "agency_sample_size": 2, "inspector_count": 2, "inspectors_per_check": 1})
    assert "six-digit administrative division code" in resp.get_data(as_text=True)
    resp = browser.post(f"{url}/edit", {
        "title": "改为按地区抽查", "scope": "region", "service_item_id": 0, "region_code": "370000",
        "agency_sample_size": 2, "inspector_count": 2, "inspectors_per_check": 1}, follow_redirects=True)
    assert "3 agencies in the pool today" in resp.get_data(as_text=True)
    resp = browser.post(f"{url}/cancel", {"cancel-reason": ""}, form_url=url)
    assert "This field is required." in resp.get_data(as_text=True)
    resp = browser.post(f"{url}/cancel", {"cancel-reason": "与专项检查重复。"}, form_url=url, follow_redirects=True)
    assert "The plan is cancelled." in resp.get_data(as_text=True)
    db.session.refresh(plan)
    assert plan.status is PlanStatus.CANCELLED and plan.region_code == "370000"
    resp = browser.post(f"{url}/draw", form_url=url, follow_redirects=True)
    assert "This plan was cancelled; it cannot be drawn." in resp.get_data(as_text=True)
    db.session.refresh(plan)
    assert plan.status is PlanStatus.CANCELLED
