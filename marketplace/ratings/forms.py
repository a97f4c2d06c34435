"""Rating forms (shape only; the rules live in services)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from marketplace.core.forms import NoControlChars
from marketplace.ratings.models import (
    COMMENT_MAX,
    HIDE_REASON_MAX,
    REPLY_MAX,
    RatingRole,
    dimension_label,
)

_clean = NoControlChars()
SCORE_CHOICES = [(str(i), str(i)) for i in range(1, 6)]


def rating_form_for(role: RatingRole, formdata=None) -> FlaskForm:
    """A form with one 1–5 choice per dimension of ``role`` and a comment."""

    class RatingForm(FlaskForm):
        comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=COMMENT_MAX), _clean])

    for dim in role.dimensions:
        setattr(RatingForm, dim, RadioField(
            dimension_label(dim), choices=SCORE_CHOICES,
            validators=[InputRequired(message=_l("Give every score as a whole number from 1 to 5."))],
        ))
    RatingForm.dimension_names = role.dimensions
    return RatingForm(formdata=formdata) if formdata is not None else RatingForm()


class ReplyForm(FlaskForm):
    """The rated party's one public reply."""

    text = TextAreaField(_l("Reply"), validators=[DataRequired(), Length(max=REPLY_MAX), _clean])


class HideForm(FlaskForm):
    """A regulator hides an abusive comment, with a reason on the record."""

    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=HIDE_REASON_MAX), _clean])
