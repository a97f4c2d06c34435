"""Form helpers shared by every domain."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError


class NoControlChars:
    """Refuse NUL and other control characters (PostgreSQL rejects NUL in text)."""

    def __call__(self, form, field):
        value = field.data
        if isinstance(value, str) and any(
            (ord(ch) < 32 and ch not in "\t\r\n") or ord(ch) == 127 for ch in value
        ):
            raise ValidationError(_l("This field contains characters that are not allowed."))


def apply_domain_error(form, exc) -> bool:
    """Show a service's DomainError on the form field it names; False if none matches."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is None:
        return False
    field.errors = [*field.errors, str(exc.message)] if isinstance(field.errors, list) else [str(exc.message)]
    return True
