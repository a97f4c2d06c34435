"""API token form."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, Length

from marketplace.core.forms import NoControlChars


class TokenForm(FlaskForm):
    """Create a token with a name and scopes."""

    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=100), NoControlChars()],
                       description=_l("E.g. the approval system that will use it."))
    scopes = SelectMultipleField(
        _l("Scopes"), validators=[DataRequired()],
        option_widget=widgets.CheckboxInput(), widget=widgets.ListWidget(prefix_label=False),
    )
