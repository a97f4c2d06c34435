"""Catalogue forms (shape only; the rules live in services)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from marketplace.catalog.models import (
    CODE_MAX,
    DELIVERABLE_MAX,
    DEPARTMENT_MAX,
    DESCRIPTION_MAX,
    FEE_DOCUMENT_MAX,
    LEGAL_BASIS_MAX,
    MAX_STATUTORY_DAYS,
    NAME_MAX,
    FeeBasis,
    QualificationRule,
)
from marketplace.core.forms import NoControlChars

_clean = NoControlChars()


def _code_field():
    return StringField(
        _l("Code"), validators=[DataRequired(), Length(max=CODE_MAX), _clean],
        description=_l("Letters, digits, “.”, “_” and “-”, as in the published catalogue."),
    )


class ApprovalItemForm(FlaskForm):
    """An approval item of the catalogue."""

    code = _code_field()
    name = StringField(_l("Approval item"), validators=[DataRequired(), Length(max=NAME_MAX), _clean])
    department = StringField(
        _l("Approving department"), validators=[DataRequired(), Length(max=DEPARTMENT_MAX), _clean]
    )
    legal_basis = TextAreaField(
        _l("Legal basis"), validators=[Optional(), Length(max=LEGAL_BASIS_MAX), _clean],
        description=_l("The laws and regulations that set this approval (设定依据)."),
    )
    is_active = BooleanField(_l("In force"), default=True)


class ImportForm(FlaskForm):
    """Paste CSV text or upload a CSV file."""

    text = TextAreaField(_l("CSV lines"), validators=[Optional(), Length(max=500_000)])
    file = FileField(_l("…or upload a CSV file (UTF-8)"))


class CategoryForm(FlaskForm):
    """A category of the service-item catalogue."""

    code = _code_field()
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100), _clean])
    sort_order = IntegerField(_l("Order"), default=0, validators=[InputRequired(), NumberRange(min=0, max=10000)])


class QualificationTypeForm(FlaskForm):
    """A qualification type (资质类别)."""

    code = _code_field()
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX), _clean])
    issuer = StringField(
        _l("Usually issued by"), validators=[Optional(), Length(max=DEPARTMENT_MAX), _clean]
    )
    levels = StringField(
        _l("Levels"), validators=[Optional(), Length(max=200), _clean],
        description=_l("Comma-separated, e.g. 甲级, 乙级. Leave empty if the certificate has no levels."),
    )
    is_active = BooleanField(_l("In use"), default=True)


class ServiceItemForm(FlaskForm):
    """A service item of the catalogue."""

    code = _code_field()
    name = StringField(_l("Service item"), validators=[DataRequired(), Length(max=NAME_MAX), _clean])
    category_id = SelectField(_l("Category"), coerce=int, validators=[DataRequired()])
    approval_item_ids = SelectMultipleField(
        _l("Approval items it serves"), coerce=int,
        description=_l("Hold Ctrl (⌘ on a Mac) to choose several. An approval may require only services listed for it."),
    )
    qualification_rule = RadioField(
        _l("Qualifications required"),
        choices=[(r.value, r.label) for r in QualificationRule],
        default=QualificationRule.NONE.value,
        validators=[DataRequired()],
    )
    qualification_type_ids = SelectMultipleField(_l("Qualification types"), coerce=int)
    statutory_days = IntegerField(
        _l("Statutory time limit (working days)"),
        validators=[Optional(), NumberRange(min=1, max=MAX_STATUTORY_DAYS)],
        description=_l("Leave empty if no time limit is set by law or by the catalogue."),
    )
    fee_basis = RadioField(
        _l("Fee basis"),
        choices=[(b.value, b.label) for b in FeeBasis],
        default=FeeBasis.MARKET.value,
        validators=[DataRequired()],
    )
    fee_document = StringField(
        _l("Document setting the fee standard"),
        validators=[Optional(), Length(max=FEE_DOCUMENT_MAX), _clean],
    )
    deliverable = StringField(
        _l("Typical deliverable"), validators=[Optional(), Length(max=DELIVERABLE_MAX), _clean]
    )
    description = TextAreaField(
        _l("Description"), validators=[Optional(), Length(max=DESCRIPTION_MAX), _clean]
    )
    is_active = BooleanField(_l("In the catalogue"), default=True)

