"""The parts of the app factory: extensions, blueprints, CLI, template helpers."""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import g, request, session
from flask_login import current_user
from markupsafe import Markup, escape

from marketplace.core.csp import CSP
from marketplace.extensions import babel, csrf, db, limiter, login_manager, migrate, talisman


def select_locale():
    """Locale: ?lang= for one request, then the session, the user, then zh_CN (parsed once per process)."""
    from marketplace.core.i18n import parsed_locale

    return parsed_locale(_locale_code())


def _locale_code() -> str:
    from flask import current_app, has_request_context

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    requested = request.args.get("lang")
    if requested in languages:
        return requested
    if session.get("locale") in languages:
        return session["locale"]
    if current_user and getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def init_extensions(app) -> None:
    """Bind every extension to ``app``."""
    from marketplace import models  # noqa: F401  (registers every table)
    from marketplace.accounts.services import load_user

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message_category = "warning"
    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Please sign in to open this page.")
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user)
    csrf.init_app(app)
    babel.init_app(
        app, locale_selector=select_locale,
        default_translation_directories=str(app.root_path + "/translations"),
    )
    from marketplace.core import i18n

    i18n.install(app)
    limiter.init_app(app)
    talisman.init_app(
        app,
        force_https=app.config["FORCE_HTTPS"],
        strict_transport_security=app.config["FORCE_HTTPS"],
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        content_security_policy=CSP,
        content_security_policy_nonce_in=["script-src"],
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
    )
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _sqlite_pragmas(app)
    _init_api(app)


def _init_api(app) -> None:
    """The JSON API: OpenAPI spec at /api/v1/openapi.json, token auth, its own rate limit."""
    from marketplace.api import API_PREFIX, MarketplaceApi
    from marketplace.api.registry import api_blueprints

    app.config.setdefault("API_TITLE", "zhongjie-market API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", API_PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = MarketplaceApi()
    app.extensions["zj_api"] = api
    api.init_app(
        app,
        spec_kwargs={
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        },
    )
    for bp, prefix in api_blueprints():
        csrf.exempt(bp)
        api.register_blueprint(bp, url_prefix=API_PREFIX + prefix.rstrip("/"))


def _sqlite_pragmas(app) -> None:
    import sqlalchemy as sa

    with app.app_context():
        engine = db.engine

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.close()


def register_blueprints(app) -> None:
    """Every blueprint, in an explicit list."""
    from marketplace.accounts import bp as accounts_bp
    from marketplace.agencies import bp as agencies_bp
    from marketplace.api.views import ui_bp as api_ui_bp
    from marketplace.audit import bp as audit_bp
    from marketplace.catalog import bp as catalog_bp
    from marketplace.contracts import bp as contracts_bp
    from marketplace.credit import bp as credit_bp
    from marketplace.delivery import bp as delivery_bp
    from marketplace.main import bp as main_bp
    from marketplace.notifications import bp as notifications_bp
    from marketplace.payments import bp as payments_bp
    from marketplace.procurement import bp as procurement_bp
    from marketplace.ratings import bp as ratings_bp
    from marketplace.sanctions import bp as sanctions_bp
    from marketplace.search import bp as search_bp
    from marketplace.webhooks import bp as webhooks_bp
    from marketplace.workdays import bp as workdays_bp

    for bp in (main_bp, accounts_bp, audit_bp, workdays_bp, notifications_bp, api_ui_bp, webhooks_bp, search_bp,
               catalog_bp, agencies_bp, procurement_bp, credit_bp, sanctions_bp, contracts_bp):
        app.register_blueprint(bp)
    app.register_blueprint(delivery_bp)
    app.register_blueprint(payments_bp)
    app.register_blueprint(ratings_bp)
    from marketplace.complaints import bp as complaints_bp

    app.register_blueprint(complaints_bp)
    from marketplace.independence import bp as independence_bp
    from marketplace.inspections import bp as inspections_bp

    app.register_blueprint(independence_bp)
    app.register_blueprint(inspections_bp)
    from marketplace.oversight import bp as oversight_bp

    app.register_blueprint(oversight_bp)
    from marketplace.ocds import bp as ocds_bp

    app.register_blueprint(ocds_bp)
    register_search_providers(app)


def register_search_providers(app) -> None:
    """What each domain puts into the full-text search, and the tracking that keeps it current."""
    from marketplace.agencies.search import register as register_agencies
    from marketplace.catalog.search import register as register_catalog
    from marketplace.credit.search import register as register_credit
    from marketplace.procurement.search import register as register_procurement
    from marketplace.sanctions.search import register as register_sanctions
    from marketplace.search.tracking import install

    register_catalog(app)
    register_agencies(app)
    register_procurement(app)
    register_credit(app)
    register_sanctions(app)
    install()
    from marketplace.agencies.visibility import install as install_visibility

    install_visibility()


def register_jobs(app=None) -> None:
    """Each domain's periodic jobs: importing its ``jobs`` module registers them (in their
    ``order``, see ``jobs/registry.py``). Idempotent."""
    from marketplace.accounts import jobs as _accounts  # noqa: F401
    from marketplace.agencies import jobs as _agencies  # noqa: F401
    from marketplace.audit import jobs as _audit  # noqa: F401
    from marketplace.complaints import jobs as _complaints  # noqa: F401
    from marketplace.contracts import jobs as _contracts  # noqa: F401
    from marketplace.credit import jobs as _credit  # noqa: F401
    from marketplace.delivery import jobs as _delivery  # noqa: F401
    from marketplace.notifications import jobs as _notifications  # noqa: F401
    from marketplace.payments import jobs as _payments  # noqa: F401
    from marketplace.procurement import jobs as _procurement  # noqa: F401
    from marketplace.ratings import jobs as _ratings  # noqa: F401
    from marketplace.sanctions import jobs as _sanctions  # noqa: F401
    from marketplace.search import jobs as _search  # noqa: F401
    from marketplace.webhooks import jobs as _webhooks  # noqa: F401


def register_cli(app) -> None:
    """The ``flask <domain> ...`` command groups."""
    from marketplace.accounts.cli import accounts_cli
    from marketplace.agencies.cli import agencies_cli
    from marketplace.audit.cli import audit_cli
    from marketplace.catalog.cli import catalog_cli
    from marketplace.contracts.cli import contracts_cli
    from marketplace.credit.cli import credit_cli
    from marketplace.delivery.cli import delivery_cli
    from marketplace.demo.cli import seed_cli
    from marketplace.jobs.cli import jobs_cli
    from marketplace.procurement.cli import procurement_cli
    from marketplace.sanctions.cli import sanctions_cli
    from marketplace.search.cli import search_cli
    from marketplace.workdays.cli import calendar_cli

    for group in (accounts_cli, audit_cli, jobs_cli, seed_cli, calendar_cli, search_cli,
                  catalog_cli, agencies_cli, procurement_cli, credit_cli, sanctions_cli, contracts_cli):
        app.cli.add_command(group)
    app.cli.add_command(delivery_cli)


def register_template_helpers(app) -> None:
    """Globals and filters every template may use."""
    from flask_babel import get_locale

    from marketplace.core.db import utcnow
    from marketplace.core.money import format_fen
    from marketplace.core.regions import region_name
    from marketplace.core.text import colon

    @app.before_request
    def _request_nonce():
        g.request_id = secrets.token_hex(8)

    @app.context_processor
    def _globals():
        locale = get_locale()
        unread = 0
        if getattr(current_user, "is_authenticated", False):
            from marketplace.notifications.services import unread_count

            unread = unread_count(current_user)
        return {
            "unread_notifications": unread,
            "current_locale": "zh_CN" if locale and locale.language == "zh" else "en",
            "languages": app.config["LANGUAGES"],
            "now_utc": utcnow,
        }

    def label(text) -> Markup:
        """A label followed by the colon of the page's language: 「预算：」, "Budget: "."""
        return escape(text) + colon()

    app.add_template_filter(format_fen, "fen")
    app.add_template_filter(region_name, "region")
    app.add_template_filter(label, "label")
