"""Every protected route, opened by every role and by an anonymous visitor."""

import pytest

from marketplace.accounts.models import OrgKind, Role
from marketplace.accounts.permissions import ROUTE_ROLES
from tests.factories import AgencyFactory, EnterpriseFactory, GovernmentFactory, UserFactory

ORG_FOR = {
    OrgKind.AGENCY: AgencyFactory,
    OrgKind.ENTERPRISE: EnterpriseFactory,
    OrgKind.GOVERNMENT: GovernmentFactory,
}


def _protected_get_routes(app):
    routes = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        key = f"{view.__module__}.{view.__name__}"
        if key not in ROUTE_ROLES or "GET" not in rule.methods or rule.arguments:
            continue
        routes.append((rule.rule, ROUTE_ROLES[key]))
    return routes


def test_every_protected_route_is_in_the_registry(app):
    routes = _protected_get_routes(app)
    assert len(routes) >= 5  # dashboard, account, admin pages


@pytest.mark.parametrize("role", list(Role))
def test_role_matrix(app, client, db, login_as, role):
    user = UserFactory(organisation=ORG_FOR[role.org_kind](), role=role)
    db.session.commit()
    login_as(user)
    for url, allowed in _protected_get_routes(app):
        resp = client.get(url)
        if allowed is None or role in allowed:
            assert resp.status_code == 200, (role, url, resp.status_code)
        else:
            assert resp.status_code == 403, (role, url, resp.status_code)


def test_anonymous_is_sent_to_login(app, client, db):
    for url, _allowed in _protected_get_routes(app):
        resp = client.get(url)
        assert resp.status_code == 302, url
        assert "/login" in resp.headers["Location"]


def test_admin_creates_government_accounts(browser, db, login_as):
    admin = UserFactory(organisation=GovernmentFactory(), role=Role.ADMIN)
    db.session.commit()
    login_as(admin)
    from tests.factories import make_uscc

    resp = browser.post("/admin/departments/new", {
        "name": "昆明市生态环境局", "uscc": make_uscc(prefix="11"),
        "legal_representative": "局长", "region_code": "530100"})
    assert resp.status_code == 302
    from marketplace.accounts.services import government_orgs

    dept = next(o for o in government_orgs() if o.name == "昆明市生态环境局")
    resp = browser.post("/admin/users/new", {
        "organisation_id": dept.id, "role": "regulator", "name": "王监管",
        "email": "wang@gov.example", "password": "Initial-pass-1"})
    assert resp.status_code == 302
    import sqlalchemy as sa

    from marketplace.accounts.models import User

    user = db.session.execute(sa.select(User).where(User.email == "wang@gov.example")).scalar_one()
    assert user.role is Role.REGULATOR and user.organisation_id == dept.id


def test_cli_creates_government_user(app, db):
    runner = app.test_cli_runner()
    from tests.factories import make_uscc

    result = runner.invoke(args=[
        "accounts", "create-user", "--email", "off@gov.example", "--name", "赵审批",
        "--role", "approval_officer", "--department", "昆明市行政审批局",
        "--uscc", make_uscc(prefix="11"), "--password", "Initial-pass-1"])
    assert result.exit_code == 0, result.output
    assert "off@gov.example" in result.output
    result = runner.invoke(args=[
        "accounts", "create-user", "--email", "x@gov.example", "--name", "x",
        "--role", "admin", "--department", "新部门", "--password", "Initial-pass-1"])
    assert result.exit_code != 0


def test_huge_ids_in_urls_are_404_not_500(browser, db, login_as):
    admin = UserFactory(organisation=GovernmentFactory(), role=Role.ADMIN)
    db.session.commit()
    login_as(admin)
    for url in ["/admin/users/99999999999/enabled", "/account/api-tokens/99999999999/revoke",
                "/account/webhooks/deliveries/99999999999/replay"]:
        assert browser.post(url, form_url="/").status_code == 404, url
    assert browser.get("/account/webhooks/99999999999").status_code == 404
