"""Sanction forms (shape only; the rules live in services)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from marketplace.core.forms import NoControlChars
from marketplace.credit.models import REF_ID_MAX, RefType
from marketplace.sanctions.grounds import active_grounds
from marketplace.sanctions.models import (
    EVIDENCE_NOTE_MAX,
    FACTS_MAX,
    MAX_EVIDENCE,
    REASON_MAX,
    TEXT_MAX,
    SanctionKind,
    SanctionStatus,
)

_clean = NoControlChars()
MAX_ID = 2**31 - 1


class EvidenceForm(Form):
    """One piece of evidence (a sub-form: the CSRF token belongs to the outer form)."""

    object_type = SelectField(_l("Kind of record"), validators=[Optional()], validate_choice=False)
    object_id = StringField(_l("Number or id"), validators=[Optional(), Length(max=REF_ID_MAX), _clean])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=EVIDENCE_NOTE_MAX), _clean])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.object_type.choices = [("", "—")] + [(t.value, str(t.label)) for t in RefType]


class ProposeForm(FlaskForm):
    """A regulator's proposal."""

    agency_id = IntegerField(widget=HiddenInput(), validators=[InputRequired(), NumberRange(1, MAX_ID)])
    supersedes = IntegerField(widget=HiddenInput(), validators=[Optional(), NumberRange(1, MAX_ID)])
    kind = SelectField(_l("Sanction"), validators=[DataRequired()])
    ground_code = SelectField(_l("Ground (published list)"), validators=[DataRequired()])
    facts = TextAreaField(_l("Facts"), validators=[DataRequired(), Length(max=FACTS_MAX), _clean],
                          description=_l("What happened, where, and when. The agency will read this."))
    start_date = DateField(_l("Proposed start"), validators=[Optional()],
                           description=_l("Empty: from the day of the decision."))
    end_date = DateField(_l("Proposed end"), validators=[Optional()],
                         description=_l("Empty: indefinite (not possible for a suspension)."))
    evidence = FieldList(FormField(EvidenceForm), min_entries=3, max_entries=MAX_EVIDENCE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [(k.value, str(k.label)) for k in SanctionKind]
        self.ground_code.choices = [(g.code, str(g.title)) for g in active_grounds()]


class NotifyForm(FlaskForm):
    """Give the agency notice (only the CSRF token)."""


class DecideForm(FlaskForm):
    """A second regulator's decision."""

    start_date = DateField(_l("Start"), validators=[Optional()])
    end_date = DateField(_l("End"), validators=[Optional()],
                         description=_l("Empty: indefinite (not possible for a suspension)."))
    reason = TextAreaField(_l("Reasons for the decision"), validators=[Optional(), Length(max=REASON_MAX), _clean])


class ReasonForm(FlaskForm):
    """An action that needs a reason on the record (withdrawing a proposal)."""

    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=REASON_MAX), _clean])


class AppealDecisionForm(FlaskForm):
    """A third regulator decides an appeal."""

    outcome = RadioField(
        _l("Outcome"), validators=[DataRequired()],
        choices=[(SanctionStatus.UPHELD.value, _l("Uphold")), (SanctionStatus.SHORTENED.value, _l("Shorten")),
                 (SanctionStatus.REVOKED.value, _l("Revoke"))],
    )
    new_end_date = DateField(_l("New end date (when shortening)"), validators=[Optional()])
    reason = TextAreaField(_l("Reasons"), validators=[DataRequired(), Length(max=REASON_MAX), _clean])


class RepairDecisionForm(FlaskForm):
    """A regulator decides a credit-repair request."""

    decision = RadioField(_l("Decision"), validators=[DataRequired()],
                          choices=[("approve", _l("Approve: the entry leaves the public list today")),
                                   ("reject", _l("Reject"))])
    reason = TextAreaField(_l("Reasons (required to reject)"),
                           validators=[Optional(), Length(max=REASON_MAX), _clean])


class TextForm(FlaskForm):
    """The agency's response, appeal or repair request."""

    text = TextAreaField(_l("Your text"), validators=[DataRequired(), Length(max=TEXT_MAX), _clean])
