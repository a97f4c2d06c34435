"""Webhook endpoint form."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, Length, Optional

from marketplace.core.forms import NoControlChars


class EndpointForm(FlaskForm):
    """Register a receiver URL and the events it wants."""

    url = StringField(_l("Receiver URL"), validators=[DataRequired(), Length(max=500), NoControlChars()],
                      description=_l("An https:// address of your approval system that accepts POST requests."))
    description = StringField(_l("Description"), validators=[Optional(), Length(max=200), NoControlChars()])
    event_types = SelectMultipleField(
        _l("Events"), validators=[DataRequired()],
        option_widget=widgets.CheckboxInput(), widget=widgets.ListWidget(prefix_label=False),
    )
