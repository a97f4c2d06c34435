"""Template translations looked up once per request and locale.

Flask-Babel's Jinja callables look the translations up for every string (three walks of the
request context and a locale-to-text conversion each); a page has 50–400 strings, which cost a
third of the home page's time. ``current_translations`` keeps the request's translations beside
the locale they belong to and looks them up again only when the locale object changes
(``force_locale`` when an e-mail is rendered in its recipient's language, ``refresh`` after a
language switch).
"""

from __future__ import annotations

from babel import Locale
from flask import g, has_app_context
from flask_babel import get_translations

_PARSED: dict[str, Locale] = {}


def parsed_locale(code: str) -> Locale:
    """``Locale.parse(code)``, parsed once per process (it normalises against babel's data)."""
    locale = _PARSED.get(code)
    if locale is None:
        locale = _PARSED[code] = Locale.parse(code)
    return locale


def _locale_in_force():
    # Flask-Babel keeps the request's locale here; force_locale and refresh replace the object.
    namespace = g.get("_flask_babel")
    return getattr(namespace, "babel_locale", None) if namespace is not None else None


def current_translations():
    """The translations of the locale in force, as Flask-Babel's ``get_translations()``."""
    if not has_app_context():
        return get_translations()
    memo = g.get("_zj_translations")
    if memo is not None and memo[0] is not None and memo[0] is _locale_in_force():
        return memo[1]
    translations = get_translations()
    g._zj_translations = (_locale_in_force(), translations)
    return translations


def install(app) -> None:
    """Replace Flask-Babel's Jinja gettext callables by the memoised ones (same behaviour)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: current_translations().ugettext(s),
        ngettext=lambda s, p, n: current_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: current_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: current_translations().unpgettext(c, s, p, n),
    )
