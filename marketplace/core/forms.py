"""Form helpers shared by every domain."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import ValidationError

from marketplace.core.money import yuan_to_fen


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


class YuanField(StringField):
    """An amount typed in yuan (``12,300.50``); ``data`` is integer fen, or None when empty."""

    def process_formdata(self, valuelist):
        self.raw = valuelist[0].strip() if valuelist else ""
        self.data = None
        if not self.raw:
            return
        if len(self.raw) > 30:
            raise ValueError(_l("Enter an amount in yuan, e.g. 12000 or 12,000.50."))
        try:
            self.data = yuan_to_fen(self.raw)
        except (ValueError, ArithmeticError) as exc:  # "1e30" overflows the decimal context
            raise ValueError(
                _l("Enter an amount in yuan between 0 and 100,000,000,000, e.g. 12000 or 12,000.50.")
            ) from exc

    def _value(self):
        if getattr(self, "raw", None) is not None:
            return self.raw
        if self.data is None:
            return ""
        return f"{Decimal(self.data) / 100:.2f}"
