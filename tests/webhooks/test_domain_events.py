"""Event push for objections, complaints, independence flags and random inspections.

Each real service call queues one delivery per subscribed endpoint of the organisations that may
see the change on the site, and none for anyone else unless the site shows it publicly; every
delivery carries the documented payload and a signature the published snippet verifies.
"""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
import sqlalchemy as sa

from marketplace.complaints import services as complaints
from marketplace.independence import services as independence
from marketplace.inspections import services as inspections
from marketplace.webhooks.models import WebhookDelivery, WebhookEndpoint
from marketplace.webhooks.services import create_endpoint, deliver_due
from marketplace.webhooks.signing import verify
from tests.complaints.conftest import make_world as complaints_world
from tests.factories import AgencyFactory, EnterpriseFactory, GovernmentFactory, UserFactory
from tests.independence.conftest import World as FlagWorld
from tests.inspections.conftest import make_world as inspections_world
from tests.procurement.conftest import make_scenario
from tests.webhooks.test_webhooks import FakeReceiver, _documented_verify

NEW_EVENTS = [
    "objection.submitted", "objection.answered", "objection.resolved", "objection.escalated",
    "complaint.submitted", "complaint.accepted", "complaint.rejected", "complaint.decided", "complaint.withdrawn",
    "independence_flag.raised", "independence_flag.responded", "independence_flag.lifted",
    "inspection_plan.drawn", "inspection.result_recorded", "inspection_plan.published",
]
GROUNDS = "中选单位的资质证书已过期，不符合公告要求。"


@pytest.fixture(autouse=True)
def _english_messages(english):
    """The services' messages in English."""


@pytest.fixture
def receiver(app):
    fake = FakeReceiver()
    app.extensions["webhook_sender"] = fake
    yield fake
    app.extensions.pop("webhook_sender", None)


class Hooks:
    """One endpoint per organisation, subscribed to every new event type."""

    def __init__(self, db, receiver):
        self.db, self.receiver = db, receiver
        self.secrets: dict[str, str] = {}

    def subscribe(self, *orgs) -> None:
        for org in orgs:
            user = UserFactory(organisation=org)
            endpoint, secret = create_endpoint(org, url=f"https://hooks.example.com/{org.id}",
                                               event_types=NEW_EVENTS, description="审批系统", actor=user)
            self.secrets[endpoint.url] = secret
        self.db.session.commit()

    def queued(self, event_type: str) -> dict[int, list[dict]]:
        """organisation id → the data of each delivery of ``event_type`` queued for it."""
        rows = self.db.session.execute(
            sa.select(WebhookEndpoint.organisation_id, WebhookDelivery.payload)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookDelivery.event_type == event_type)
        ).all()
        found = defaultdict(list)
        for org_id, payload in rows:
            body = json.loads(payload)
            assert body["type"] == event_type
            found[org_id].append(body["data"])
        return dict(found)

    def one_each(self, event_type: str, orgs) -> dict:
        """Exactly one delivery for each of ``orgs`` and for nobody else; the (shared) data."""
        queued = self.queued(event_type)
        assert set(queued) == {o.id for o in orgs}, (event_type, set(queued), {o.id for o in orgs})
        assert all(len(items) == 1 for items in queued.values()), event_type
        datas = [items[0] for items in queued.values()]
        assert all(d == datas[0] for d in datas)
        return datas[0]

    def deliver_and_verify(self) -> int:
        """Send every queued delivery; each arrives signed so that the documented snippet verifies it."""
        self.db.session.commit()
        before = len(self.receiver.requests)
        pending = self.db.session.execute(
            sa.select(sa.func.count(WebhookDelivery.id)).where(WebhookDelivery.delivered_at.is_(None))
        ).scalar_one()
        sent = deliver_due()
        assert sent == pending
        documented = _documented_verify()
        for url, body, headers in self.receiver.requests[before:]:
            secret = self.secrets[url]
            assert verify(secret, headers["X-Zhongjie-Signature"], body)
            assert documented(secret, headers["X-Zhongjie-Signature"], body)
            assert not documented("whsec_wrong", headers["X-Zhongjie-Signature"], body)
            assert json.loads(body)["type"] == headers["X-Zhongjie-Event"]
        assert sent == len(self.receiver.requests) - before
        return sent


@pytest.fixture
def hooks(db, receiver):
    return Hooks(db, receiver)


# --- objections ------------------------------------------------------------------------------


def test_objection_events_reach_the_objector_and_the_enterprise_only(db, hooks):
    w = complaints_world(db)
    objector, winner, other_bidder = w.s.agencies
    hooks.subscribe(objector, w.s.enterprise, winner, other_bidder, w.regulator.organisation, w.s.case.department,
                    EnterpriseFactory())
    parties = (objector, w.s.enterprise)

    obj = w.objection(grounds=GROUNDS)
    data = hooks.one_each("objection.submitted", parties)
    assert data == {
        "objection_id": obj.id, "reference": obj.reference, "status": "submitted", "request_id": w.req.id,
        "request_reference": w.req.reference, "objector_org_id": objector.id, "enterprise_org_id": w.s.enterprise.id,
        "submitted_at": obj.submitted_at.isoformat(), "answer_deadline": obj.answer_deadline.isoformat(),
        "escalation_deadline": None, "web_url": f"http://127.0.0.1:5000/objections/{obj.id}",
    }
    assert hooks.deliver_and_verify() == 2

    complaints.answer_objection(obj, text="经核查，资质证书在有效期内。", actor=w.owner, now=w.during(60))
    data = hooks.one_each("objection.answered", parties)
    assert data["status"] == "answered" and data["escalation_deadline"] == obj.escalation_deadline.isoformat()
    complaint = complaints.escalate_objection(obj, actor=w.objector, reasons="答复未附证明材料。", now=w.during(90))
    data = hooks.one_each("objection.escalated", parties)
    assert data["status"] == "escalated" and data["unanswered"] is False
    assert data["complaint_id"] == complaint.id and data["complaint_reference"] == complaint.reference

    second = complaints.file_objection(w.req, grounds="评审程序存在瑕疵。", actor=w.s.staff[2], now=w.during(40))
    complaints.answer_objection(second, text="程序合规。", actor=w.owner, now=w.during(70))
    complaints.accept_answer(second, actor=w.s.staff[2], now=w.during(80))
    resolved = hooks.one_each("objection.resolved", (other_bidder, w.s.enterprise))
    assert resolved["objection_id"] == second.id and resolved["status"] == "resolved"
    assert resolved["closed_because"] == "answer_accepted"
    assert hooks.deliver_and_verify() >= 2 * 4
    for event in ("objection.submitted", "objection.answered", "objection.escalated", "objection.resolved"):
        for items in hooks.queued(event).values():
            assert GROUNDS not in json.dumps(items, ensure_ascii=False)  # the text stays on the site


# --- complaints ------------------------------------------------------------------------------


def test_complaint_events_reach_the_parties_and_the_handling_regulators_the_decision_everyone(db, hooks):
    w = complaints_world(db)
    objector, winner, _third = w.s.agencies
    regulator_dept, other_dept = w.regulator.organisation, w.other_regulator.organisation
    stranger = EnterpriseFactory()
    hooks.subscribe(objector, winner, w.s.enterprise, regulator_dept, other_dept, w.s.case.department, stranger)

    # An escalated objection: unrouted, so every regulator's department handles it.
    complaint = w.escalated()
    parties = (objector, winner, w.s.enterprise)
    data = hooks.one_each("complaint.submitted", (*parties, regulator_dept, other_dept))
    assert data["complaint_id"] == complaint.id and data["reference"] == complaint.reference
    assert data["kind"] == "objection" and data["status"] == "submitted" and data["regulator_org_id"] is None
    assert data["complainant_org_id"] == objector.id and data["agency_org_id"] == winner.id
    assert data["web_url"].endswith(f"/complaints/{complaint.id}")
    assert GROUNDS not in json.dumps(data, ensure_ascii=False)

    complaints.accept_complaint(complaint, actor=w.regulator, now=w.during(120))
    data = hooks.one_each("complaint.accepted", (*parties, regulator_dept, other_dept))
    assert data["status"] == "accepted" and data["decision_deadline"] == complaint.decision_deadline.isoformat()
    decision = "经查，中选单位资质证书确已过期，投诉成立。"
    complaints.decide_complaint(complaint, upheld=True, against="agency", remedy="none", text=decision,
                                actor=w.regulator, now=w.during(150))
    public = hooks.one_each("complaint.decided",
                            (*parties, regulator_dept, other_dept, w.s.case.department, stranger))
    assert public == {
        "complaint_id": complaint.id, "reference": complaint.reference, "kind": "objection", "status": "upheld",
        "request_id": w.req.id, "request_reference": w.req.reference, "upheld_against": "agency", "remedy": "none",
        "decided_at": complaint.decided_at.isoformat(), "decision_text": decision,
        "web_url": f"http://127.0.0.1:5000/announcements/{w.req.id}#complaint-outcomes",
    }
    assert hooks.deliver_and_verify() >= 5 + 5 + 7

    # Routed service complaints: the routed department only.
    complaints.set_route(w.s.item.id, regulator_dept.id, actor=w.admin)
    rejected = complaints.file_service_complaint(w.req, category="lateness", grounds="逾期未提交成果。",
                                                 actor=w.owner, now=w.during(200))
    routed = (w.s.enterprise, winner, regulator_dept)
    queued = hooks.queued("complaint.submitted")
    assert {o for o, items in queued.items() if any(d["complaint_id"] == rejected.id for d in items)} == {
        o.id for o in routed}
    complaints.reject_complaint(rejected, reason="不属于本部门受理范围。", actor=w.regulator, now=w.during(210))
    data = hooks.one_each("complaint.rejected", routed)
    assert data["complaint_id"] == rejected.id and data["kind"] == "service" and data["category"] == "lateness"
    assert data["status"] == "rejected" and data["regulator_org_id"] == regulator_dept.id
    assert "不属于本部门受理范围" not in json.dumps(data, ensure_ascii=False)

    withdrawn = complaints.file_service_complaint(w.req, category="poor_work", grounds="成果质量差。",
                                                  actor=w.owner, now=w.during(220))
    complaints.withdraw_complaint(withdrawn, reason="已协商解决。", actor=w.owner, now=w.during(230))
    data = hooks.one_each("complaint.withdrawn", routed)
    assert data["complaint_id"] == withdrawn.id and data["status"] == "withdrawn"
    assert hooks.deliver_and_verify() >= 3 * 4


# --- independence flags ---------------------------------------------------------------------


def test_flag_events_reach_the_agency_and_the_regulators_never_the_public(db, hooks):
    from tests.factories import RegulatorFactory

    s = make_scenario(db)
    regulators_dept = GovernmentFactory(name="测试市市场监督管理局")
    w = FlagWorld(s, RegulatorFactory(organisation=regulators_dept), RegulatorFactory(organisation=regulators_dept))
    agency, department = s.agencies[0], s.case.department
    hooks.subscribe(agency, regulators_dept, department, s.agencies[1], AgencyFactory())
    audience = (agency, regulators_dept)

    flag = w.flag()
    data = hooks.one_each("independence_flag.raised", audience)
    assert data == {
        "flag_id": flag.id, "reference": flag.reference, "status": "active",
        "agency": {"id": agency.id, "name": agency.name}, "department": {"id": department.id, "name": department.name},
        "link_kind": "shareholding", "raised_at": flag.raised_at.isoformat(), "responded_at": None,
        "lifted_at": None, "agency_url": f"http://127.0.0.1:5000/agency/independence/{flag.id}",
        "regulator_url": f"http://127.0.0.1:5000/regulator/independence/{flag.id}",
    }
    independence.respond_to_flag(flag, text="该事业单位已于2025年退出持股。", actor=s.staff[0])
    data = hooks.one_each("independence_flag.responded", audience)
    assert data["responded_at"] is not None and "退出持股" not in json.dumps(data, ensure_ascii=False)
    independence.lift_flag(flag, reason="已完成脱钩。", actor=w.r2)
    data = hooks.one_each("independence_flag.lifted", audience)
    assert data["status"] == "lifted" and data["lifted_at"] == flag.lifted_at.isoformat()
    assert hooks.deliver_and_verify() == 6


# --- random inspections -------------------------------------------------------------------


def test_inspection_draws_and_published_results_are_public_recorded_results_stay_with_regulators(db, hooks):
    w = inspections_world(db)
    regulators_dept = w.regulators[0].organisation
    everyone = (*w.kunming, *w.jinan, regulators_dept, EnterpriseFactory())
    hooks.subscribe(*everyone)

    plan = w.plan(agency_sample_size=2, inspector_count=2, inspectors_per_check=1)
    assert hooks.queued("inspection_plan.drawn") == {}  # a draft's seeds are secret: nothing pushed
    inspections.draw_plan(plan, actor=w.regulators[0])
    drawn = hooks.one_each("inspection_plan.drawn", everyone)
    sample = sorted(plan.inspections, key=lambda i: i.rank)
    assert drawn["plan_id"] == plan.id and drawn["reference"] == plan.reference and drawn["status"] == "drawn"
    assert [(i["rank"], i["agency"]["id"], i["result"]) for i in drawn["inspections"]] == [
        (i.rank, i.organisation_id, None) for i in sample]
    assert drawn["web_url"].endswith(f"/inspections/{plan.id}") and drawn["json_url"].endswith(".json")

    first, second = sample
    inspections.record_result(first, result="problems", findings="收费超出承诺上限。", actor=first.inspectors[0])
    recorded = hooks.one_each("inspection.result_recorded", (regulators_dept,))
    assert recorded["inspection_id"] == first.id and recorded["result"] == "problems" and recorded["pending"] == 1
    assert recorded["agency"]["id"] == first.organisation_id and "收费" not in json.dumps(recorded, ensure_ascii=False)
    inspections.record_result(second, result="passed", findings="", actor=second.inspectors[0])
    assert len(hooks.queued("inspection.result_recorded")[regulators_dept.id]) == 2

    inspections.publish_results(plan, actor=w.regulators[1])
    published = hooks.one_each("inspection_plan.published", everyone)
    assert published["status"] == "published" and published["published_at"] == plan.published_at.isoformat()
    assert [(i["agency"]["id"], i["result"], i["findings"]) for i in published["inspections"]] == [
        (first.organisation_id, "problems", "收费超出承诺上限。"), (second.organisation_id, "passed", "")]
    assert hooks.deliver_and_verify() == len(everyone) * 2 + 2
    assert hooks.deliver_and_verify() == 0  # each was sent once


def test_the_deadline_job_pushes_the_moves_it_makes(db, hooks):
    from datetime import timedelta

    from marketplace.complaints.jobs import run_complaint_deadlines

    w = complaints_world(db)
    objector, _winner, other_bidder = w.s.agencies
    hooks.subscribe(objector, other_bidder, w.s.enterprise, EnterpriseFactory())
    unanswered = w.objection()
    answered = complaints.file_objection(w.req, grounds="评审程序存在瑕疵。", actor=w.s.staff[2], now=w.during(40))
    complaints.answer_objection(answered, text="程序合规。", actor=w.owner, now=w.during(70))
    db.session.commit()
    later = max(unanswered.answer_deadline, answered.escalation_deadline) + timedelta(minutes=1)
    assert run_complaint_deadlines(later) == 2

    escalated = hooks.one_each("objection.escalated", (objector, w.s.enterprise))
    assert escalated["objection_id"] == unanswered.id and escalated["unanswered"] is True
    assert escalated["complaint_id"] == unanswered.complaint.id
    lapsed = hooks.one_each("objection.resolved", (other_bidder, w.s.enterprise))
    assert lapsed["objection_id"] == answered.id and lapsed["closed_because"] == "lapsed"
    assert hooks.deliver_and_verify() > 0
