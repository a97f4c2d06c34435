"""Calendar forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, IntegerField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional


class ScheduleImportForm(FlaskForm):
    """Enter a year's State Council holiday schedule."""

    year = IntegerField(_l("Year"), validators=[DataRequired(), NumberRange(min=1990, max=2200)])
    schedule = TextAreaField(
        _l("Schedule (CSV: date,kind,name)"),
        validators=[Optional(), Length(max=20000)],
        description=_l("One line per day: 2027-02-06,holiday,春节 or 2027-02-14,workday,春节调休."),
    )
    file = FileField(_l("…or upload a CSV file"))


class CalculatorForm(FlaskForm):
    """Add working days to a date (a GET form: no CSRF)."""

    class Meta:
        csrf = False

    start = DateField(_l("Start date"), validators=[DataRequired()])
    days = IntegerField(_l("Working days"), validators=[InputRequired(), NumberRange(min=0, max=3650)])
