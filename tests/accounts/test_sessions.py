import sqlalchemy as sa

from marketplace.accounts.models import User
from tests.factories import UserFactory
from tests.factories.accounts import DEFAULT_PASSWORD


def _user(db, **kw):
    user = UserFactory(**kw)
    db.session.commit()
    return user


def test_login_and_logout(browser, db):
    user = _user(db, email="a@example.com")
    resp = browser.login("a@example.com", DEFAULT_PASSWORD)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/dashboard")
    assert browser.get("/dashboard").status_code == 200
    browser.logout()
    resp = browser.get("/dashboard")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert user.id


def test_wrong_password_gives_one_message_for_all_cases(browser, db):
    _user(db, email="a@example.com")
    r1 = browser.login("a@example.com", "wrong-password-1").get_data(as_text=True)
    r2 = browser.login("nobody@example.com", "wrong-password-1").get_data(as_text=True)
    assert "密码错误" in r1 or "Wrong" in r1
    assert ("密码错误" in r2) == ("密码错误" in r1)


def test_old_cookie_is_rejected_after_logout(app, browser, db):
    _user(db, email="a@example.com")
    browser.login("a@example.com", DEFAULT_PASSWORD)
    stolen = browser.client.get_cookie("session").value
    browser.logout()
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    resp = replay.get("/dashboard")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_password_change_ends_other_sessions_but_keeps_this_one(app, browser, db):
    _user(db, email="a@example.com")
    other = app.test_client()
    from tests.conftest import Browser

    other_browser = Browser(other)
    other_browser.login("a@example.com", DEFAULT_PASSWORD)
    assert other.get("/dashboard").status_code == 200
    browser.login("a@example.com", DEFAULT_PASSWORD)
    resp = browser.post(
        "/account",
        {"current_password": DEFAULT_PASSWORD, "password": "New-pass-4567", "confirm": "New-pass-4567"},
    )
    assert resp.status_code == 302
    assert browser.get("/dashboard").status_code == 200
    assert other.get("/dashboard").status_code == 302
    browser.logout()
    assert browser.login("a@example.com", "New-pass-4567").status_code == 302


def test_wrong_current_password_changes_nothing(browser, db):
    user = _user(db, email="a@example.com")
    before = user.password_hash
    browser.login("a@example.com", DEFAULT_PASSWORD)
    resp = browser.post(
        "/account",
        {"current_password": "not-it-12345", "password": "New-pass-4567", "confirm": "New-pass-4567"},
    )
    assert resp.status_code == 200
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == before


def test_disabled_account_is_signed_out_and_cannot_sign_in(app, browser, db):
    from marketplace.accounts.models import Role
    from tests.factories import GovernmentFactory

    admin = _user(db, email="admin@example.com", organisation=GovernmentFactory(), role=Role.ADMIN)
    _user(db, email="a@example.com")
    victim = app.test_client()
    from tests.conftest import Browser

    Browser(victim).login("a@example.com", DEFAULT_PASSWORD)
    assert victim.get("/dashboard").status_code == 200
    browser.login("admin@example.com", DEFAULT_PASSWORD)
    target = db.session.execute(sa.select(User).where(User.email == "a@example.com")).scalar_one()
    resp = browser.post(f"/admin/users/{target.id}/enabled", form_url="/admin/users")
    assert resp.status_code == 302
    assert victim.get("/dashboard").status_code == 302
    resp = Browser(app.test_client()).login("a@example.com", DEFAULT_PASSWORD)
    assert resp.status_code == 200  # the form again, with the "disabled" message
    assert admin.id


def test_post_without_csrf_token_is_refused_and_changes_nothing(client, db):
    from tests.factories import make_uscc

    resp = client.post(
        "/register",
        data={"kind": "agency", "org_name": "X", "uscc": make_uscc(), "legal_representative": "Y",
              "region_code": "530102", "contact_phone": "1", "user_name": "Z",
              "email": "z@example.com", "password": "Secret-pass-1", "confirm": "Secret-pass-1"},
    )
    assert resp.status_code == 400
    assert db.session.execute(sa.select(sa.func.count(User.id))).scalar() == 0


def test_open_redirect_through_next_is_ignored(browser, db):
    _user(db, email="a@example.com")
    resp = browser.post("/login?next=//evil.example/x", {"email": "a@example.com", "password": DEFAULT_PASSWORD},
                        form_url="/login")
    assert resp.headers["Location"].endswith("/dashboard")
