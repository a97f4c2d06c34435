"""Agency forms (shape only; the rules live in services)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from marketplace.agencies.models import (
    CERTIFICATE_MAX,
    CHANGE_NOTE_MAX,
    FEE_BASIS_MAX,
    INTRODUCTION_MAX,
    ISSUER_MAX,
    LEVEL_MAX,
    MAX_TIME_LIMIT_DAYS,
    NOTE_MAX,
    PERSON_MAX,
    STANDARD_MAX,
    WEBSITE_MAX,
    FeeKind,
)
from marketplace.core.forms import NoControlChars, YuanField

_clean = NoControlChars()


class PercentField(StringField):
    """A percentage with up to two decimals; ``data`` is basis points (15.5 % → 1550)."""

    def process_formdata(self, valuelist):
        self.raw = valuelist[0].strip().rstrip("%％") if valuelist else ""
        self.data = None
        if not self.raw:
            return
        try:
            value = Decimal(self.raw)
        except InvalidOperation as exc:
            raise ValueError(_l("Enter a percentage, e.g. 15 or 12.5.")) from exc
        if not value.is_finite() or value < 0 or value >= 100 or value != value.quantize(Decimal("0.01")):
            raise ValueError(_l("Enter a percentage from 0 to 99.99 with at most two decimals."))
        self.data = int(value * 100)

    def _value(self):
        if getattr(self, "raw", None) is not None:
            return self.raw
        return "" if self.data is None else f"{self.data / 100:g}"


class ProfileForm(FlaskForm):
    """The agency's introduction and where it serves."""

    introduction = TextAreaField(
        _l("Introduction"), validators=[Optional(), Length(max=INTRODUCTION_MAX), _clean],
        description=_l("What the agency does, its experience and its strengths."),
    )
    website = StringField(_l("Website"), validators=[Optional(), Length(max=WEBSITE_MAX), _clean])
    serves_nationwide = BooleanField(_l("We serve clients anywhere in the country"))
    region_codes = TextAreaField(
        _l("Regions served"),
        validators=[Optional(), Length(max=2000), _clean],
        description=_l(
            "Six-digit division codes separated by spaces or commas, e.g. 530000 (a province), "
            "530100 (a city), 530102 (a district). Where you are registered does not matter."
        ),
    )


class DeclarationForm(FlaskForm):
    """Sign the independence declaration."""

    signer_name = StringField(_l("Signed by"), validators=[DataRequired(), Length(max=PERSON_MAX), _clean])
    signer_position = StringField(
        _l("Position"), validators=[DataRequired(), Length(max=PERSON_MAX), _clean],
        description=_l("E.g. legal representative."),
    )
    decoupling_note = TextAreaField(
        _l("Former affiliation and decoupling (if any)"),
        validators=[Optional(), Length(max=NOTE_MAX), _clean],
        description=_l("If the agency once belonged to a department, say which, when and by which document it was decoupled."),
    )
    confirm = BooleanField(
        _l("I confirm the declaration above is true and I may sign for the agency."),
        validators=[DataRequired(message=_l("Tick the box to sign."))],
    )


class PractitionerForm(FlaskForm):
    """Add a certified practitioner."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=PERSON_MAX), _clean])
    certificate_no = StringField(
        _l("Certificate number"), validators=[DataRequired(), Length(max=CERTIFICATE_MAX), _clean]
    )
    specialty = StringField(
        _l("Qualification"), validators=[Optional(), Length(max=PERSON_MAX), _clean],
        description=_l("E.g. registered surveyor, registered safety engineer."),
    )


class QualificationForm(FlaskForm):
    """Add or renew a qualification certificate."""

    qualification_type_id = SelectField(_l("Qualification type"), coerce=int, validators=[DataRequired()])
    certificate_no = StringField(
        _l("Certificate number"), validators=[DataRequired(), Length(max=CERTIFICATE_MAX), _clean]
    )
    level = StringField(
        _l("Level"), validators=[Optional(), Length(max=LEVEL_MAX), _clean],
        description=_l("E.g. 甲级 or 乙级, as printed on the certificate."),
    )
    issuer = StringField(_l("Issued by"), validators=[DataRequired(), Length(max=ISSUER_MAX), _clean])
    valid_from = DateField(_l("Valid from"), validators=[DataRequired()])
    valid_to = DateField(
        _l("Valid to (last day)"), validators=[DataRequired()],
        description=_l("The certificate stops counting the day after this date."),
    )
    scan = FileField(
        _l("Scan of the certificate"),
        description=_l("PDF, JPEG or PNG. Only your staff, regulators and administrators can open it."),
    )


class NewQualificationForm(QualificationForm):
    """A new certificate always comes with its scan."""

    scan = FileField(
        _l("Scan of the certificate"),
        validators=[FileRequired(message=_l("Upload a scan of the certificate."))],
        description=_l("PDF, JPEG or PNG. Only your staff, regulators and administrators can open it."),
    )


class CommitmentForm(FlaskForm):
    """The three commitments: fee, time limit, service standard."""

    fee_kind = RadioField(
        _l("Fee"),
        choices=[(k.value, k.label) for k in FeeKind],
        default=FeeKind.FIXED.value,
        validators=[DataRequired()],
    )
    fee_amount = YuanField(_l("Fixed fee (yuan)"))
    fee_min = YuanField(_l("Lowest fee (yuan)"))
    fee_max = YuanField(_l("Highest fee (yuan)"))
    discount_percent = PercentField(
        _l("Discount on the government standard (%)"),
        description=_l("E.g. 15 means 15 % below the standard. Only for items with a government standard."),
    )
    fee_basis = TextAreaField(
        _l("Basis of the fee"),
        validators=[DataRequired(), Length(max=FEE_BASIS_MAX), _clean],
        description=_l("How the fee is worked out, e.g. by floor area, by hectare, or the standard applied."),
    )
    time_limit_days = IntegerField(
        _l("Time limit (working days)"),
        validators=[InputRequired(), NumberRange(min=1, max=MAX_TIME_LIMIT_DAYS)],
    )
    service_standard = TextAreaField(
        _l("Service standard"),
        validators=[DataRequired(), Length(max=STANDARD_MAX), _clean],
        description=_l("What the client receives, the quality standard applied, and what is included."),
    )
    change_note = StringField(
        _l("What changed and why"), validators=[Optional(), Length(max=CHANGE_NOTE_MAX), _clean]
    )
    version = HiddenField()


class NewListingForm(CommitmentForm):
    """Offer a service item."""

    service_item_id = SelectField(_l("Service item"), coerce=int, validators=[DataRequired()])


class WithdrawForm(FlaskForm):
    """Withdraw a listing, with an optional reason."""

    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=CHANGE_NOTE_MAX), _clean])
