"""Payment forms (shape only; the services check the rules)."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from marketplace.core.forms import NoControlChars
from marketplace.core.money import MAX_FEN
from marketplace.payments.models import REASON_MAX, REFERENCE_MAX


class OfflinePaymentForm(FlaskForm):
    """The enterprise's bank transfer: reference, amount (yuan), date."""

    reference = StringField(_l("Bank reference"), validators=[
        DataRequired(), Length(max=REFERENCE_MAX), NoControlChars()],
        description=_l("The transaction number on your bank's transfer receipt."))
    # InputRequired: an unparsable amount or date gets its own message, not "required".
    amount = DecimalField(_l("Amount (yuan)"), places=2, validators=[
        InputRequired(), NumberRange(min=Decimal("0.01"), max=Decimal(MAX_FEN) / 100)])
    paid_on = DateField(_l("Transfer date"), validators=[InputRequired()])


class DisputeForm(FlaskForm):
    """The agency's reason for disputing a recorded transfer."""

    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=REASON_MAX), NoControlChars()])


class EmptyForm(FlaskForm):
    """A bare POST with its CSRF token."""
