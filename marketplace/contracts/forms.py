"""Contract forms (shape only; the rules live in services)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from marketplace.contracts.models import (
    ACCEPTANCE_TERMS_MAX,
    CONTRACT_NO_MAX,
    PAYMENT_TERMS_MAX,
    POSITION_MAX,
    SIGNER_MAX,
    SPECIAL_TERMS_MAX,
    TERMINATION_REASON_MAX,
    TerminationGround,
)
from marketplace.core.forms import NoControlChars

_clean = NoControlChars()


class SignForm(FlaskForm):
    """Sign the reviewed version: re-enter the password, give name and position."""

    version = HiddenField()
    signer_name = StringField(_l("Signer's name"), validators=[DataRequired(), Length(max=SIGNER_MAX), _clean])
    signer_position = StringField(_l("Position"), validators=[Optional(), Length(max=POSITION_MAX), _clean])
    password = PasswordField(_l("Your password (to confirm it is you)"), validators=[DataRequired(), Length(max=200)])


class ChangesForm(FlaskForm):
    """Agreed changes to the special terms: a new version replaces the current one."""

    special_terms = TextAreaField(_l("Special terms"),
                                  validators=[Optional(), Length(max=SPECIAL_TERMS_MAX)])


class VerifyForm(FlaskForm):
    """A PDF to check and/or a contract number."""

    contract_no = StringField(_l("Contract number"), validators=[Optional(), Length(max=CONTRACT_NO_MAX), _clean])
    file = FileField(_l("Contract PDF"))


class ContractTemplateForm(FlaskForm):
    """A service item's contract clauses; empty means the model contract's default.

    The lengths are checked by the service (after line endings are normalised), so that a text
    the browser's ``maxlength`` accepted is not refused for its CR LF line breaks.
    """

    version = HiddenField()
    payment_terms = TextAreaField(
        _l("Payment terms"), validators=[Optional(), _clean],
        render_kw={"rows": 5, "maxlength": PAYMENT_TERMS_MAX})
    acceptance_terms = TextAreaField(
        _l("Acceptance of the results"), validators=[Optional(), _clean],
        render_kw={"rows": 5, "maxlength": ACCEPTANCE_TERMS_MAX})
    special_terms = TextAreaField(
        _l("Special terms"), validators=[Optional(), _clean],
        description=_l("The parties can still change these before they sign."),
        render_kw={"rows": 5, "maxlength": SPECIAL_TERMS_MAX})


class TerminationProposalForm(FlaskForm):
    """Propose to end the contract by agreement, with the reason."""

    reason = TextAreaField(_l("Reason for terminating the contract"),
                           validators=[DataRequired(), Length(max=TERMINATION_REASON_MAX)])


class TerminationAnswerForm(FlaskForm):
    """Agree to, decline or withdraw a termination proposal, with an optional note."""

    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=TERMINATION_REASON_MAX)])


class TerminationDeclarationForm(FlaskForm):
    """The enterprise ends the contract on its own, on a ground that holds now."""

    ground = SelectField(_l("Ground"), validators=[DataRequired()], choices=[
        (g.value, g.label) for g in TerminationGround if g.unilateral])
    reason = TextAreaField(_l("Statement to the agency"),
                           validators=[DataRequired(), Length(max=TERMINATION_REASON_MAX)])
