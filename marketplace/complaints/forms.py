"""Objection and complaint forms (shape only; the rules live in services)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import RadioField, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from marketplace.complaints.models import (
    REASON_MAX,
    SERVICE_CATEGORIES,
    TEXT_MAX,
    Remedy,
    UpheldAgainst,
)
from marketplace.core.forms import NoControlChars

_clean = NoControlChars()
FILES_HELP = _l("PDF, JPEG or PNG; up to five files.")


class ObjectionForm(FlaskForm):
    """A bidder's objection: grounds and evidence; saved as a draft or submitted at once."""

    grounds = TextAreaField(_l("Grounds of the objection"),
                            validators=[DataRequired(), Length(max=TEXT_MAX), _clean],
                            description=_l("Which rule the result breaks, and the facts that show it."))
    files = MultipleFileField(_l("Evidence"), description=FILES_HELP)
    save_draft = SubmitField(_l("Save as draft"))
    submit_now = SubmitField(_l("Submit the objection"))


class AnswerForm(FlaskForm):
    """The enterprise's answer."""

    text = TextAreaField(_l("Your answer"), validators=[DataRequired(), Length(max=TEXT_MAX), _clean])
    files = MultipleFileField(_l("Evidence"), description=FILES_HELP)


class EscalateForm(FlaskForm):
    """The objector takes the objection to the regulator."""

    reasons = TextAreaField(_l("Why the answer does not settle the matter (optional)"),
                            validators=[Optional(), Length(max=TEXT_MAX), _clean])


class ActionForm(FlaskForm):
    """A button with nothing to fill in (only the CSRF token)."""


class ReasonForm(FlaskForm):
    """An action that needs a reason on the record."""

    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=REASON_MAX), _clean])


class DecisionForm(FlaskForm):
    """A regulator's decision on an accepted complaint."""

    outcome = RadioField(_l("Decision"), validators=[DataRequired()],
                         choices=[("upheld", _l("Uphold")), ("dismissed", _l("Dismiss"))])
    against = SelectField(_l("Upheld against"), validators=[Optional()],
                          choices=[(a.value, a.label) for a in UpheldAgainst])
    remedy = SelectField(_l("What happens to the award"), validators=[Optional()],
                         choices=[(r.value, r.label) for r in Remedy])
    text = TextAreaField(_l("Decision (published on the announcement)"),
                         validators=[DataRequired(), Length(max=TEXT_MAX), _clean])


class ServiceComplaintForm(FlaskForm):
    """A complaint about the selected agency's conduct."""

    category = SelectField(_l("What the complaint is about"), validators=[DataRequired()],
                           choices=[(c.value, c.label) for c in SERVICE_CATEGORIES])
    grounds = TextAreaField(_l("Facts and grounds"), validators=[DataRequired(), Length(max=TEXT_MAX), _clean])
    files = MultipleFileField(_l("Evidence"), description=FILES_HELP)


class RouteForm(FlaskForm):
    """Route complaints about a service item to a regulator department."""

    service_item_id = SelectField(_l("Service item"), coerce=int, validators=[DataRequired()], validate_choice=False)
    regulator_org_id = SelectField(_l("Regulator department"), coerce=int, validators=[Optional()],
                                   validate_choice=False)
