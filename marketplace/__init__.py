"""zhongjie-market: an online intermediary-service marketplace (网上中介服务超市)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def create_app(config_class=None):
    """Build the Flask application: config → extensions → blueprints → CLI and jobs → error handlers."""
    from flask import Flask

    from config import ProductionConfig, config_from_env
    from marketplace.main.errors import register_error_handlers
    from marketplace.setup import (
        init_extensions,
        register_blueprints,
        register_cli,
        register_jobs,
        register_template_helpers,
    )

    config_class = config_class or config_from_env()
    if issubclass(config_class, ProductionConfig):
        config_class.check()
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=config_class.INSTANCE_PATH,
        instance_relative_config=False,
    )
    app.config.from_object(config_class)
    app.config["ENV_NAME"] = next(
        (name for name, cls in _configs().items() if cls is config_class), "custom"
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if app.config["TRUSTED_PROXIES"] > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    init_extensions(app)
    register_blueprints(app)
    register_cli(app)
    register_jobs(app)
    register_template_helpers(app)
    register_error_handlers(app)
    return app


def _configs():
    from config import CONFIGS

    return CONFIGS
