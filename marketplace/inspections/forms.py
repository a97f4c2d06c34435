"""Inspection forms (shape only; the rules live in services)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from marketplace.core.forms import NoControlChars
from marketplace.inspections.models import (
    BASIS_MAX,
    FINDINGS_MAX,
    MAX_INSPECTORS,
    MAX_PER_CHECK,
    MAX_SAMPLE,
    REASON_MAX,
    TITLE_MAX,
    InspectionStatus,
    ScopeKind,
)

_clean = NoControlChars()


class PlanForm(FlaskForm):
    """A regulator's inspection plan."""

    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=TITLE_MAX), _clean])
    basis = TextAreaField(_l("Basis and what is checked"), validators=[Optional(), Length(max=BASIS_MAX), _clean],
                          description=_l("The legal basis, the matters checked and the period. Published."))
    scope = SelectField(_l("Draw agencies from"), validators=[DataRequired()])
    service_item_id = SelectField(_l("Service item (when drawing from one item)"), coerce=int,
                                  validators=[Optional()], validate_choice=False)
    region_code = StringField(_l("Region code (when drawing from one region)"),
                              validators=[Optional(), Length(max=6), _clean],
                              description=_l("Six digits, e.g. 530100 for Kunming; 530000 for all of Yunnan."))
    agency_sample_size = IntegerField(_l("Agencies to draw"), default=5,
                                      validators=[InputRequired(), NumberRange(1, MAX_SAMPLE)])
    inspector_count = IntegerField(_l("Inspectors to draw"), default=2,
                                   validators=[InputRequired(), NumberRange(1, MAX_INSPECTORS)])
    inspectors_per_check = IntegerField(_l("Inspectors per inspection"), default=2,
                                        validators=[InputRequired(), NumberRange(1, MAX_PER_CHECK)])

    def __init__(self, *args, service_items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.scope.choices = [(k.value, str(k.label)) for k in ScopeKind]
        self.service_item_id.choices = [(0, "—")] + [(i.id, f"{i.code} {i.name}") for i in service_items]


class ActionForm(FlaskForm):
    """A button on a plan (only the CSRF token)."""


class CancelForm(FlaskForm):
    """Cancel a draft, with the reason on the record."""

    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=REASON_MAX), _clean])


class ResultForm(FlaskForm):
    """An inspector's result for one inspection."""

    result = RadioField(_l("Result"), validators=[DataRequired()], choices=[
        (InspectionStatus.PASSED.value, InspectionStatus.PASSED.label),
        (InspectionStatus.PROBLEMS.value, InspectionStatus.PROBLEMS.label),
        (InspectionStatus.REFERRED.value, InspectionStatus.REFERRED.label),
    ])
    findings = TextAreaField(_l("Findings (required unless passed)"),
                             validators=[Optional(), Length(max=FINDINGS_MAX), _clean])
