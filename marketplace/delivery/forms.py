"""Delivery forms (shape only; the rules live in services)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import DateField, HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from marketplace.core.forms import NoControlChars
from marketplace.delivery.models import REASON_MAX, SUMMARY_MAX

_clean = NoControlChars()


class SubmitForm(FlaskForm):
    """The agency's result: a summary and its files (PDF, JPEG or PNG)."""

    summary = TextAreaField(_l("Summary of the result"),
                            validators=[DataRequired(), Length(max=SUMMARY_MAX), _clean])
    files = MultipleFileField(_l("Files of the result (PDF, JPEG or PNG; several allowed)"))


class DecisionForm(FlaskForm):
    """Accept the version shown (its number guards against a newer one submitted meanwhile)."""

    version = HiddenField()


class RevisionForm(FlaskForm):
    """Send the version shown back with the reasons."""

    version = HiddenField()
    reason = TextAreaField(_l("What needs to be revised"),
                           validators=[DataRequired(), Length(max=REASON_MAX), _clean])


class ExtensionForm(FlaskForm):
    """Propose a later due date."""

    new_due_date = DateField(_l("Proposed due date"), validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=REASON_MAX), _clean])


class ExtensionAnswerForm(FlaskForm):
    """Agree to or decline the other party's proposal (or withdraw one's own)."""

    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=REASON_MAX), _clean])
