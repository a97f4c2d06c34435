"""The API shell: spec, docs, JSON errors, tokens (hashed, scoped, revocable, rate limited), cursors."""

import sqlalchemy as sa

from marketplace.accounts.models import Role
from marketplace.api.models import ApiToken
from marketplace.api.services import create_token
from tests.factories import AgencyFactory, GovernmentFactory, UserFactory


def _token(db, org=None, scopes=("org:read",)):
    org = org or GovernmentFactory()
    user = UserFactory(organisation=org, role=Role.APPROVAL_OFFICER if org.kind.value == "government" else None) \
        if org.kind.value == "government" else UserFactory(organisation=org)
    token, secret = create_token(org, name="审批系统", scopes=list(scopes), actor=user)
    db.session.commit()
    return token, secret, user


def test_openapi_spec_and_docs_page(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/calendar/due-date" in spec["paths"]
    assert "bearerAuth" in spec["components"]["securitySchemes"]
    html = client.get("/api/v1/docs").get_data(as_text=True)
    assert "/api/v1/calendar/due-date" in html


def test_due_date_endpoint_matches_the_calendar(client):
    data = client.get("/api/v1/calendar/due-date?start=2026-09-30&days=3").get_json()
    assert data == {"start": "2026-09-30", "working_days": 3, "due_date": "2026-10-10", "provisional": False}


def test_errors_are_json_with_stable_codes(client):
    resp = client.get("/api/v1/calendar/due-date?start=nope&days=3")
    assert resp.status_code == 422
    body = resp.get_json()["error"]
    assert body["code"] == "validation_error" and "start" in str(body["details"])
    for url in ["/api/v1/calendar/due-date?start=2026-01-01&days=99999999999999999999",
                "/api/v1/calendar/due-date?start=2026-01-01%00&days=1",
                "/api/v1/calendar/due-date?start=2026-01-01&days=abc"]:
        resp = client.get(url)
        assert resp.status_code == 422, url
        assert resp.get_json()["error"]["code"] == "validation_error"
    resp = client.get("/api/v1/no-such-thing")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"
    resp = client.get("/api/v1/audit/events?cursor=%%%garbage")
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "bad_request"


def test_token_auth_scope_and_revocation(client, db):
    token, secret, user = _token(db)
    row = db.session.execute(sa.select(ApiToken)).scalar_one()
    assert secret not in (row.token_hash, row.prefix) and len(row.token_hash) == 64
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer zjm_x_y"}).status_code == 401
    resp = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert resp.status_code == 200 and resp.get_json()["organisation"]["id"] == token.organisation_id
    from marketplace.api.services import revoke_token

    revoke_token(token, actor=user)
    db.session.commit()
    resp = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "unauthorized"


def test_missing_scope_is_403(client, db):
    _t, secret, _u = _token(db, scopes=("cases:read",))
    resp = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"


def test_the_token_is_checked_before_the_input(client, db):
    """A caller without a valid token (or the scope) learns that first, not what its input lacks."""
    bad_body = {"approval_case_id": "x", "unknown": 1}
    for resp in (client.post("/api/v1/requests", json=bad_body),
                 client.get("/api/v1/cases?updated_since=2026-13-01"),
                 client.post("/api/v1/requests", json=bad_body, headers={"Authorization": "Bearer zjm_x_y"})):
        assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "unauthorized"
    _t, secret, _u = _token(db, scopes=("org:read",))
    resp = client.get("/api/v1/cases?updated_since=2026-13-01", headers={"Authorization": f"Bearer {secret}"})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    _t, secret, _u = _token(db, scopes=("cases:read",))
    resp = client.get("/api/v1/cases?updated_since=2026-13-01", headers={"Authorization": f"Bearer {secret}"})
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "validation_error"


def test_scopes_follow_the_organisation_kind(app, db):
    import pytest

    from marketplace.core.errors import DomainError

    agency = AgencyFactory()
    user = UserFactory(organisation=agency)
    with pytest.raises(DomainError):
        create_token(agency, name="x", scopes=["cases:write"], actor=user)
    _tok, secret = create_token(agency, name="x", scopes=["bids:write"], actor=user)
    assert secret.startswith("zjm_")


def test_ui_creates_token_shown_once_and_revokes(browser, db, login_as):
    user = UserFactory(organisation=GovernmentFactory(), role=Role.APPROVAL_OFFICER)
    db.session.commit()
    login_as(user)
    html = browser.post("/account/api-tokens", {"name": "并联审批系统", "scopes": ["cases:read", "org:read"]}
                        ).get_data(as_text=True)
    assert 'id="new-token"' in html
    secret = html.split('id="new-token">')[1].split("<")[0]
    assert browser.get("/account/api-tokens").get_data(as_text=True).count(secret) == 0
    token = db.session.execute(sa.select(ApiToken)).scalar_one()
    resp = browser.post(f"/account/api-tokens/{token.id}/revoke", form_url="/account/api-tokens")
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is not None


def test_cannot_revoke_another_organisations_token(browser, db, login_as):
    token, _secret, _owner = _token(db)
    stranger = UserFactory(organisation=AgencyFactory())
    db.session.commit()
    login_as(stranger)
    browser.post(f"/account/api-tokens/{token.id}/revoke", form_url="/account/api-tokens")
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is None


def test_cursor_pagination_walks_every_event_once(client, db):
    from marketplace.audit.services import record_event

    for i in range(7):
        record_event("calendar.year_imported", ("calendar_year", 2030 + i), actor="t")
    db.session.commit()
    seen, cursor = [], None
    while True:
        url = "/api/v1/audit/events?limit=3" + (f"&cursor={cursor}" if cursor else "")
        data = client.get(url).get_json()
        seen += [e["seq"] for e in data["items"]]
        cursor = data["next_cursor"]
        if not cursor:
            break
    assert seen == [7, 6, 5, 4, 3, 2, 1]


def test_api_rate_limit_is_json_429(app, client):
    app.config["API_RATE_LIMIT"] = "3 per minute"
    try:
        responses = [client.get("/api/v1/calendar/due-date?start=2026-01-05&days=1") for _ in range(5)]
    finally:
        app.config["API_RATE_LIMIT"] = "120 per minute"
    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
    assert responses[3].get_json()["error"]["code"] == "rate_limited"


def test_tokens_of_a_disabled_user_stop_working(client, db):
    from marketplace.accounts.services import set_user_enabled

    _t, secret, user = _token(db)
    auth = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=auth).status_code == 200
    set_user_enabled(user, enabled=False, actor=UserFactory(organisation=GovernmentFactory(), role=Role.ADMIN))
    db.session.commit()
    resp = client.get("/api/v1/me", headers=auth)
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "unauthorized"
