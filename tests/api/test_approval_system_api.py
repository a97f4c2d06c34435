"""The approval systems' endpoints: cases, their accepted results, and request status, by token only."""

import hashlib
import json
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Role
from marketplace.api.services import create_token
from marketplace.contracts import services as contracts
from marketplace.contracts.models import Contract
from marketplace.core.db import utcnow
from marketplace.core.text import MAX_DB_INT
from marketplace.delivery import services as delivery
from marketplace.extensions import db as _db
from marketplace.procurement.jobs import run_procurement_deadlines
from marketplace.procurement.models import ApprovalCase
from marketplace.webhooks.services import create_endpoint, deliver_due
from marketplace.webhooks.signing import SIGNATURE_HEADER
from tests.delivery.conftest import PDF, upload
from tests.factories import AgencyFactory, EnterpriseFactory, GovernmentFactory, UserFactory
from tests.factories.accounts import DEFAULT_PASSWORD
from tests.procurement.conftest import make_scenario
from tests.webhooks.test_webhooks import FakeReceiver, _documented_verify

ALL = ("cases:read", "cases:write", "requests:read")


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the English messages."""


def _secret(db, org, scopes=ALL) -> str:
    role = {"government": Role.APPROVAL_OFFICER, "enterprise": Role.ENTERPRISE_STAFF,
            "agency": Role.AGENCY_STAFF}[org.kind.value]
    user = UserFactory(organisation=org, role=role)
    _token, secret = create_token(org, name="审批系统", scopes=list(scopes), actor=user)
    db.session.commit()
    return secret


def _auth(secret):
    return {"Authorization": f"Bearer {secret}"}


def _case_body(s, **changes):
    body = {"approval_item_id": s.item.approval_items[0].id, "project_name": "滇池新区道路工程",
            "service_item_ids": [s.item.id], "applicant_uscc": s.enterprise.uscc,
            "project_code": "2026-530102-48-01-012345", "case_number": "SP-API-0001"}
    body.update(changes)
    return body


PUSHED = ["case.created", "case.updated", "request.published", "request.closed", "request.awarded",
          "request.failed", "request.cancelled", "contract.in_force", "result.delivered", "result.accepted"]


class _Receiver:
    """The approval system's push endpoint: checks each delivery with the documented verifier."""

    def __init__(self, app, db, org):
        self.fake = FakeReceiver()
        app.extensions["webhook_sender"] = self.fake
        user = UserFactory(organisation=org, role=Role.APPROVAL_OFFICER)
        _endpoint, self.secret = create_endpoint(org, url="https://spxt.example.gov.cn/zhongjie/events",
                                                 event_types=PUSHED, description="并联审批系统", actor=user)
        db.session.commit()
        self.verify = _documented_verify()

    def received(self) -> list[tuple[str, dict]]:
        """Run the job that sends due deliveries; what arrived since the last call, verified."""
        deliver_due(now=utcnow() + timedelta(minutes=1))
        events = []
        for _url, body, headers in self.fake.requests:
            assert self.verify(self.secret, headers[SIGNATURE_HEADER], body)
            event = json.loads(body)
            events.append((event["type"], event["data"]))
        self.fake.requests.clear()
        return events


def test_the_approval_system_follows_a_case_to_its_result(app, client, db):
    s = make_scenario(db)
    department = s.case.department
    gov = _secret(db, department)
    pushes = _Receiver(app, db, department)

    resp = client.post("/api/v1/cases", json=_case_body(s), headers=_auth(gov))
    assert resp.status_code == 201, resp.get_json()
    [(kind, data)] = pushes.received()
    assert kind == "case.created" and data["case_number"] == "SP-API-0001" and data["status"] == "open"
    case_json = resp.get_json()
    assert case_json["status"] == "open" and case_json["case_number"] == "SP-API-0001"
    assert case_json["applicant"]["uscc"] == s.enterprise.uscc and case_json["department"]["id"] == department.id
    assert [i["id"] for i in case_json["service_items"]] == [s.item.id]
    case = db.session.get(ApprovalCase, case_json["id"])
    assert case.created_by_id is None
    assert client.get(f"/api/v1/cases/{case.id}", headers=_auth(gov)).get_json()["id"] == case.id

    # The enterprise posts a purchase request for the new case.
    s = replace(s, case=case)
    req = s.published()
    db.session.commit()
    [(kind, data)] = pushes.received()
    assert kind == "request.published" and (data["request_id"], data["approval_case_id"]) == (req.id, case.id)
    status_url = f"/api/v1/requests/{req.id}/status"
    data = client.get(status_url, headers=_auth(gov)).get_json()
    assert data["status"] == "published" and data["award"] is None and data["contract"] is None
    assert client.get(f"/api/v1/cases/{case.id}", headers=_auth(gov)).get_json()["requests"] == [
        {"id": req.id, "service_item_id": s.item.id, "status": "published"}]

    for i, price in enumerate((9_000_000, 8_000_000, 8_500_000)):
        s.bid(req, i, price)
    run_procurement_deadlines(s.after_deadline(req))
    data = client.get(status_url, headers=_auth(gov)).get_json()
    assert data["status"] == "awarded" and data["award"]["agency"]["id"] == s.agencies[1].id
    assert data["award"]["price_fen"] == 8_000_000
    received = pushes.received()
    assert [k for k, _ in received] == ["request.closed", "request.awarded"]
    award = received[1][1]["award"]
    assert (award["agency"]["uscc"], award["price_fen"]) == (s.agencies[1].uscc, 8_000_000)

    db.session.refresh(req)
    run_procurement_deadlines(req.objection_deadline + timedelta(minutes=1))
    contract = db.session.execute(sa.select(Contract).where(Contract.request_id == req.id)).scalar_one()
    for user in (s.owner, s.staff[1]):
        contracts.sign_contract(contract, contracts.SignatureInput(
            password=DEFAULT_PASSWORD, signer_name="签署人", signer_position="经理", version=None,
            ip="203.0.113.9", user_agent="pytest"), actor=user)
    db.session.commit()
    data = client.get(status_url, headers=_auth(gov)).get_json()
    assert data["contract"] == {"contract_no": contract.contract_no, "status": "in_force",
                                "in_force_at": data["contract"]["in_force_at"]}
    assert data["award"]["final"] is True
    [(kind, data)] = pushes.received()
    assert kind == "contract.in_force" and data["contract_no"] == contract.contract_no
    assert data["approval_case_id"] == case.id

    found = delivery.open_delivery(contract)
    delivery.submit_result(found, summary="环境影响报告表（报批稿）", files=[upload()], actor=s.staff[1])
    db.session.commit()
    [(kind, data)] = pushes.received()
    assert kind == "result.delivered" and data["version"] == 1
    assert data["files"] == [{"name": "报告.pdf", "sha256": hashlib.sha256(PDF).hexdigest(), "size_bytes": len(PDF)}]
    assert client.get(f"/api/v1/cases/{case.id}/results", headers=_auth(gov)).get_json()["results"] == []
    delivery.accept_delivery(found, version=1, actor=s.owner)
    db.session.commit()
    [(kind, data)] = pushes.received()
    assert kind == "result.accepted" and data["results_url"].endswith(f"/api/v1/cases/{case.id}/results")

    data = client.get(status_url, headers=_auth(gov)).get_json()
    assert data["status"] == "accepted" and data["delivery"]["status"] == "accepted"
    assert data["delivery"]["accepted_version"] == 1
    results = client.get(f"/api/v1/cases/{case.id}/results", headers=_auth(gov)).get_json()
    assert results["case_id"] == case.id and len(results["results"]) == 1
    result = results["results"][0]
    assert result["contract_no"] == contract.contract_no and result["agency"]["id"] == s.agencies[1].id
    assert result["accepted_version"] == 1 and result["summary"] == "环境影响报告表（报批稿）"
    (file_json,) = result["files"]
    assert file_json["sha256"] == hashlib.sha256(PDF).hexdigest() and file_json["name"] == "报告.pdf"
    with client.get(file_json["download_url"], headers=_auth(gov)) as resp:
        assert resp.status_code == 200 and resp.data == PDF
    assert client.get(file_json["download_url"]).status_code == 401

    # The enterprise's token reads the same; the department decides the case.
    ent = _secret(db, s.enterprise, scopes=("cases:read", "requests:read"))
    assert client.get(status_url, headers=_auth(ent)).get_json()["status"] == "accepted"
    assert len(client.get(f"/api/v1/cases/{case.id}/results", headers=_auth(ent)).get_json()["results"]) == 1
    resp = client.patch(f"/api/v1/cases/{case.id}", json={"status": "approved"}, headers=_auth(gov))
    assert resp.status_code == 200 and resp.get_json()["status"] == "approved"
    resp = client.patch(f"/api/v1/cases/{case.id}", json={"status": "rejected"}, headers=_auth(gov))
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "conflict"
    [(kind, data)] = pushes.received()
    assert kind == "case.updated" and data["status"] == "approved"
    app.extensions.pop("webhook_sender", None)


def test_an_enterprise_token_opens_a_case_at_its_department(client, db):
    s = make_scenario(db)
    ent = _secret(db, s.enterprise, scopes=("cases:write", "cases:read"))
    body = _case_body(s, department_id=s.case.department_id, case_number="")
    del body["applicant_uscc"]
    resp = client.post("/api/v1/cases", json=body, headers=_auth(ent))
    assert resp.status_code == 201, resp.get_json()
    data = resp.get_json()
    assert data["applicant"]["id"] == s.enterprise.id and data["case_number"].startswith("SP")
    # The applicant may withdraw, but not decide.
    resp = client.patch(f"/api/v1/cases/{data['id']}", json={"status": "approved"}, headers=_auth(ent))
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    resp = client.patch(f"/api/v1/cases/{data['id']}", json={"status": "withdrawn", "reason": "项目调整"},
                        headers=_auth(ent))
    assert resp.status_code == 200 and resp.get_json()["status"] == "withdrawn"


def test_other_organisations_see_nothing(client, db):
    s = make_scenario(db)
    req = s.published()
    db.session.commit()
    other_gov = _secret(db, GovernmentFactory())
    other_ent = _secret(db, EnterpriseFactory())
    agency = _secret(db, AgencyFactory(), scopes=("requests:read",))
    for secret in (other_gov, other_ent):
        for url in (f"/api/v1/cases/{s.case.id}", f"/api/v1/cases/{s.case.id}/results",
                    f"/api/v1/requests/{req.id}/status"):
            resp = client.get(url, headers=_auth(secret))
            assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found", url
        resp = client.patch(f"/api/v1/cases/{s.case.id}", json={"status": "approved"}, headers=_auth(secret))
        assert resp.status_code == 404
    assert client.get(f"/api/v1/requests/{req.id}/status", headers=_auth(agency)).status_code == 404
    assert client.get(f"/api/v1/cases/{s.case.id}", headers=_auth(agency)).status_code == 403
    # An agency token cannot be given case scopes at all, and a read-only token cannot write.
    read_only = _secret(db, s.case.department, scopes=("cases:read",))
    resp = client.post("/api/v1/cases", json=_case_body(s), headers=_auth(read_only))
    assert resp.status_code == 403
    assert client.post("/api/v1/cases", json=_case_body(s)).status_code == 401


def test_bad_input_is_a_json_4xx(client, db):
    s = make_scenario(db)
    gov = _secret(db, s.case.department)
    cases = [
        (_case_body(s, approval_item_id=2**63), 422),
        (_case_body(s, service_item_ids=[2**40]), 422),
        (_case_body(s, service_item_ids="x"), 422),
        (_case_body(s, service_item_ids=[]), 422),
        (_case_body(s, project_name=17), 422),
        (_case_body(s, surprise=True), 422),
        (_case_body(s, project_name="a\x00b"), 422),
        (_case_body(s, applicant_uscc="9153\x00"), 422),
        (_case_body(s, project_code="nonsense"), 400),
        (_case_body(s, applicant_uscc="91530000000000000X"), 400),
        (_case_body(s, approval_item_id=MAX_DB_INT), 400),
        (_case_body(s, service_item_ids=[MAX_DB_INT]), 400),
        (_case_body(s, project_name=" "), 400),
        (_case_body(s, project_name="长" * 900), 400),
    ]
    for body, status in cases:
        resp = client.post("/api/v1/cases", json=body, headers=_auth(gov))
        assert resp.status_code == status, (body, resp.get_json())
        error = resp.get_json()["error"]
        assert error["code"] == ("validation_error" if status == 422 else "business_rule")
    resp = client.post("/api/v1/cases", data="[1", headers={**_auth(gov), "Content-Type": "application/json"})
    assert 400 <= resp.status_code < 500
    taken = _case_body(s, case_number=s.case.case_number)
    resp = client.post("/api/v1/cases", json=taken, headers=_auth(gov))
    assert resp.status_code == 400 and resp.get_json()["error"]["details"] == {"case_number": [
        "Another case already has this number."]}
    for url in ("/api/v1/cases/99999999999999999999", "/api/v1/cases/0", "/api/v1/requests/99999999999/status",
                "/api/v1/cases/2147483647/results"):
        resp = client.get(url, headers=_auth(gov))
        assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found", url
    for body in ({"status": "open"}, {"status": "approved", "extra": 1}, {}, {"status": 3}):
        resp = client.patch(f"/api/v1/cases/{s.case.id}", json=body, headers=_auth(gov))
        assert resp.status_code == 422, body
    assert _db.session.execute(sa.select(sa.func.count(ApprovalCase.id))).scalar_one() == 1


def test_fuzzing_with_a_token_finds_no_500(app, db):
    """Schemathesis on this module's operations, authenticated as the case's department."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import positive_data_acceptance

    s = make_scenario(db)
    s.published()
    db.session.commit()
    headers = _auth(_secret(db, s.case.department))
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations()]
    mine = [op for op in operations if set(op.definition.raw.get("tags", [])) & {"api_cases", "api_request_status"}]
    assert len(mine) == 7
    for operation in mine:

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        run()
