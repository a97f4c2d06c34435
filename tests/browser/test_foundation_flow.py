"""A visitor registers an agency, signs out, signs in again and switches language."""

import pytest

from tests.factories import make_uscc

pytestmark = pytest.mark.browser


def test_register_logout_login_switch_language(live_server, page, shot):
    page.goto(live_server + "/")
    assert "网上中介服务超市" in page.title()
    shot("01-home-zh")

    page.get_by_role("link", name="注册", exact=True).first.click()
    page.wait_for_url("**/register")
    code = make_uscc()
    page.fill("#org_name", "云南浏览器测试环评有限公司")
    page.fill("#uscc", code.lower())
    page.fill("#legal_representative", "测试人")
    page.fill("#region_code", "530102")
    page.fill("#contact_phone", "0871-1234567")
    page.fill("#user_name", "浏览器用户")
    page.fill("#email", "browser@example.com")
    page.fill("#password", "Browser-pass-1")
    page.fill("#confirm", "Browser-pass-1")
    shot("02-register-filled")
    page.click("#register-form button[type=submit]")
    page.wait_for_url("**/dashboard")
    assert code in page.content()
    shot("03-dashboard")

    page.click("#user-menu")
    page.click("#logout-button")
    page.wait_for_url(live_server + "/")
    assert page.locator("#user-menu").count() == 0

    page.goto(live_server + "/login")
    page.fill("#email", "browser@example.com")
    page.fill("#password", "wrong-password-1")
    page.click("#login-form button[type=submit]")
    assert "密码错误" in page.content()
    shot("04-login-error")
    page.fill("#email", "browser@example.com")
    page.fill("#password", "Browser-pass-1")
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/dashboard")

    page.click("#language-form button[value=en]")
    page.wait_for_load_state()
    assert "My workbench" in page.content()
    assert page.locator("html").get_attribute("lang") == "en"
    shot("05-dashboard-en")

    page.goto(live_server + "/calendar?year=2026&start=2026-09-30&days=3")
    assert "2026-10-10" in page.locator("#calc-result").inner_text()
    shot("06-calendar")
