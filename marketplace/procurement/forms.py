"""Procurement forms (shape only; the rules live in services)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from marketplace.core.forms import NoControlChars, YuanField
from marketplace.procurement.models import (
    CASE_NUMBER_MAX,
    CONTENT_MAX,
    MAX_BID_DAYS,
    PERSON_MAX,
    PHONE_MAX,
    PROJECT_NAME_MAX,
    REASON_MAX,
    SCALE_MAX,
    TITLE_MAX,
    CaseStatus,
    SelectionMethod,
)

_clean = NoControlChars()


class IdSelectField(SelectField):
    """A select of database ids that treats a malformed value as "nothing chosen"."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("coerce", _coerce_id)
        super().__init__(*args, **kwargs)


class IdMultipleField(SelectMultipleField):
    """Several database ids; malformed values are a validation error, never a crash."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("coerce", _coerce_id)
        super().__init__(*args, **kwargs)


def _coerce_id(value) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 0
    return number if 0 <= number <= 2**31 - 1 else 0


class ApprovalCaseForm(FlaskForm):
    """Open an approval case (the view removes the party field the role does not use)."""

    approval_item_id = IdSelectField(_l("Approval item"), validators=[DataRequired()])
    project_name = StringField(_l("Project name"), validators=[DataRequired(), Length(max=PROJECT_NAME_MAX), _clean])
    project_code = StringField(
        _l("Investment project code"), validators=[Optional(), Length(max=40), _clean],
        description=_l("From the investment project approval platform, e.g. 2026-530102-48-01-012345. Optional."),
    )
    case_number = StringField(
        _l("Case number"), validators=[Optional(), Length(max=CASE_NUMBER_MAX), _clean],
        description=_l("The approval office's number; leave empty to have one generated."),
    )
    department_id = IdSelectField(_l("Approving department"), validators=[DataRequired()])
    applicant_uscc = StringField(
        _l("Applicant's unified social credit code"), validators=[DataRequired(), Length(max=40), _clean]
    )
    service_item_ids = IdMultipleField(
        _l("Intermediary services the case needs"), validators=[DataRequired()],
        description=_l("Only services the catalogue ties to the approval item are accepted."),
    )


class CaseStatusForm(FlaskForm):
    """The department records its decision on a case."""

    status = SelectField(
        _l("Decision"),
        choices=[(CaseStatus.APPROVED.value, _l("Approved")),
                 (CaseStatus.REJECTED.value, _l("Not approved")),
                 (CaseStatus.WITHDRAWN.value, _l("Withdrawn"))],
        validators=[DataRequired()],
    )
    reason = TextAreaField(_l("Note"), validators=[Optional(), Length(max=REASON_MAX), _clean])


class RequestForm(FlaskForm):
    """A purchase request (announcement) for one service item of one case."""

    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=TITLE_MAX), _clean])
    content = TextAreaField(
        _l("What is needed"), validators=[DataRequired(), Length(max=CONTENT_MAX), _clean],
        description=_l("Scope, deliverables and requirements. Do not restrict agencies by where they are registered."),
    )
    scale = StringField(
        _l("Project scale"), validators=[Optional(), Length(max=SCALE_MAX), _clean],
        description=_l("Investment or area, e.g. total investment ¥120 million, 35,000 m²."),
    )
    is_budgeted = RadioField(
        _l("Budget"), choices=[("yes", _l("Budgeted: a ceiling price")),
                               ("no", _l("Not budgeted: a quote range"))],
        default="yes", validators=[DataRequired()],
    )
    budget_ceiling = YuanField(_l("Budget ceiling (yuan)"))
    quote_min = YuanField(_l("Lowest acceptable quote (yuan)"))
    quote_max = YuanField(_l("Highest acceptable quote (yuan)"))
    qualification_type_ids = IdMultipleField(
        _l("Required qualifications"),
        description=_l("Only the qualifications the catalogue lists for this service can be required."),
    )
    selection_method = RadioField(
        _l("Selection method"), choices=[(m.value, m.label) for m in SelectionMethod],
        default=SelectionMethod.LOWEST_PRICE.value, validators=[DataRequired()],
    )
    direct_agency_id = IdSelectField(_l("Agency selected directly"), validators=[Optional()])
    direct_reason = TextAreaField(
        _l("Reason for the direct selection (public)"), validators=[Optional(), Length(max=REASON_MAX), _clean]
    )
    weight_price = IntegerField(_l("Weight of price (%)"), validators=[Optional(), NumberRange(0, 100)])
    weight_time = IntegerField(_l("Weight of committed time (%)"), validators=[Optional(), NumberRange(0, 100)])
    weight_credit = IntegerField(_l("Weight of credit (%)"), validators=[Optional(), NumberRange(0, 100)])
    bidding_deadline = DateTimeLocalField(
        _l("Bidding deadline (Beijing time)"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        validators=[InputRequired()],
    )
    contact_name = StringField(_l("Contact person"), validators=[DataRequired(), Length(max=PERSON_MAX), _clean])
    contact_phone = StringField(_l("Contact phone"), validators=[DataRequired(), Length(max=PHONE_MAX), _clean])
    complaint_phone = StringField(
        _l("Complaint phone"), validators=[DataRequired(), Length(max=PHONE_MAX), _clean],
        description=_l("Where agencies and the public can complain about this procurement."),
    )


class ExclusionForm(FlaskForm):
    """Keep one agency out of a request, with the public reason (回避)."""

    agency_id = IdSelectField(_l("Agency"), validators=[DataRequired()])
    reason = StringField(_l("Reason (public)"), validators=[DataRequired(), Length(max=REASON_MAX), _clean])


class ReasonForm(FlaskForm):
    """A state change that needs a reason on the record."""

    reason = TextAreaField(_l("Reason (public)"), validators=[DataRequired(), Length(max=REASON_MAX), _clean])


class BidForm(FlaskForm):
    """A sealed price and time offer."""

    price = YuanField(_l("Price (yuan)"), validators=[InputRequired()])
    days = IntegerField(_l("Committed working days"), validators=[InputRequired(), NumberRange(1, MAX_BID_DAYS)])
    version = HiddenField()


class DecisionForm(FlaskForm):
    """The enterprise's decision on an abnormally low price."""

    decision = RadioField(
        _l("Decision"), choices=[("confirm", _l("Confirm the price")), ("reject", _l("Reject the bid"))],
        validators=[DataRequired()],
    )
    reason = TextAreaField(_l("Reason (public)"), validators=[DataRequired(), Length(max=REASON_MAX), _clean])
