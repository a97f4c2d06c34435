"""The dashboard's filters: a GET form (no CSRF), checked for shape and range only."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from marketplace.core.regions import is_valid_region
from marketplace.oversight.services import FIRST_DAY, LAST_DAY, MAX_PERIOD_DAYS


def _id_or_none(value):
    """A positive database id, or None for "all" and for anything that is not one."""
    if value in (None, "", 0):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return _Invalid(text)
    return int(text)


class _Invalid(str):
    """A submitted choice that is not a number: kept so the form can refuse it."""


class ChoiceOfIds(SelectField):
    """A select of database ids with "all" first; an unknown id is a clear error, never a 500."""

    def __init__(self, label, *, message, **kwargs):
        super().__init__(label, coerce=_id_or_none, validate_choice=False, **kwargs)
        self.message = message

    def pre_validate(self, form):
        if self.data is None:
            return
        if isinstance(self.data, _Invalid) or self.data not in {value for value, _ in self.choices}:
            self.data = None
            raise ValidationError(self.message)


class FilterForm(FlaskForm):
    """Region, department, service item and period of the oversight dashboard."""

    class Meta:
        csrf = False

    region = StringField(
        _l("Region code"), filters=[lambda v: v.strip() if isinstance(v, str) else v],
        validators=[Optional(), Length(max=6, message=_l("A region code has six digits, e.g. 530100."))],
        description=_l("Six digits; a province (530000) or city (530100) includes its districts."),
    )
    department = ChoiceOfIds(_l("Approving department"),
                             message=_l("Choose an approving department from the list."))
    item = ChoiceOfIds(_l("Service item"), message=_l("Choose a service item from the list."))
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])

    def set_choices(self, departments, items) -> None:
        """Fill the lists ("all" first)."""
        self.department.choices = [("", _l("All departments")), *departments]
        self.item.choices = [("", _l("All service items")), *items]

    def validate_region(self, field):
        if field.data and not is_valid_region(field.data):
            raise ValidationError(_l("A region code has six digits, e.g. 530100."))

    def _check_day(self, field):
        if field.data and not (FIRST_DAY <= field.data <= LAST_DAY):
            raise ValidationError(_l("Choose a date between %(first)s and %(last)s.",
                                     first=FIRST_DAY.isoformat(), last=LAST_DAY.isoformat()))

    def validate_start(self, field):
        self._check_day(field)

    def validate_end(self, field):
        self._check_day(field)
        start = self.start.data
        if field.data and start and FIRST_DAY <= start <= LAST_DAY:
            if field.data < start:
                raise ValidationError(_l("The end of the period must not be before its start."))
            if (field.data - start).days > MAX_PERIOD_DAYS:
                raise ValidationError(_l("The period may cover at most ten years."))
