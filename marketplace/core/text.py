"""Text checks services apply before anything reaches the database.

PostgreSQL refuses NUL bytes and over-long strings that SQLite stores silently, so every
service checks its text the same way, whatever the form already did.
"""

from __future__ import annotations

import unicodedata

from flask_babel import lazy_gettext as _l

from marketplace.core.errors import DomainError


def has_control_chars(value: str, *, multiline: bool = False) -> bool:
    """Whether ``value`` holds NUL or another control character (newlines allowed if multiline)."""
    allowed = "\t\r\n" if multiline else "\t"
    return any((ord(ch) < 32 and ch not in allowed) or ord(ch) == 127 for ch in value)


def clean_text(
    value,
    *,
    max_len: int,
    field: str | None = None,
    required: bool = True,
    multiline: bool = False,
) -> str:
    """Strip ``value`` and check it.

    Raises:
        DomainError: empty when required, longer than ``max_len``, or with control characters.
    """
    text = "" if value is None else str(value).strip()
    if multiline:
        text = text.replace("\r\n", "\n")
    if required and not text:
        raise DomainError(_l("This field is required."), field=field)
    if len(text) > max_len:
        raise DomainError(
            _l("At most %(n)d characters are allowed here (%(got)d given).", n=max_len, got=len(text)),
            field=field,
        )
    if has_control_chars(text, multiline=multiline):
        raise DomainError(_l("This field contains characters that are not allowed."), field=field)
    return text


def normalize_code(value) -> str:
    """A catalogue code: NFKC (full-width input is common), no spaces, upper-case."""
    return "".join(unicodedata.normalize("NFKC", str(value or "")).split()).upper()


MAX_DB_INT = 2**31 - 1


def clean_query(value, *, max_len: int = 100) -> str:
    """Search text from a query string: control characters (NUL included) dropped, trimmed."""
    text = "".join(ch for ch in str(value or "") if ord(ch) >= 32 and ord(ch) != 127)
    return text.strip()[:max_len]


def is_db_id(value) -> bool:
    """Whether ``value`` can be a primary key (PostgreSQL refuses integers of 2³¹ and more)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_DB_INT


def colon() -> str:
    """The colon after a label in the current language: 「：」 in Chinese, ": " otherwise."""
    from flask_babel import get_locale

    locale = get_locale()
    return "：" if locale is not None and locale.language == "zh" else ": "


def label(text) -> str:
    """``text`` followed by the colon of the current language: 「预算：」, "Budget: "."""
    return f"{text}{colon()}"
