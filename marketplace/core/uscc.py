"""Unified social credit code (统一社会信用代码) validation, GB 32100-2015."""

from __future__ import annotations

import unicodedata

from flask_babel import lazy_gettext as _l

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [pow(3, i, 31) for i in range(17)]


class USCCError(ValueError):
    """The code breaks one rule of GB 32100-2015; ``message`` says which."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def normalize_uscc(raw: str) -> str:
    """NFKC-normalise (full-width input is common), strip spaces and upper-case."""
    return "".join(unicodedata.normalize("NFKC", raw or "").split()).upper()


def check_character(first17: str) -> str:
    """The check character for the first 17 characters of a code."""
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def validate_uscc(raw: str) -> str:
    """Return the normalised code or raise ``USCCError`` naming the broken rule."""
    code = normalize_uscc(raw)
    if len(code) != 18:
        raise USCCError(
            _l("The code must have 18 characters; this one has %(n)d.", n=len(code))
        )
    bad = [c for c in code if c not in ALPHABET]
    if bad:
        raise USCCError(
            _l(
                "“%(chars)s” may not appear in a code (letters I, O, S, V and Z are never used).",
                chars="".join(dict.fromkeys(bad)),
            )
        )
    expected = check_character(code[:17])
    if code[17] != expected:
        raise USCCError(
            _l(
                "The check character is wrong: the 18th character should be %(expected)s.",
                expected=expected,
            )
        )
    return code
