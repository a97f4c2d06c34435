"""An enterprise's own system drives its purchase requests and reviews deliveries with a token only."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Role
from marketplace.api.services import TokenActor, create_token
from marketplace.audit.models import AuditEvent
from marketplace.audit.services import events_for
from marketplace.contracts import services as contracts
from marketplace.contracts.models import Contract, ContractStatus
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, PermissionDenied
from marketplace.core.text import MAX_DB_INT
from marketplace.delivery import services as delivery
from marketplace.delivery.models import DeliveryStatus
from marketplace.extensions import db as _db
from marketplace.procurement import services as procurement
from marketplace.procurement.jobs import run_procurement_deadlines
from marketplace.procurement.models import (
    CaseStatus,
    PurchaseRequest,
    RequestStatus,
    SelectionMethod,
)
from marketplace.workdays.services import add_working_days
from tests.delivery.conftest import make_in_force, upload
from tests.factories import AgencyFactory, EnterpriseFactory, QualificationTypeFactory, UserFactory
from tests.factories.accounts import DEFAULT_PASSWORD
from tests.factories.procurement import ApprovalCaseFactory
from tests.procurement.conftest import make_scenario

ALL = ("requests:read", "requests:write", "delivery:review")


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the English messages."""


def _token(db, org, scopes=ALL):
    role = {"government": Role.APPROVAL_OFFICER, "enterprise": Role.ENTERPRISE_STAFF,
            "agency": Role.AGENCY_STAFF}[org.kind.value]
    user = UserFactory(organisation=org, role=role)
    token, secret = create_token(org, name="企业ERP", scopes=list(scopes), actor=user)
    db.session.commit()
    return token, {"Authorization": f"Bearer {secret}"}


def _auth(db, org, scopes=ALL) -> dict:
    return _token(db, org, scopes)[1]


def _body(s, **changes) -> dict:
    body = {"approval_case_id": s.case.id, "service_item_id": s.item.id,
            "title": "滇池新区道路工程环境影响评价", "content": "编制环境影响报告表。\n含公众参与。",
            "scale": "1.2亿元", "contact_name": "钱经理", "contact_phone": "0871-66000000",
            "complaint_phone": "0871-12345", "budget_ceiling_fen": 10_000_000}
    body.update(changes)
    return body


def _error(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.get_json()
    error = resp.get_json()["error"]
    assert error["code"] == code and error["message"]
    return error


def _count(model) -> int:
    return _db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def _sign(s, contract):
    for user in (s.owner, s.staff[1]):
        contracts.sign_contract(contract, contracts.SignatureInput(
            password=DEFAULT_PASSWORD, signer_name="签署人", signer_position="经理", version=None,
            ip="203.0.113.9", user_agent="pytest"), actor=user)


def test_an_enterprise_system_runs_a_request_from_draft_to_accepted_result(client, db):
    s = make_scenario(db)
    token, auth = _token(db, s.enterprise)

    resp = client.post("/api/v1/requests", json=_body(s), headers=auth)
    assert resp.status_code == 201, resp.get_json()
    draft = resp.get_json()
    assert draft["status"] == "draft" and draft["approval_case_id"] == s.case.id
    assert draft["service_item"]["id"] == s.item.id and draft["selection_method"] == "lowest_price"
    assert draft["budget_ceiling_fen"] == 10_000_000 and draft["published_at"] is None
    assert draft["web_url"].endswith(f"/announcements/{draft['id']}")
    request_id = draft["id"]
    req = db.session.get(PurchaseRequest, request_id)
    assert req.created_by_id is None
    created = [e for e in events_for("purchase_requests", request_id) if e.action == "purchase_request.created"]
    assert [e.actor_label for e in created] == [token.audit_label]

    # Only the fields sent change.
    resp = client.patch(f"/api/v1/requests/{request_id}", json={"title": "道路工程环评（修订）",
                                                                "budget_ceiling_fen": 9_500_000}, headers=auth)
    assert resp.status_code == 200, resp.get_json()
    edited = resp.get_json()
    assert edited["title"] == "道路工程环评（修订）" and edited["budget_ceiling_fen"] == 9_500_000
    assert edited["content"] == draft["content"] and edited["contact_phone"] == "0871-66000000"
    assert edited["bidding_deadline"] == draft["bidding_deadline"]

    listed = client.get("/api/v1/my/requests", headers=auth).get_json()
    assert [(r["id"], r["status"]) for r in listed["items"]] == [(request_id, "draft")]
    assert listed["next_cursor"] is None

    # Publish, moving the deadline to 16:30 Beijing time (an offset-less time is Beijing time, as on the form).
    day = procurement.earliest_deadline_day(utcnow()) + timedelta(days=3)
    resp = client.post(f"/api/v1/requests/{request_id}/publish",
                       json={"bidding_deadline": f"{day.isoformat()}T16:30:00"}, headers=auth)
    assert resp.status_code == 200, resp.get_json()
    published = resp.get_json()
    assert published["status"] == "published" and published["published_at"] is not None
    deadline = datetime.fromisoformat(published["bidding_deadline"])
    assert deadline == datetime(day.year, day.month, day.day, 8, 30, tzinfo=UTC)
    assert client.get(f"/api/v1/announcements/{request_id}").status_code == 200

    # Bids come in sealed: the enterprise sees neither how many nor what they contain.
    db.session.refresh(req)
    for i, price in enumerate((9_000_000, 8_000_000, 8_500_000)):
        s.bid(req, i, price, at=utcnow() + timedelta(minutes=i + 1))
    db.session.commit()
    resp = client.get(f"/api/v1/my/requests/{request_id}/bids", headers=auth)
    sealed = resp.get_json()
    assert resp.status_code == 200 and sealed["sealed"] is True and sealed["bids"] == []
    assert sealed["valid_bids"] is None and sealed["result_url"] is None
    for price in ("9000000", "8000000", "8500000"):
        assert price.encode() not in resp.data

    # The deadline passes: the lowest price wins, and the ranking shows the prices.
    run_procurement_deadlines(deadline + timedelta(minutes=1))
    opened = client.get(f"/api/v1/my/requests/{request_id}/bids", headers=auth).get_json()
    assert opened["sealed"] is False and opened["valid_bids"] == 3
    assert [(b["rank"], b["agency"]["id"], b["price_fen"], b["status"]) for b in opened["bids"]] == [
        (1, s.agencies[1].id, 8_000_000, "won"), (2, s.agencies[2].id, 8_500_000, "lost"),
        (3, s.agencies[0].id, 9_000_000, "lost")]
    awarded = client.get(f"/api/v1/my/requests/{request_id}", headers=auth).get_json()
    assert awarded["status"] == "awarded" and awarded["awarded_agency"]["id"] == s.agencies[1].id
    assert awarded["awarded_price_fen"] == 8_000_000 and awarded["award_final"] is False

    # The award becomes final, the contract is drafted and signed by people on the site.
    db.session.refresh(req)
    run_procurement_deadlines(req.objection_deadline + timedelta(minutes=1))
    contract = db.session.execute(sa.select(Contract).where(Contract.request_id == request_id)).scalar_one()
    assert client.get(f"/api/v1/my/requests/{request_id}", headers=auth).get_json()["contract_id"] == contract.id
    _sign(s, contract)
    db.session.commit()

    # The agency delivers; the enterprise asks for a revision, then accepts the second version.
    found = delivery.open_delivery(contract)
    delivery.submit_result(found, summary="环境影响报告表（送审稿）", files=[upload()], actor=s.staff[1])
    db.session.commit()
    review = f"/api/v1/contracts/{contract.id}/delivery"
    resp = client.post(f"{review}/revision", json={"version": 1, "reason": "补充噪声影响预测。"}, headers=auth)
    assert resp.status_code == 200, resp.get_json()
    revised = resp.get_json()
    assert revised["status"] == "revision_requested" and revised["latest_version"] == 1
    assert revised["revision_reason"] == "补充噪声影响预测。"
    error = _error(client.post(f"{review}/accept", json={"version": 1}, headers=auth), 409, "conflict")
    assert error["message"] == "There is no submitted result to decide on."

    delivery.submit_result(found, summary="环境影响报告表（报批稿）", files=[upload()], actor=s.staff[1])
    db.session.commit()
    error = _error(client.post(f"{review}/accept", json={"version": 1}, headers=auth), 409, "conflict")
    assert error["message"] == "A newer version was submitted meanwhile. Please review it first."
    resp = client.post(f"{review}/accept", json={"version": 2}, headers=auth)
    assert resp.status_code == 200, resp.get_json()
    accepted = resp.get_json()
    assert accepted["status"] == "accepted" and accepted["accepted_version"] == 2
    assert accepted["accepted_at"] is not None and accepted["contract_id"] == contract.id
    db.session.expire_all()
    assert db.session.get(Contract, contract.id).status is ContractStatus.COMPLETED
    assert client.get(f"/api/v1/my/requests/{request_id}", headers=auth).get_json()["status"] == "accepted"
    labels = {e.actor_label for e in events_for("deliveries", found.id) if e.action == "delivery.accepted"}
    assert labels == {token.audit_label}
    # Accepted is final.
    _error(client.post(f"{review}/revision", json={"version": 2, "reason": "再改"}, headers=auth), 409, "conflict")


def test_an_abnormally_low_price_is_decided_by_the_enterprise_before_the_award(client, db):
    s = make_scenario(db)
    auth = _auth(db, s.enterprise)
    req = s.published()
    bids = [s.bid(req, i, price) for i, price in enumerate((9_000_000, 4_000_000, 8_500_000))]
    db.session.commit()
    url = f"/api/v1/requests/{req.id}/bids/{bids[1].id}/decision"
    # Still bidding: nothing to decide, nothing to see.
    _error(client.post(url, json={"decision": "confirm", "reason": "价格合理"}, headers=auth), 409, "conflict")
    assert client.get(f"/api/v1/my/requests/{req.id}/bids", headers=auth).get_json()["bids"] == []

    run_procurement_deadlines(s.after_deadline(req))
    data = client.get(f"/api/v1/my/requests/{req.id}/bids", headers=auth).get_json()
    assert data["status"] == "bidding_closed" and data["sealed"] is False
    flagged = [b for b in data["bids"] if b["awaiting_decision"]]
    assert [(b["id"], b["price_fen"], b["abnormal"]) for b in flagged] == [(bids[1].id, 4_000_000, True)]
    # Another organisation sees nothing of it, on the public result either.
    other = _auth(db, EnterpriseFactory())
    _error(client.get(f"/api/v1/my/requests/{req.id}/bids", headers=other), 404, "not_found")
    _error(client.post(url, json={"decision": "confirm", "reason": "x"}, headers=other), 404, "not_found")
    assert client.get(f"/api/v1/announcements/{req.id}/result").status_code == 404
    # A bid of another request is not found here.
    s2 = make_scenario(db)
    stray = s2.bid(s2.published(), 0, 8_000_000)
    db.session.commit()
    _error(client.post(f"/api/v1/requests/{req.id}/bids/{stray.id}/decision",
                       json={"decision": "reject", "reason": "x"}, headers=auth), 404, "not_found")
    _error(client.post(f"/api/v1/requests/{req.id}/bids/{MAX_DB_INT}/decision",
                       json={"decision": "reject", "reason": "x"}, headers=auth), 404, "not_found")
    _error(client.post(url, json={"decision": "reject", "reason": " "}, headers=auth), 400, "business_rule")

    resp = client.post(url, json={"decision": "reject", "reason": "低于成本，无法保证质量。"}, headers=auth)
    assert resp.status_code == 200, resp.get_json()
    result = resp.get_json()
    assert result["status"] == "awarded" and result["awarded_agency"]["id"] == s.agencies[2].id
    assert result["awarded_price_fen"] == 8_500_000
    rows = client.get(f"/api/v1/my/requests/{req.id}/bids", headers=auth).get_json()["bids"]
    rejected = next(b for b in rows if b["id"] == bids[1].id)
    assert rejected["status"] == "rejected" and rejected["rejection_reason"] == "低于成本，无法保证质量。"
    assert rejected["price_fen"] is None and rejected["rank"] is None
    _error(client.post(url, json={"decision": "confirm", "reason": "改主意"}, headers=auth), 409, "conflict")


def test_direct_selection_names_the_agency_with_a_public_reason(client, db):
    s = make_scenario(db)
    auth = _auth(db, s.enterprise)
    body = _body(s, selection_method="direct", direct_reason="该机构曾承担本项目可研阶段环评，熟悉现场。")
    error = _error(client.post("/api/v1/requests", json=body, headers=auth), 400, "business_rule")
    assert error["details"] == {"direct_agency_id": ["Choose the agency you select."]}
    assert _count(PurchaseRequest) == 0

    resp = client.post("/api/v1/requests", json={**body, "direct_agency_id": s.agencies[2].id}, headers=auth)
    assert resp.status_code == 201, resp.get_json()
    data = resp.get_json()
    assert data["selection_method"] == "direct" and data["direct_agency"]["id"] == s.agencies[2].id
    assert data["direct_reason"] == body["direct_reason"]
    resp = client.post(f"/api/v1/requests/{data['id']}/publish", json={}, headers=auth)
    assert resp.status_code == 200, resp.get_json()
    req = db.session.get(PurchaseRequest, data["id"])
    with pytest.raises(DomainError):
        s.bid(req, 0, 8_000_000, at=utcnow())
    s.bid(req, 2, 8_800_000, at=utcnow())
    db.session.commit()
    run_procurement_deadlines(req.bidding_deadline + timedelta(minutes=1))
    data = client.get(f"/api/v1/my/requests/{req.id}", headers=auth).get_json()
    assert data["status"] == "awarded" and data["awarded_agency"]["id"] == s.agencies[2].id


def test_the_award_passes_on_and_a_request_is_cancelled_with_a_reason(client, db):
    s = make_scenario(db)
    auth = _auth(db, s.enterprise)
    other = _auth(db, EnterpriseFactory())
    req = s.published()
    for i, price in enumerate((9_000_000, 8_000_000, 8_500_000)):
        s.bid(req, i, price)
    run_procurement_deadlines(s.after_deadline(req))
    url = f"/api/v1/requests/{req.id}/pass-award"
    _error(client.post(url, json={"reason": "中选机构拒签"}, headers=other), 404, "not_found")
    # The service itself refuses another organisation's token (it is not the system acting).
    stranger, _ = _token(db, EnterpriseFactory())
    with pytest.raises(PermissionDenied):
        procurement.pass_award_to_next(req, "中选机构拒签", TokenActor(stranger))
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(PurchaseRequest, req.id).awarded_org_id == s.agencies[1].id

    resp = client.post(url, json={"reason": "中选机构拒绝签订合同。"}, headers=auth)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["awarded_agency"]["id"] == s.agencies[2].id
    assert resp.get_json()["awarded_price_fen"] == 8_500_000

    cancel = f"/api/v1/requests/{req.id}/cancel"
    _error(client.post(cancel, json={"reason": "x"}, headers=other), 404, "not_found")
    _error(client.post(cancel, json={}, headers=auth), 422, "validation_error")
    error = _error(client.post(cancel, json={"reason": "   "}, headers=auth), 400, "business_rule")
    assert list(error["details"]) == ["reason"]
    resp = client.post(cancel, json={"reason": "项目取消建设。"}, headers=auth)
    assert resp.status_code == 200 and resp.get_json()["status"] == "cancelled"
    assert resp.get_json()["cancel_reason"] == "项目取消建设。"
    _error(client.post(cancel, json={"reason": "再次取消"}, headers=auth), 409, "conflict")
    _error(client.post(url, json={"reason": "再传"}, headers=auth), 409, "conflict")


def test_a_draft_is_cancelled_through_the_api_without_becoming_public(client, db):
    """POST /requests/{id}/cancel on a never-published draft: 200 and private (it was HTTP 500)."""
    s = make_scenario(db)
    auth = _auth(db, s.enterprise)
    draft = s.draft()
    db.session.commit()
    resp = client.post(f"/api/v1/requests/{draft.id}/cancel", json={"reason": "项目选址调整"}, headers=auth)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "cancelled"
    assert resp.get_json()["cancel_reason"] == "项目选址调整"
    assert resp.get_json()["published_at"] is None
    assert client.get(f"/api/v1/announcements/{draft.id}").status_code == 404
    listed = client.get("/api/v1/announcements").get_json()
    assert draft.id not in [a["id"] for a in listed["items"]]


def test_the_enterprise_answers_the_agencys_due_date_proposals(client, db):
    f = make_in_force(db)
    auth = _auth(db, f.s.enterprise)
    found = f.delivery()
    due = found.due_date
    later = add_working_days(due, 5)
    ext = delivery.propose_extension(found, new_due_date=later, reason="现场踏勘受雨季影响。", actor=f.agent)
    db.session.commit()
    url = f"/api/v1/contracts/{f.contract.id}/delivery/extensions/{ext.id}/decision"
    _error(client.post(url, json={"agree": True}, headers=_auth(db, EnterpriseFactory())), 404, "not_found")
    _error(client.post(url, json={"agree": "maybe"}, headers=auth), 422, "validation_error")
    _error(client.post(url, json={"agree": True, "note": "好\x00"}, headers=auth), 422, "validation_error")
    _error(client.post(f"/api/v1/contracts/{f.contract.id}/delivery/extensions/{MAX_DB_INT}/decision",
                       json={"agree": True}, headers=auth), 404, "not_found")

    resp = client.post(url, json={"agree": True, "note": "同意"}, headers=auth)
    assert resp.status_code == 200, resp.get_json()
    data = resp.get_json()
    assert data["extension"]["status"] == "agreed" and data["extension"]["decision_note"] == "同意"
    assert data["delivery"]["due_date"] == later.isoformat()
    _error(client.post(url, json={"agree": False}, headers=auth), 409, "conflict")

    nxt = delivery.propose_extension(found, new_due_date=add_working_days(later, 5), reason="再延期", actor=f.agent)
    db.session.commit()
    resp = client.post(f"/api/v1/contracts/{f.contract.id}/delivery/extensions/{nxt.id}/decision",
                       json={"agree": False, "note": "不同意"}, headers=auth)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["extension"]["status"] == "declined"
    assert resp.get_json()["delivery"]["due_date"] == later.isoformat()
    db.session.expire_all()
    assert delivery.delivery_of(f.contract).due_date == later


def test_other_organisations_and_missing_scopes_are_refused(client, db):
    s = make_scenario(db)
    draft = s.draft()
    db.session.commit()
    other = _auth(db, EnterpriseFactory())
    urls = [("get", f"/api/v1/my/requests/{draft.id}", None),
            ("get", f"/api/v1/my/requests/{draft.id}/bids", None),
            ("patch", f"/api/v1/requests/{draft.id}", {"title": "别人的"}),
            ("post", f"/api/v1/requests/{draft.id}/publish", {}),
            ("post", f"/api/v1/requests/{draft.id}/cancel", {"reason": "别人的"})]
    for method, url, body in urls:
        _error(getattr(client, method)(url, json=body, headers=other), 404, "not_found")
    assert client.get("/api/v1/my/requests", headers=other).get_json()["items"] == []
    # The other enterprise cannot draft on this enterprise's case.
    error = _error(client.post("/api/v1/requests", json=_body(s), headers=other), 400, "business_rule")
    assert list(error["details"]) == ["approval_case_id"]

    read_only = _auth(db, s.enterprise, scopes=("requests:read",))
    assert client.get(f"/api/v1/my/requests/{draft.id}", headers=read_only).status_code == 200
    _error(client.post("/api/v1/requests", json=_body(s), headers=read_only), 403, "forbidden")
    _error(client.patch(f"/api/v1/requests/{draft.id}", json={"title": "改"}, headers=read_only), 403, "forbidden")
    _error(client.post(f"/api/v1/requests/{draft.id}/publish", json={}, headers=read_only), 403, "forbidden")
    no_review = _auth(db, s.enterprise, scopes=("requests:read", "requests:write"))
    _error(client.post("/api/v1/contracts/1/delivery/accept", json={"version": 1}, headers=no_review),
           403, "forbidden")
    agency = _auth(db, AgencyFactory(), scopes=("bids:write", "requests:read"))
    _error(client.post("/api/v1/requests", json=_body(s), headers=agency), 403, "forbidden")
    assert client.get("/api/v1/my/requests", headers=agency).get_json()["items"] == []
    with pytest.raises(DomainError):
        _auth(db, AgencyFactory(), scopes=("requests:write",))
    with pytest.raises(DomainError):
        _auth(db, AgencyFactory(), scopes=("delivery:review",))
    _error(client.get("/api/v1/my/requests"), 401, "unauthorized")
    _error(client.post("/api/v1/requests", json=_body(s)), 401, "unauthorized")

    db.session.expire_all()
    unchanged = db.session.get(PurchaseRequest, draft.id)
    assert unchanged.status is RequestStatus.DRAFT and unchanged.title == draft.title
    assert _count(PurchaseRequest) == 1


def test_the_delivery_of_another_enterprise_is_not_found(client, db):
    f = make_in_force(db)
    found = f.delivery()
    delivery.submit_result(found, summary="成果", files=[upload()], actor=f.agent)
    db.session.commit()
    other = _auth(db, EnterpriseFactory())
    base = f"/api/v1/contracts/{f.contract.id}/delivery"
    _error(client.post(f"{base}/accept", json={"version": 1}, headers=other), 404, "not_found")
    _error(client.post(f"{base}/revision", json={"version": 1, "reason": "改"}, headers=other), 404, "not_found")
    for url in (f"/api/v1/contracts/{MAX_DB_INT}/delivery/accept", "/api/v1/contracts/99999999999/delivery/accept",
                "/api/v1/contracts/0/delivery/accept"):
        _error(client.post(url, json={"version": 1}, headers=other), 404, "not_found")
    db.session.expire_all()
    assert delivery.delivery_of(f.contract).status is DeliveryStatus.SUBMITTED


def test_bad_bodies_are_json_4xx_and_change_nothing(client, db):
    s = make_scenario(db)
    auth = _auth(db, s.enterprise)
    other_qual = QualificationTypeFactory(name="测绘资质")
    cases = [
        (_body(s, title=17), 422, None),
        (_body(s, title="a\x00b"), 422, None),
        (_body(s, content="正文\x00"), 422, None),
        (_body(s, budget_ceiling_fen=2**70), 422, None),
        (_body(s, budget_ceiling_fen="10000"), 422, None),
        (_body(s, budget_ceiling_fen=1.5), 422, None),
        (_body(s, approval_case_id=2**63), 422, None),
        (_body(s, service_item_id="1"), 422, None),
        (_body(s, qualification_type_ids="x"), 422, None),
        (_body(s, qualification_type_ids=[2**40]), 422, None),
        (_body(s, bidding_deadline="next friday"), 422, None),
        (_body(s, bidding_deadline="9999-12-31T23:59:59-12:00"), 422, None),
        (_body(s, selection_method="auction"), 422, None),
        (_body(s, weight_price=101), 422, None),
        (_body(s, surprise=True), 422, None),
        ({k: v for k, v in _body(s).items() if k != "title"}, 422, None),
        (_body(s, budget_ceiling_fen=0), 400, "budget_ceiling_fen"),
        (_body(s, is_budgeted=False), 400, "quote_min_fen"),
        (_body(s, is_budgeted=False, quote_min_fen=500, quote_max_fen=100), 400, "quote_max_fen"),
        (_body(s, contact_phone="call me"), 400, "contact_phone"),
        (_body(s, title="   "), 400, "title"),
        (_body(s, content="投标机构须为本地注册企业。"), 400, "content"),
        (_body(s, selection_method="scoring", weight_price=50, weight_time=20, weight_credit=20), 400,
         "weight_price"),
        (_body(s, qualification_type_ids=[other_qual.id]), 400, "qualification_type_ids"),
        (_body(s, service_item_id=MAX_DB_INT), 400, "service_item_id"),
        (_body(s, approval_case_id=MAX_DB_INT), 400, "approval_case_id"),
        (_body(s, bidding_deadline="2026-01-01T10:00:00+08:00", title="长" * 150 + "。" * 60), 422, None),
    ]
    for body, status, field in cases:
        resp = client.post("/api/v1/requests", json=body, headers=auth)
        error = _error(resp, status, "validation_error" if status == 422 else "business_rule")
        if field:
            assert list(error["details"]) == [field], (body, error)
    resp = client.post("/api/v1/requests", data="[1", headers={**auth, "Content-Type": "application/json"})
    assert 400 <= resp.status_code < 500 and resp.get_json()["error"]
    assert _count(PurchaseRequest) == 0

    draft = client.post("/api/v1/requests", json=_body(s), headers=auth).get_json()
    url = f"/api/v1/requests/{draft['id']}"
    events = _count(AuditEvent)
    for body, status in (({"title": None}, 422), ({"budget_ceiling_fen": -1}, 422), ({"approval_case_id": 1}, 422),
                         ({"title": "\x00"}, 422), ({"weight_time": 2**31}, 422), ({"is_budgeted": False}, 400),
                         ({"selection_method": "direct"}, 400), ({"contact_name": ""}, 400)):
        resp = client.patch(url, json=body, headers=auth)
        _error(resp, status, "validation_error" if status == 422 else "business_rule")
    # A deadline too early for publication refuses the whole call: the draft keeps its deadline.
    resp = client.post(f"{url}/publish", json={"bidding_deadline": datetime.now(UTC).isoformat()}, headers=auth)
    error = _error(resp, 400, "business_rule")
    assert list(error["details"]) == ["bidding_deadline"]
    assert client.get(f"/api/v1/my/requests/{draft['id']}", headers=auth).get_json() == draft
    assert _count(AuditEvent) == events
    for bad in ("/api/v1/requests/99999999999", "/api/v1/requests/0", f"/api/v1/requests/{MAX_DB_INT}"):
        _error(client.patch(bad, json={"title": "x"}, headers=auth), 404, "not_found")
    _error(client.get("/api/v1/my/requests?status=nonsense", headers=auth), 422, "validation_error")
    _error(client.get("/api/v1/my/requests?cursor=%%%", headers=auth), 400, "bad_request")

    f = make_in_force(db)
    found = f.delivery()
    delivery.submit_result(found, summary="成果", files=[upload()], actor=f.agent)
    db.session.commit()
    owner = _auth(db, f.s.enterprise)
    base = f"/api/v1/contracts/{f.contract.id}/delivery"
    for url, body in ((f"{base}/accept", {}), (f"{base}/accept", {"version": "1"}),
                      (f"{base}/accept", {"version": 2**40}), (f"{base}/accept", {"version": 1, "x": 1}),
                      (f"{base}/revision", {"version": 1}), (f"{base}/revision", {"version": 1, "reason": "\x00"}),
                      (f"{base}/revision", {"version": 1, "reason": 3})):
        _error(client.post(url, json=body, headers=owner), 422, "validation_error")
    _error(client.post(f"{base}/revision", json={"version": 1, "reason": " "}, headers=owner), 400,
           "business_rule")
    db.session.expire_all()
    assert delivery.delivery_of(f.contract).status is DeliveryStatus.SUBMITTED


def test_wrong_states_are_409_with_the_services_message(client, db):
    s = make_scenario(db)
    auth = _auth(db, s.enterprise)
    draft = client.post("/api/v1/requests", json=_body(s), headers=auth).get_json()
    # One live request per case and service: a second one is a conflict.
    error = _error(client.post("/api/v1/requests", json=_body(s), headers=auth), 409, "conflict")
    assert "may not be split" in error["message"]
    url = f"/api/v1/requests/{draft['id']}"
    assert client.post(f"{url}/publish", json={}, headers=auth).status_code == 200
    error = _error(client.patch(url, json={"title": "改"}, headers=auth), 409, "conflict")
    assert error["message"] == "Only a draft can be changed."
    error = _error(client.post(f"{url}/publish", json={}, headers=auth), 409, "conflict")
    assert error["message"] == "Only a draft can be published."
    later = (procurement.earliest_deadline_day(utcnow()) + timedelta(days=5)).isoformat() + "T10:00:00+08:00"
    _error(client.post(f"{url}/publish", json={"bidding_deadline": later}, headers=auth), 409, "conflict")
    _error(client.post(f"{url}/pass-award", json={"reason": "无中选"}, headers=auth), 409, "conflict")
    assert client.get(f"/api/v1/my/requests/{draft['id']}", headers=auth).get_json()["status"] == "published"
    # A withdrawn case takes no new request.
    case = ApprovalCaseFactory(applicant=s.enterprise, approval_item=s.item.approval_items[0], service_items=[s.item])
    db.session.flush()
    procurement.set_case_status(case, CaseStatus.WITHDRAWN, actor=s.owner)
    db.session.commit()
    error = _error(client.post("/api/v1/requests", json=_body(s, approval_case_id=case.id), headers=auth),
                   409, "conflict")
    assert error["message"] == "This approval case is no longer in progress."


def test_my_requests_walk_with_a_cursor(client, db):
    s = make_scenario(db)
    auth = _auth(db, s.enterprise)
    ids = []
    for _ in range(3):
        case = ApprovalCaseFactory(applicant=s.enterprise, approval_item=s.item.approval_items[0],
                                   service_items=[s.item])
        db.session.flush()
        ids.append(procurement.create_request(case, s.item, s.request_input(), actor=s.owner).id)
    procurement.publish_request(db.session.get(PurchaseRequest, ids[0]), actor=s.owner)
    db.session.commit()
    seen, cursor = [], None
    while True:
        url = "/api/v1/my/requests?limit=2" + (f"&cursor={cursor}" if cursor else "")
        data = client.get(url, headers=auth).get_json()
        seen += [r["id"] for r in data["items"]]
        cursor = data["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(ids, reverse=True)
    published = client.get("/api/v1/my/requests?status=published", headers=auth).get_json()["items"]
    assert [r["id"] for r in published] == [ids[0]]
    assert SelectionMethod.LOWEST_PRICE.value == published[0]["selection_method"]


def test_fuzzing_with_an_enterprise_token_finds_no_500(app, db):
    """Schemathesis on this module's operations, authenticated as an enterprise with a draft."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import positive_data_acceptance

    s = make_scenario(db)
    s.draft()
    db.session.commit()
    headers = _auth(db, s.enterprise)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations()]
    ours = {
        "GET /api/v1/my/requests", "GET /api/v1/my/requests/{request_id}", "GET /api/v1/my/requests/{request_id}/bids",
        "POST /api/v1/requests", "PATCH /api/v1/requests/{request_id}", "POST /api/v1/requests/{request_id}/publish",
        "POST /api/v1/requests/{request_id}/cancel", "POST /api/v1/requests/{request_id}/bids/{bid_id}/decision",
        "POST /api/v1/requests/{request_id}/pass-award", "POST /api/v1/contracts/{contract_id}/delivery/accept",
        "POST /api/v1/contracts/{contract_id}/delivery/revision",
        "POST /api/v1/contracts/{contract_id}/delivery/extensions/{ext_id}/decision",
    }
    mine = [op for op in operations if f"{op.method.upper()} {op.path}" in ours]
    assert len(mine) == len(ours)
    for operation in mine:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        run()
