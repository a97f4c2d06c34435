"""Account forms (shape only; rules live in services)."""

from __future__ import annotations

import email_validator
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp, ValidationError

from marketplace.accounts.models import OrgKind, Role
from marketplace.core.forms import NoControlChars

_clean = NoControlChars()


class EmailAddress:
    """The syntax of an e-mail address (no DNS look-up), with our own translated message.

    Outside production the reserved ``.test`` domain (RFC 2606) is accepted, as every demo
    account uses one; production refuses it, since no mail can ever reach such an address.
    (WTForms' own ``Email()`` refuses ``.test`` everywhere and says "无效的 Email 地址".)
    """

    def __call__(self, form, field):
        production = current_app.config.get("ENV_NAME") == "production"
        try:
            email_validator.validate_email(field.data or "", check_deliverability=False,
                                           test_environment=not production)
        except email_validator.EmailNotValidError as exc:
            raise ValidationError(_l("This is not a valid e-mail address.")) from exc


class RegistrationForm(FlaskForm):
    """Register an organisation and its first user in one form."""

    kind = RadioField(
        _l("I am registering"),
        choices=[(OrgKind.AGENCY.value, _l("an intermediary agency")),
                 (OrgKind.ENTERPRISE.value, _l("an enterprise (project owner)"))],
        default=OrgKind.AGENCY.value,
        validators=[DataRequired()],
    )
    org_name = StringField(_l("Organisation name"), validators=[DataRequired(), Length(max=200), _clean])
    uscc = StringField(
        _l("Unified social credit code"),
        validators=[DataRequired(), Length(max=40), _clean],
        description=_l("18 characters, as printed on the business licence; full-width is fine."),
    )
    legal_representative = StringField(
        _l("Legal representative"), validators=[DataRequired(), Length(max=100), _clean]
    )
    region_code = StringField(
        _l("Region code"),
        validators=[DataRequired(), Regexp(r"^\d{6}$", message=_l("Six digits, e.g. 530102."))],
        description=_l("Administrative division code of the registered address, e.g. 530102."),
    )
    contact_phone = StringField(_l("Contact phone"), validators=[DataRequired(), Length(max=40), _clean])
    user_name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=100), _clean])
    email = EmailField(_l("E-mail"), validators=[DataRequired(), EmailAddress(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("Repeat password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords do not match."))],
    )


class LoginForm(FlaskForm):
    """Sign in."""

    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254), _clean])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class PasswordChangeForm(FlaskForm):
    """Change one's own password."""

    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("Repeat new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords do not match."))],
    )


class GovernmentOrgForm(FlaskForm):
    """An administrator adds a government department."""

    name = StringField(_l("Department name"), validators=[DataRequired(), Length(max=200), _clean])
    uscc = StringField(_l("Unified social credit code"), validators=[DataRequired(), Length(max=40), _clean])
    legal_representative = StringField(_l("Head of department"), validators=[DataRequired(), Length(max=100), _clean])
    region_code = StringField(
        _l("Region code"),
        validators=[DataRequired(), Regexp(r"^\d{6}$", message=_l("Six digits, e.g. 530102."))],
    )


class GovernmentUserForm(FlaskForm):
    """An administrator creates a government account."""

    organisation_id = SelectField(_l("Department"), coerce=int, validators=[DataRequired()])
    role = SelectField(
        _l("Role"),
        choices=[(r.value, r.label) for r in (Role.APPROVAL_OFFICER, Role.REGULATOR, Role.ADMIN)],
        validators=[DataRequired()],
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100), _clean])
    email = EmailField(_l("E-mail"), validators=[DataRequired(), EmailAddress(), Length(max=254)])
    password = PasswordField(_l("Initial password"), validators=[DataRequired(), Length(max=200)])


class LanguageForm(FlaskForm):
    """Switch the interface language."""

    locale = SelectField(_l("Language"), validators=[Optional()])
