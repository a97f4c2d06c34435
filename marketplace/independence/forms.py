"""Independence-flag forms (shape only; the rules live in services)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import DateField, IntegerField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from marketplace.core.forms import NoControlChars
from marketplace.independence.models import EVIDENCE_MAX, REASON_MAX, RESPONSE_MAX, LinkKind
from marketplace.sanctions.models import FACTS_MAX, SanctionKind

_clean = NoControlChars()
MAX_ID = 2**31 - 1


class FlagForm(FlaskForm):
    """A regulator's finding that an agency is tied to a department."""

    agency_id = IntegerField(widget=HiddenInput(), validators=[InputRequired(), NumberRange(1, MAX_ID)])
    department_id = SelectField(_l("Department concerned"), coerce=int, validators=[InputRequired()],
                                validate_choice=False)
    link_kind = SelectField(_l("Kind of link"), validators=[DataRequired()])
    evidence_text = TextAreaField(
        _l("Evidence"), validators=[DataRequired(), Length(max=EVIDENCE_MAX), _clean],
        description=_l("What shows the link: shareholders, staff, addresses, dates, sources. "
                       "The agency will read this."))
    files = MultipleFileField(_l("Evidence files (PDF, JPEG or PNG; optional)"))

    def __init__(self, *args, departments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.department_id.choices = [(0, "—")] + [(d.id, d.name) for d in departments]
        self.link_kind.choices = [(k.value, str(k.label)) for k in LinkKind]


class LiftForm(FlaskForm):
    """A regulator lifts a flag, with the reason on the record."""

    reason = TextAreaField(_l("Reason for lifting"), validators=[DataRequired(), Length(max=REASON_MAX), _clean])


class ResponseForm(FlaskForm):
    """The agency's answer to a flag."""

    text = TextAreaField(_l("Your response"), validators=[DataRequired(), Length(max=RESPONSE_MAX), _clean])


class SanctionFromFlagForm(FlaskForm):
    """Open a sanction proposal (ground: false declaration of independence) from a flag."""

    kind = SelectField(_l("Sanction"), validators=[DataRequired()])
    facts = TextAreaField(_l("Facts"), validators=[DataRequired(), Length(max=FACTS_MAX), _clean])
    end_date = DateField(_l("Proposed end"), validators=[Optional()],
                         description=_l("Empty: indefinite (not possible for a suspension)."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [(k.value, str(k.label)) for k in SanctionKind]
