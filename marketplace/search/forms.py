"""The search form (a GET form: no CSRF; it only shapes the input, bad values are dropped) and
the administrator's synonym form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from marketplace.core.forms import NoControlChars
from marketplace.search.analysis import clean_query, clean_text
from marketplace.search.backends import SearchFilters
from marketplace.search.documents import CREDIT_GRADES, FEE_BUCKETS, TIME_BUCKETS, DocType
from marketplace.search.models import SYNONYM_TERM_MAX

# Query-string names of the filters (short, readable URLs).
PARAMS = {
    "doc_type": "type", "category": "category", "region_code": "region",
    "qualification": "qual", "credit_grade": "grade", "fee": "fee", "time": "time",
}


def _text(limit: int):
    def clean(value):
        return clean_text(value if isinstance(value, str) else "", limit).strip() or None

    return clean


class SearchForm(FlaskForm):
    """Query text and facet filters from the query string."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), filters=[clean_query])
    type = SelectField(_l("Type"), choices=[("", "")] + [(t.value, t.label) for t in DocType])
    category = StringField(_l("Category"), filters=[_text(100)])
    region = StringField(_l("Region"), filters=[_text(12)])
    qual = StringField(_l("Qualification"), filters=[_text(100)])
    grade = SelectField(_l("Credit grade"), choices=[("", "")] + [(g, g) for g in CREDIT_GRADES])
    fee = SelectField(_l("Fee"), choices=[("", "")] + [(b.key, b.label) for b in FEE_BUCKETS])
    time = SelectField(_l("Time limit"), choices=[("", "")] + [(b.key, b.label) for b in TIME_BUCKETS])

    def to_filters(self) -> SearchFilters:
        """The valid filters; an invalid one is ignored rather than refused."""
        self.validate()
        values = {}
        for name, param in PARAMS.items():
            field = self[param]
            values[name] = field.data if field.data and not field.errors else None
        return SearchFilters(**values)


class SynonymForm(FlaskForm):
    """An abbreviation and what it stands for (shape only; the rules live in services)."""

    term = StringField(
        _l("Abbreviation or term"),
        validators=[DataRequired(), Length(max=SYNONYM_TERM_MAX), NoControlChars()],
        description=_l("One word, e.g. 环评."),
    )
    expansions = TextAreaField(
        _l("Also matches"),
        validators=[DataRequired(), Length(max=1000), NoControlChars()],
        description=_l("One per line (or separated by commas), e.g. 环境影响评价. A search for any "
                       "of them also finds the abbreviation."),
    )


class DeleteSynonymForm(FlaskForm):
    """The delete button (CSRF only)."""
