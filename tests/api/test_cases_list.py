"""GET /api/v1/cases (an approval system polls its cases) and who reads a request's status."""

from __future__ import annotations

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Role
from marketplace.api.services import create_token
from marketplace.contracts import services as contracts
from marketplace.contracts.models import Contract
from marketplace.core.db import utcnow
from marketplace.delivery import services as delivery
from marketplace.procurement.jobs import run_procurement_deadlines
from marketplace.procurement.models import ApprovalCase
from tests.factories import AgencyFactory, EnterpriseFactory, GovernmentFactory, UserFactory
from tests.factories.accounts import DEFAULT_PASSWORD
from tests.factories.procurement import ApprovalCaseFactory
from tests.procurement.conftest import make_scenario

API = "/api/v1"


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the English messages."""


def _secret(db, org, scopes=("cases:read", "cases:write", "requests:read")) -> str:
    role = {"government": Role.APPROVAL_OFFICER, "enterprise": Role.ENTERPRISE_STAFF,
            "agency": Role.AGENCY_STAFF}[org.kind.value]
    user = UserFactory(organisation=org, role=role)
    _token, secret = create_token(org, name="审批系统", scopes=list(scopes), actor=user)
    db.session.commit()
    return secret


def _get(client, url, secret, status=200):
    resp = client.get(url, headers={"Authorization": f"Bearer {secret}"})
    assert resp.status_code == status, (url, resp.status_code, resp.get_data(as_text=True)[:300])
    assert resp.mimetype == "application/json"
    return resp.get_json()


def _walk(client, url, secret, limit, cursor=None) -> list[dict]:
    seen = []
    for _ in range(50):
        sep = "&" if "?" in url else "?"
        data = _get(client, f"{url}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else ""), secret)
        assert len(data["items"]) <= limit
        seen += data["items"]
        cursor = data["next_cursor"]
        if not cursor:
            return seen
    raise AssertionError("the cursors never ended")


# --- the list of cases ------------------------------------------------------------------------


def test_each_organisation_lists_its_own_cases_newest_first(client, db):
    dept, other_dept = GovernmentFactory(), GovernmentFactory()
    applicant, other_applicant = EnterpriseFactory(), EnterpriseFactory()
    mine = [ApprovalCaseFactory(department=dept, applicant=applicant if i % 2 else other_applicant)
            for i in range(4)]
    foreign = ApprovalCaseFactory(department=other_dept, applicant=other_applicant)
    db.session.commit()

    listed = _walk(client, f"{API}/cases", _secret(db, dept), 3)
    assert [c["id"] for c in listed] == sorted((c.id for c in mine), reverse=True)
    first = listed[0]
    assert first["department"]["id"] == dept.id and first["case_number"] == mine[-1].case_number
    assert first["web_url"].endswith(f"/cases/{mine[-1].id}")

    own = _walk(client, f"{API}/cases", _secret(db, applicant), 10)
    assert {c["id"] for c in own} == {c.id for c in mine if c.applicant_id == applicant.id}
    theirs = _walk(client, f"{API}/cases", _secret(db, other_applicant), 10)
    assert {c["id"] for c in theirs} == {c.id for c in mine if c.applicant_id == other_applicant.id} | {foreign.id}
    assert _get(client, f"{API}/cases", _secret(db, GovernmentFactory()))["items"] == []
    # An agency holds no case scope; no token at all is a 401.
    agency = _secret(db, AgencyFactory(), scopes=("requests:read",))
    assert _get(client, f"{API}/cases", agency, 403)["error"]["code"] == "forbidden"
    assert client.get(f"{API}/cases").status_code == 401


def test_cursors_neither_repeat_nor_skip_when_cases_arrive_between_pages(client, db):
    dept = GovernmentFactory()
    cases = [ApprovalCaseFactory(department=dept) for _ in range(5)]
    db.session.commit()
    secret = _secret(db, dept)
    first = _get(client, f"{API}/cases?limit=2", secret)
    newer = ApprovalCaseFactory(department=dept)  # arrives while the system pages
    db.session.commit()
    rest = _walk(client, f"{API}/cases", secret, 2, cursor=first["next_cursor"])
    ids = [c["id"] for c in first["items"] + rest]
    assert ids == sorted((c.id for c in cases), reverse=True)
    assert _get(client, f"{API}/cases?limit=1", secret)["items"][0]["id"] == newer.id


def test_status_and_updated_since_filter_what_an_approval_system_polls(client, db):
    dept = GovernmentFactory()
    long_ago = utcnow() - timedelta(days=3)
    cases = [ApprovalCaseFactory(department=dept, created_at=long_ago, updated_at=long_ago) for _ in range(3)]
    db.session.commit()
    secret = _secret(db, dept)
    last_poll = utcnow() - timedelta(minutes=5)
    since = last_poll.isoformat()

    assert _get(client, f"{API}/cases?updated_since={since.replace('+', '%2B')}", secret)["items"] == []
    resp = client.patch(f"{API}/cases/{cases[1].id}", json={"status": "approved"},
                        headers={"Authorization": f"Bearer {secret}"})
    assert resp.status_code == 200
    changed = _get(client, f"{API}/cases?updated_since={since.replace('+', '%2B')}", secret)["items"]
    assert [c["id"] for c in changed] == [cases[1].id] and changed[0]["status"] == "approved"
    beijing = last_poll.astimezone(ZoneInfo("Asia/Shanghai")).isoformat()  # any offset: the same moment
    assert beijing.endswith("+08:00")
    assert [c["id"] for c in _get(client, f"{API}/cases?updated_since={beijing.replace('+', '%2B')}",
                                  secret)["items"]] == [cases[1].id]

    assert [c["id"] for c in _get(client, f"{API}/cases?status=approved", secret)["items"]] == [cases[1].id]
    assert {c["id"] for c in _get(client, f"{API}/cases?status=open", secret)["items"]} == {
        cases[0].id, cases[2].id}
    assert _get(client, f"{API}/cases?status=withdrawn", secret)["items"] == []
    both = f"{API}/cases?status=open&updated_since={since.replace('+', '%2B')}"
    assert _get(client, both, secret)["items"] == []


@pytest.mark.parametrize(("query", "status"), [
    ("status=closed", 422), ("status=", 422), ("updated_since=yesterday", 422),
    ("updated_since=2026-12-03T08:00:00", 422),  # no offset: ambiguous between UTC and Beijing time
    ("updated_since=0001-01-01T00:00:00%2B14:00", 422), ("updated_since=9999-12-31T23:59:59-12:00", 422),
    ("limit=0", 422), ("limit=101", 422), ("cursor=bm9wZQ", 400), ("cursor=" + "x" * 300, 422),
])
def test_bad_filters_are_json_4xx_and_list_nothing(client, db, query, status):
    dept = GovernmentFactory()
    ApprovalCaseFactory(department=dept)
    db.session.commit()
    body = _get(client, f"{API}/cases?{query}", _secret(db, dept), status)
    assert body["error"]["code"] in ("validation_error", "bad_request") and body["error"]["message"]
    assert "items" not in body
    assert db.session.execute(sa.select(sa.func.count(ApprovalCase.id))).scalar_one() == 1


# --- who reads a request's status -------------------------------------------------------------


def _sign(contract, *users):
    for user in users:
        contracts.sign_contract(contract, contracts.SignatureInput(
            password=DEFAULT_PASSWORD, signer_name="签署人", signer_position="经理", version=None,
            ip="203.0.113.9", user_agent="pytest"), actor=user)


def test_bidders_read_their_own_bid_and_the_public_outcome_the_winner_its_contract(client, db):
    s = make_scenario(db)
    req = s.published()
    s.bid(req, 0, 9_000_123)
    s.bid(req, 1, 8_000_456)
    db.session.commit()
    url = f"{API}/requests/{req.id}/status"
    loser = _secret(db, s.agencies[0], scopes=("requests:read",))
    winner = _secret(db, s.agencies[1], scopes=("requests:read",))
    bystander = _secret(db, s.agencies[2], scopes=("requests:read",))  # eligible, but did not bid
    stranger = _secret(db, AgencyFactory(), scopes=("requests:read",))

    # Sealed: each bidder sees its own offer only, no award, never the other's price.
    sealed = client.get(url, headers={"Authorization": f"Bearer {loser}"})
    data = sealed.get_json()
    assert sealed.status_code == 200 and data["status"] == "published" and data["award"] is None
    assert data["bid"]["price_fen"] == 9_000_123 and data["bid"]["status"] == "submitted"
    assert "8000456" not in sealed.get_data(as_text=True)
    assert _get(client, url, winner)["bid"]["price_fen"] == 8_000_456
    for secret in (bystander, stranger):
        assert _get(client, url, secret, 404)["error"]["code"] == "not_found"

    # Awarded: the result is public, so the loser reads the award; its own bid is "lost".
    run_procurement_deadlines(s.after_deadline(req))
    db.session.commit()
    data = _get(client, url, loser)
    assert data["status"] == "awarded" and data["award"]["agency"]["id"] == s.agencies[1].id
    assert data["award"]["price_fen"] == 8_000_456 and data["bid"]["status"] == "lost"
    assert data["contract"] is None and data["delivery"] is None and data["payment"] is None

    # The contract is drafted: the winner follows it; to the loser it is no public notice yet.
    db.session.refresh(req)
    run_procurement_deadlines(req.objection_deadline + timedelta(minutes=1))
    db.session.commit()
    contract = db.session.execute(sa.select(Contract).where(Contract.request_id == req.id)).scalar_one()
    data = _get(client, url, winner)
    assert data["bid"]["status"] == "won" and data["award"]["final"] is True
    assert data["contract"]["contract_no"] == contract.contract_no and data["contract"]["in_force_at"] is None
    assert _get(client, url, loser)["contract"] is None

    # In force and in delivery: the loser sees what the contract notice shows, nothing of the delivery.
    _sign(contract, s.owner, s.staff[1])
    delivery.open_delivery(contract)
    db.session.commit()
    data = _get(client, url, winner)
    assert data["contract"]["status"] == "in_force" and data["delivery"]["status"] == "in_progress"
    loser_view = _get(client, url, loser)
    assert loser_view["contract"] == data["contract"] and loser_view["delivery"] is None
    assert loser_view["payment"] is None
    # The enterprise's and the department's view is unchanged (and shows no agency bid).
    for org in (s.enterprise, s.case.department):
        full = _get(client, url, _secret(db, org, scopes=("requests:read",)))
        assert full["delivery"] == data["delivery"] and full["bid"] is None
    assert _get(client, url, bystander, 404)["error"]["code"] == "not_found"


def test_a_withdrawn_bidder_still_sees_its_withdrawal_but_a_draft_stays_hidden(client, db):
    s = make_scenario(db)
    req = s.published()
    draft = make_scenario(db, n_agencies=1).draft(title="尚未发布的采购需求")
    bid = s.bid(req, 0, 9_100_000)
    from marketplace.procurement import services as procurement

    procurement.withdraw_bid(bid, actor=s.staff[0], now=s.now + timedelta(minutes=5))
    db.session.commit()
    secret = _secret(db, s.agencies[0], scopes=("requests:read",))
    data = _get(client, f"{API}/requests/{req.id}/status", secret)
    assert data["bid"]["status"] == "withdrawn" and data["delivery"] is None
    assert _get(client, f"{API}/requests/{draft.id}/status", secret, 404)["error"]["code"] == "not_found"
    assert json.dumps(data).count("9100000") == 1  # its own price, once


def test_responses_with_real_rows_match_the_spec(app, client, db):
    import schemathesis

    from tests.api.test_schemathesis import EXCLUDED

    s = make_scenario(db)
    req = s.published()
    s.bid(req, 0, 9_000_000)
    db.session.commit()
    department, agency = _secret(db, s.case.department), _secret(db, s.agencies[0], scopes=("requests:read",))
    schema = schemathesis.openapi.from_wsgi(f"{API}/openapi.json", app)
    calls = [
        (schema[f"{API}/cases"]["GET"], {}, {"status": "open", "limit": 1}, department),
        (schema[f"{API}/requests/{{request_id}}/status"]["GET"], {"request_id": req.id}, {}, agency),
        (schema[f"{API}/requests/{{request_id}}/status"]["GET"], {"request_id": req.id}, {}, department),
    ]
    for operation, path, query, secret in calls:
        case = operation.Case(path_parameters=path, query=query, headers={"Authorization": f"Bearer {secret}"})
        response = case.call()
        assert response.status_code == 200, response.text[:300]
        assert response.json().get("items", [None]) != []
        case.validate_response(response, excluded_checks=EXCLUDED)
