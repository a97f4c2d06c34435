import sqlalchemy as sa

from marketplace.accounts.models import Organisation, OrgKind, Role, User
from marketplace.audit.models import AuditEvent
from tests.factories import make_uscc

PASSWORD = "Secret-pass-123"


def _form(**overrides):
    data = {
        "kind": "agency",
        "org_name": "云南青山测绘有限公司",
        "uscc": make_uscc(),
        "legal_representative": "杨青山",
        "region_code": "530103",
        "contact_phone": "0871-66668888",
        "user_name": "杨工",
        "email": "yang@example.com",
        "password": PASSWORD,
        "confirm": PASSWORD,
    }
    data.update(overrides)
    return data


def test_agency_registers_and_is_signed_in_at_once(browser, db):
    data = _form()
    resp = browser.post("/register", data, follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "云南青山测绘有限公司" in html
    org = db.session.execute(sa.select(Organisation)).scalar_one()
    assert org.kind is OrgKind.AGENCY and org.uscc == data["uscc"]
    user = db.session.execute(sa.select(User)).scalar_one()
    assert user.role is Role.AGENCY_STAFF and user.organisation_id == org.id
    assert user.password_hash.startswith("$argon2id$")
    actions = db.session.execute(sa.select(AuditEvent.action)).scalars().all()
    assert "organisation.registered" in actions
    # signed in: the workbench opens
    assert browser.get("/dashboard").status_code == 200


def test_enterprise_registration_gives_enterprise_role(browser, db):
    browser.post("/register", _form(kind="enterprise", email="e@example.com"))
    user = db.session.execute(sa.select(User)).scalar_one()
    assert user.role is Role.ENTERPRISE_STAFF


def test_full_width_uscc_is_accepted_and_stored_normalised(browser, db):
    code = make_uscc()
    full = "".join(chr(ord(c) + 0xFEE0) for c in code)
    browser.post("/register", _form(uscc=full.lower()))
    org = db.session.execute(sa.select(Organisation)).scalar_one()
    assert org.uscc == code


def test_wrong_check_character_is_explained_and_nothing_saved(browser, db):
    code = make_uscc()
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    resp = browser.post("/register", _form(uscc=wrong))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert code[17] in html
    assert "校验码" in html or "check character" in html
    assert db.session.execute(sa.select(sa.func.count(Organisation.id))).scalar() == 0


def test_one_organisation_per_code(browser, db):
    data = _form()
    browser.post("/register", data)
    browser.logout()
    resp = browser.post("/register", _form(uscc=data["uscc"], email="other@example.com"))
    assert "已注册" in resp.get_data(as_text=True) or "already registered" in resp.get_data(as_text=True)
    assert db.session.execute(sa.select(sa.func.count(Organisation.id))).scalar() == 1


def test_weak_password_and_bad_region_are_refused(browser, db):
    resp = browser.post("/register", _form(password="short", confirm="short"))
    assert db.session.execute(sa.select(sa.func.count(User.id))).scalar() == 0
    assert resp.status_code == 200
    resp = browser.post("/register", _form(region_code="990000"))
    assert db.session.execute(sa.select(sa.func.count(User.id))).scalar() == 0


def test_nul_bytes_and_overlong_text_get_a_form_error(browser, db):
    resp = browser.post("/register", _form(org_name="坏\x00名字"))
    assert resp.status_code == 200
    resp = browser.post("/register", _form(org_name="长" * 500))
    assert resp.status_code == 200
    assert db.session.execute(sa.select(sa.func.count(Organisation.id))).scalar() == 0


def test_government_kind_cannot_self_register(browser, db):
    resp = browser.post("/register", _form(kind="government"))
    assert resp.status_code == 200
    assert db.session.execute(sa.select(sa.func.count(Organisation.id))).scalar() == 0


def test_reserved_test_domain_is_accepted_like_the_demo_accounts(browser, db):
    browser.post("/register", _form(email="new@demo.zhongjie.test"))
    assert db.session.execute(sa.select(User.email)).scalar_one() == "new@demo.zhongjie.test"


def test_invalid_email_is_explained_in_chinese(browser, db):
    html = browser.post("/register", _form(email="not-an-address")).get_data(as_text=True)
    assert "电子邮箱地址无效" in html
    assert "Email" not in html and "email address" not in html
    assert db.session.execute(sa.select(User)).first() is None


def test_production_refuses_a_reserved_test_domain(app, browser, db, monkeypatch):
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    html = browser.post("/register", _form(email="new@demo.zhongjie.test")).get_data(as_text=True)
    assert "电子邮箱地址无效" in html
    assert db.session.execute(sa.select(User)).first() is None
