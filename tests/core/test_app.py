"""The app shell: config, security headers, limits, error pages, languages."""

import pytest

from config import ProductionConfig
from marketplace import create_app


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://localhost/x")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(ProductionConfig)


def test_production_refuses_to_start_without_a_shared_rate_limit_store(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s")
    monkeypatch.setenv("DATABASE_URL", "postgresql://localhost/x")
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(RuntimeError, match="REDIS_URL"):
        create_app(ProductionConfig)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    ProductionConfig.check()


def test_security_headers(client):
    resp = client.get("/")
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "nonce-" in csp
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_request_size_limit_gives_friendly_413(app, client):
    big = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 10)
    resp = client.post("/login", data=big, content_type="application/octet-stream")
    assert resp.status_code == 413
    assert "<html" in resp.get_data(as_text=True)


def test_404_looks_like_the_site(client):
    resp = client.get("/no-such-page")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 404
    assert "页面不存在" in html and "navbar" in html


def test_a_missing_record_is_titled_not_found_not_refused(client, db):
    html = client.get("/agencies/99999?lang=zh_CN").get_data(as_text=True)
    assert "<title>页面未找到" in html
    assert "无法执行" not in html


def test_favicon_is_served_and_linked(client):
    import re
    from io import BytesIO

    from PIL import Image

    resp = client.get("/favicon.ico")
    assert resp.status_code == 200 and resp.mimetype == "image/vnd.microsoft.icon"
    assert Image.open(BytesIO(resp.data)).format == "ICO"
    resp.close()
    html = client.get("/").get_data(as_text=True)
    links = re.findall(r'<link rel="icon" href="([^"]+)"', html)
    assert "/favicon.ico" in links
    [svg] = [link for link in links if link.endswith(".svg")]
    svg_resp = client.get(svg)
    assert svg_resp.status_code == 200 and b"<svg" in svg_resp.data
    svg_resp.close()


def test_home_page_explains_the_marketplace_in_chinese_by_default(client):
    html = client.get("/").get_data(as_text=True)
    assert 'lang="zh-CN"' in html
    assert "中介服务" in html and "零门槛" in html


def test_language_switch_per_request_and_per_session(browser):
    assert "Online Intermediary Service Marketplace" in browser.get("/?lang=en").get_data(as_text=True)
    assert "网上中介服务超市" in browser.get("/").get_data(as_text=True)
    browser.post("/language", {"locale": "en"}, form_url="/")
    html = browser.get("/").get_data(as_text=True)
    assert 'lang="en"' in html and "How it works" in html
    browser.post("/language", {"locale": "xx"}, form_url="/")
    assert 'lang="en"' in browser.get("/").get_data(as_text=True)


def test_language_is_remembered_for_the_user(browser, db, app):
    from tests.factories import UserFactory
    from tests.factories.accounts import DEFAULT_PASSWORD

    UserFactory(email="a@example.com")
    db.session.commit()
    browser.login("a@example.com", DEFAULT_PASSWORD)
    browser.post("/language", {"locale": "en"}, form_url="/")
    browser.logout()
    fresh = app.test_client()
    from tests.conftest import Browser

    Browser(fresh).login("a@example.com", DEFAULT_PASSWORD)
    assert 'lang="en"' in fresh.get("/dashboard").get_data(as_text=True)


def test_zh_cn_catalog_is_complete():
    """Every message in the catalog has a Chinese translation that is not fuzzy.

    Babel names the locale zh_CN "zh_Hans_CN", and gettext looks the catalog up by that name.
    """
    from pathlib import Path

    from babel.messages.pofile import read_po

    po = Path(__file__).resolve().parents[2] / "marketplace/translations/zh_Hans_CN/LC_MESSAGES/messages.po"
    with po.open("rb") as fh:
        catalog = read_po(fh)
    missing = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    assert not missing, f"{len(missing)} untranslated: {missing[:10]}"
    assert len(catalog) > 100


def test_unexpected_error_gives_the_site_500_page(tmp_path):
    from config import TestingConfig
    from marketplace.extensions import db as _db

    class Config(TestingConfig):
        INSTANCE_PATH = str(tmp_path)
        PLATFORM_KEY_PATH = str(tmp_path / "key.pem")
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'e.sqlite'}"
        PROPAGATE_EXCEPTIONS = False

    app = create_app(Config)

    @app.route("/boom")
    def boom():
        raise RuntimeError("unexpected")

    with app.app_context():
        _db.create_all()
    resp = app.test_client().get("/boom")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 500
    assert "navbar" in html
    assert "出错" in html
    assert "unexpected" not in html


def test_the_footer_links_the_source_when_configured(app, client):
    assert 'id="footer-source"' not in client.get("/").get_data(as_text=True)
    app.config["SOURCE_URL"] = "https://git.example.gov.cn/zhongjie-market"
    html = client.get("/?lang=zh_CN").get_data(as_text=True)
    assert 'href="https://git.example.gov.cn/zhongjie-market" id="footer-source"' in html
    assert "源代码（AGPL-3.0）" in html
