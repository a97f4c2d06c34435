"""The registry of notification kinds: each a translatable message with named parameters.

A domain registers its kinds at import time::

    register_kind("procurement.bid_deadline", _l("Bidding on “%(title)s” closes on %(date)s."))

Only the kind and the parameters are stored, so each reader sees the message in their language.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

_KINDS: dict[str, object] = {}


def register_kind(kind: str, message) -> None:
    """Declare a notification kind with its (lazy, translatable) message."""
    _KINDS[kind] = message


def message_for(kind: str, params: dict) -> str:
    """The message of ``kind`` in the current language, filled with ``params``."""
    template = _KINDS.get(kind)
    if template is None:
        return str(_l("Notification: %(kind)s", kind=kind))
    text = str(template)
    try:
        return text % params
    except (KeyError, TypeError, ValueError):
        return text


def known_kinds() -> list[str]:
    """Every registered kind."""
    return sorted(_KINDS)


register_kind("account.password_changed", _l("Your password was changed. Every other session has been signed out."))
register_kind("account.disabled", _l("Your account was disabled by an administrator."))
register_kind("general.message", _l("%(text)s"))
