"""Template strings are translated in the locale in force, also when it changes within a request."""

from flask import render_template_string
from flask_babel import force_locale, refresh


def test_template_translations_follow_force_locale_and_refresh(app):
    with app.test_request_context("/"):
        assert render_template_string("{{ _('Sign in') }}") == "登录"
        with force_locale("en"):
            assert render_template_string("{{ _('Sign in') }}") == "Sign in"
        assert render_template_string("{{ _('Sign in') }}") == "登录"
    with app.test_request_context("/?lang=en"):
        assert render_template_string("{{ _('Sign in') }}") == "Sign in"
        refresh()
        assert render_template_string("{{ _('Sign in') }}") == "Sign in"
