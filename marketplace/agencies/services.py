"""Agency rules: profile, qualifications, independence, listings and their commitments.

Only an agency's own staff change its data (``check_agency_actor``). Every change writes an
audit event; services flush and never commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import contains_eager, joinedload

from marketplace.accounts.models import Organisation, OrgKind, Role
from marketplace.agencies import eligibility, visibility
from marketplace.agencies.models import (
    CERTIFICATE_MAX,
    CHANGE_NOTE_MAX,
    FEE_BASIS_MAX,
    INTRODUCTION_MAX,
    ISSUER_MAX,
    LEVEL_MAX,
    MAX_DISCOUNT_BP,
    MAX_REGIONS,
    MAX_TIME_LIMIT_DAYS,
    NOTE_MAX,
    PERSON_MAX,
    STANDARD_MAX,
    WEBSITE_MAX,
    AgencyProfile,
    AgencyVisibleCount,
    FeeKind,
    IndependenceDeclaration,
    Listing,
    ListingStatus,
    ListingVersion,
    ListingVisibility,
    Practitioner,
    Qualification,
    ServiceItemOfferStat,
    ServiceRegion,
)
from marketplace.agencies.states import LISTING_MACHINE
from marketplace.audit.services import record_event
from marketplace.catalog.models import FeeBasis, QualificationType, ServiceItem
from marketplace.core import uploads
from marketplace.core.db import utcnow
from marketplace.core.errors import ConcurrentUpdate, DomainError, NotFound, PermissionDenied
from marketplace.core.money import MAX_FEN
from marketplace.core.regions import PROVINCES, is_valid_region
from marketplace.core.text import MAX_DB_INT, clean_query, clean_text, is_db_id
from marketplace.extensions import db
from marketplace.sanctions.signals import blacklist_in_force

SCAN_PURPOSE = "qualification_scan"
MIN_YEAR, MAX_YEAR = 1949, 2200

DECLARATION_TEXT = _l(
    "%(org)s declares that it has no affiliation with any government department: no department, "
    "public institution under a department, or association supervised by one holds shares in it, "
    "appoints its managers or shares its staff, premises or finances; it is decoupled from its "
    "former supervising department (与主管部门脱钩). It will not provide intermediary services "
    "for approvals of any department it is tied to, and will report any change at once."
)


# --- who may act -----------------------------------------------------------------------------


def check_agency_actor(org: Organisation, actor) -> None:
    """Only the agency's own staff change it; the CLI and seed pass a string.

    Raises:
        PermissionDenied: ``actor`` is not a staff member of ``org``, or ``org`` is no agency.
    """
    if org.kind is not OrgKind.AGENCY:
        raise PermissionDenied(_l("Only an intermediary agency has an agency profile."))
    if isinstance(actor, str):
        return
    if (
        actor is None
        or getattr(actor, "role", None) is not Role.AGENCY_STAFF
        or actor.organisation_id != org.id
    ):
        raise PermissionDenied(_l("Only the agency’s own staff can change it."))


def can_view_scan(user, qualification: Qualification) -> bool:
    """Scans are private: the owning agency's staff, regulators and administrators see them."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.role in (Role.REGULATOR, Role.ADMIN):
        return True
    return user.role is Role.AGENCY_STAFF and user.organisation_id == qualification.organisation_id


def get_agency(org_id: int) -> Organisation:
    """An agency by id.

    Raises:
        NotFound: no such organisation, or it is not an agency.
    """
    org = db.session.get(Organisation, org_id) if is_db_id(org_id) else None
    if org is None or org.kind is not OrgKind.AGENCY:
        raise NotFound(_l("This agency does not exist."))
    return org


# --- profile and service regions -------------------------------------------------------------


def get_profile(org: Organisation) -> AgencyProfile:
    """The agency's profile, an unsaved default one if it never edited it."""
    return db.session.get(AgencyProfile, org.id) or AgencyProfile(
        organisation_id=org.id, introduction="", website="", serves_nationwide=True
    )


REGION_SPLIT = re.compile(r"[\s,，;；、]+")


def parse_region_codes(text: str) -> list[str]:
    """Region codes from free text (spaces, commas or new lines between them), deduplicated.

    Raises:
        DomainError: a code is not a six-digit division code, or there are too many.
    """
    codes: list[str] = []
    for raw in REGION_SPLIT.split(text or ""):
        if not raw:
            continue
        if not is_valid_region(raw):
            raise DomainError(
                _l("“%(code)s” is not a six-digit administrative division code.", code=raw[:20]),
                field="region_codes",
            )
        if raw not in codes:
            codes.append(raw)
    if len(codes) > MAX_REGIONS:
        raise DomainError(
            _l("List at most %(n)d regions; choose a province or a city to cover more.", n=MAX_REGIONS),
            field="region_codes",
        )
    return codes


def service_region_codes(org_id: int) -> list[str]:
    """The regions one agency serves, by code."""
    return list(
        db.session.execute(
            sa.select(ServiceRegion.region_code)
            .where(ServiceRegion.organisation_id == org_id)
            .order_by(ServiceRegion.region_code)
        ).scalars()
    )


def update_profile(
    org: Organisation,
    *,
    introduction: str,
    website: str,
    serves_nationwide: bool,
    region_codes: list[str],
    actor,
) -> AgencyProfile:
    """Save the agency's introduction, website and the regions it serves.

    Raises:
        PermissionDenied: the actor is not the agency's staff.
        DomainError: a field breaks a rule (``field`` says which).
    """
    check_agency_actor(org, actor)
    introduction = clean_text(
        introduction, max_len=INTRODUCTION_MAX, field="introduction", required=False, multiline=True
    )
    website = clean_text(website, max_len=WEBSITE_MAX, field="website", required=False)
    if website and not re.match(r"^https?://[^\s/]+\.[^\s]+$", website):
        raise DomainError(_l("A website starts with http:// or https://."), field="website")
    codes = []
    for code in region_codes:
        if not is_valid_region(code):
            raise DomainError(
                _l("“%(code)s” is not a six-digit administrative division code.", code=str(code)[:20]),
                field="region_codes",
            )
        if code not in codes:
            codes.append(code)
    if len(codes) > MAX_REGIONS:
        raise DomainError(_l("List at most %(n)d regions.", n=MAX_REGIONS), field="region_codes")
    if not serves_nationwide and not codes:
        raise DomainError(
            _l("List the regions you serve, or choose to serve the whole country."),
            field="region_codes",
        )
    profile = db.session.get(AgencyProfile, org.id)
    if profile is None:
        profile = AgencyProfile(organisation_id=org.id)
        db.session.add(profile)
    old_codes = service_region_codes(org.id)
    profile.introduction = introduction
    profile.website = website
    profile.serves_nationwide = bool(serves_nationwide)
    new_codes = [] if serves_nationwide else codes
    if sorted(new_codes) != old_codes:
        db.session.execute(sa.delete(ServiceRegion).where(ServiceRegion.organisation_id == org.id))
        db.session.add_all(ServiceRegion(organisation_id=org.id, region_code=c) for c in new_codes)
    db.session.flush()
    record_event(
        "agency.profile_updated", org, actor=actor,
        payload={"nationwide": bool(serves_nationwide), "regions": sorted(new_codes),
                 "website": website, "introduction_chars": len(introduction)},
    )
    return profile


def covering_region_codes(code: str) -> tuple[set[str], str]:
    """For a region filter: the codes that contain it (itself, its city, its province) and the
    prefix of the codes it contains."""
    province, city = code[:2] + "0000", code[:4] + "00"
    if code == province:
        return {code}, code[:2]
    if code == city:
        return {code, province}, code[:4]
    return {code, city, province}, code


def serves_region_sql(org_id, code: str):
    """SQL: the agency serves (part of) ``code``. Where it is registered never matters."""
    covering, prefix = covering_region_codes(code)
    nationwide = sa.or_(
        sa.select(AgencyProfile.organisation_id)
        .where(AgencyProfile.organisation_id == org_id, AgencyProfile.serves_nationwide.is_(True))
        .exists(),
        ~sa.select(AgencyProfile.organisation_id).where(AgencyProfile.organisation_id == org_id).exists(),
    )
    listed = (
        sa.select(ServiceRegion.region_code)
        .where(
            ServiceRegion.organisation_id == org_id,
            sa.or_(ServiceRegion.region_code.in_(sorted(covering)), ServiceRegion.region_code.like(prefix + "%")),
        )
        .exists()
    )
    return sa.or_(nationwide, listed)


def region_filter_choices() -> list[tuple[str, str]]:
    """(code, name) pairs for the region filter: provinces, then the places the site knows."""
    from marketplace.core.regions import PLACES

    provinces = [(k + "0000", v) for k, v in PROVINCES.items()]
    places = [(k, v) for k, v in sorted(PLACES.items()) if not k.endswith("0000")]
    return provinces + places


def clean_region_arg(value: str | None) -> str | None:
    """A region filter value if it is a valid code, else None."""
    value = (value or "").strip()
    return value if is_valid_region(value) else None


# --- independence declaration ----------------------------------------------------------------


def sign_declaration(
    org: Organisation, *, signer_name: str, signer_position: str, decoupling_note: str = "", actor
) -> IndependenceDeclaration:
    """Record the agency's independence declaration (与主管部门脱钩) with its signer and time.

    Raises:
        PermissionDenied: the actor is not the agency's staff.
        DomainError: a field breaks a rule.
    """
    check_agency_actor(org, actor)
    declaration = IndependenceDeclaration(
        organisation_id=org.id,
        statement=str(DECLARATION_TEXT % {"org": org.name}),
        decoupling_note=clean_text(
            decoupling_note, max_len=NOTE_MAX, field="decoupling_note", required=False, multiline=True
        ),
        signer_name=clean_text(signer_name, max_len=PERSON_MAX, field="signer_name"),
        signer_position=clean_text(signer_position, max_len=PERSON_MAX, field="signer_position"),
        signed_by_id=getattr(actor, "id", None),
        signed_at=utcnow(),
    )
    db.session.add(declaration)
    db.session.flush()
    record_event(
        "agency.independence_declared", org, actor=actor,
        payload={"declaration": declaration.id, "statement": declaration.statement,
                 "note": declaration.decoupling_note, "signer": declaration.signer_name,
                 "position": declaration.signer_position},
    )
    return declaration


def current_declaration(org_id: int) -> IndependenceDeclaration | None:
    """The newest declaration of the agency, the one in force."""
    return db.session.execute(
        sa.select(IndependenceDeclaration)
        .where(IndependenceDeclaration.organisation_id == org_id)
        .order_by(IndependenceDeclaration.signed_at.desc(), IndependenceDeclaration.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def declaration_statement(org: Organisation) -> str:
    """The statement the signer is about to sign, in the current language."""
    return str(DECLARATION_TEXT % {"org": org.name})


# --- practitioners ---------------------------------------------------------------------------


def add_practitioner(
    org: Organisation, *, name: str, certificate_no: str, specialty: str = "", actor
) -> Practitioner:
    """Add a certified practitioner to the agency.

    Raises:
        PermissionDenied: the actor is not the agency's staff.
        DomainError: a field breaks a rule or the certificate is already listed.
    """
    check_agency_actor(org, actor)
    person = Practitioner(
        organisation_id=org.id,
        name=clean_text(name, max_len=PERSON_MAX, field="name"),
        certificate_no=clean_text(certificate_no, max_len=CERTIFICATE_MAX, field="certificate_no"),
        specialty=clean_text(specialty, max_len=PERSON_MAX, field="specialty", required=False),
    )
    exists = db.session.execute(
        sa.select(Practitioner.id).where(
            Practitioner.organisation_id == org.id, Practitioner.certificate_no == person.certificate_no
        )
    ).first()
    if exists:
        raise DomainError(_l("A practitioner with this certificate number is already listed."),
                          field="certificate_no")
    db.session.add(person)
    db.session.flush()
    record_event(
        "agency.practitioner_added", org, actor=actor,
        payload={"practitioner": person.id, "name": person.name,
                 "certificate_no": person.certificate_no, "specialty": person.specialty},
    )
    return person


def remove_practitioner(person: Practitioner, *, actor) -> None:
    """Remove a practitioner from the agency.

    Raises:
        PermissionDenied: the actor is not the agency's staff.
    """
    org = get_agency(person.organisation_id)
    check_agency_actor(org, actor)
    payload = {"practitioner": person.id, "name": person.name, "certificate_no": person.certificate_no}
    db.session.delete(person)
    db.session.flush()
    record_event("agency.practitioner_removed", org, actor=actor, payload=payload)


def list_practitioners(org_id: int) -> list[Practitioner]:
    """The agency's practitioners by name."""
    return list(
        db.session.execute(
            sa.select(Practitioner).where(Practitioner.organisation_id == org_id)
            .order_by(Practitioner.name, Practitioner.id)
        ).scalars()
    )


# --- qualifications --------------------------------------------------------------------------


def _check_dates(valid_from: date | None, valid_to: date | None) -> None:
    if valid_from is None:
        raise DomainError(_l("Enter the first day of validity."), field="valid_from")
    if valid_to is None:
        raise DomainError(_l("Enter the last day of validity."), field="valid_to")
    for value, field in ((valid_from, "valid_from"), (valid_to, "valid_to")):
        if not MIN_YEAR <= value.year <= MAX_YEAR:
            raise DomainError(
                _l("The year must be between %(lo)d and %(hi)d.", lo=MIN_YEAR, hi=MAX_YEAR), field=field
            )
    if valid_to < valid_from:
        raise DomainError(
            _l("The certificate cannot be valid to a day before it is valid from."), field="valid_to"
        )


def _qualification_values(*, qualification_type_id, certificate_no, level, issuer, valid_from, valid_to):
    qtype = db.session.get(QualificationType, qualification_type_id) if is_db_id(qualification_type_id) else None
    if qtype is None:
        raise DomainError(_l("Choose a qualification type."), field="qualification_type_id")
    _check_dates(valid_from, valid_to)
    return qtype, {
        "qualification_type_id": qtype.id,
        "certificate_no": clean_text(certificate_no, max_len=CERTIFICATE_MAX, field="certificate_no"),
        "level": clean_text(level, max_len=LEVEL_MAX, field="level", required=False),
        "issuer": clean_text(issuer, max_len=ISSUER_MAX, field="issuer"),
        "valid_from": valid_from,
        "valid_to": valid_to,
    }


def _check_certificate_free(org_id: int, values: dict, exclude_id: int | None) -> None:
    stmt = sa.select(Qualification.id).where(
        Qualification.organisation_id == org_id,
        Qualification.qualification_type_id == values["qualification_type_id"],
        Qualification.certificate_no == values["certificate_no"],
    )
    if exclude_id is not None:
        stmt = stmt.where(Qualification.id != exclude_id)
    if db.session.execute(stmt).first():
        raise DomainError(_l("This certificate is already on your profile."), field="certificate_no")


def _scan_payload(stored) -> dict | None:
    if stored is None:
        return None
    return {"file": stored.id, "sha256": stored.sha256, "type": stored.content_type, "bytes": stored.size_bytes}


def add_qualification(
    org: Organisation,
    *,
    qualification_type_id: int,
    certificate_no: str,
    level: str = "",
    issuer: str,
    valid_from: date,
    valid_to: date,
    scan=None,
    actor,
) -> Qualification:
    """Add a qualification certificate, with its scan (PDF, JPEG or PNG) when given.

    Raises:
        PermissionDenied: the actor is not the agency's staff.
        DomainError: a field breaks a rule (e.g. valid to before valid from), the certificate is
            already listed, or the scan is refused (type, size, quota).
    """
    check_agency_actor(org, actor)
    qtype, values = _qualification_values(
        qualification_type_id=qualification_type_id, certificate_no=certificate_no, level=level,
        issuer=issuer, valid_from=valid_from, valid_to=valid_to,
    )
    if not qtype.is_active:
        raise DomainError(_l("This qualification type is no longer used."), field="qualification_type_id")
    _check_certificate_free(org.id, values, None)
    stored = _store_scan(org, scan, actor)
    qualification = Qualification(organisation_id=org.id, scan_file_id=stored.id if stored else None, **values)
    db.session.add(qualification)
    db.session.flush()
    record_event(
        "agency.qualification_added", org, actor=actor,
        payload={"qualification": qualification.id, "type": qtype.code,
                 **{k: str(v) for k, v in values.items()}, "scan": _scan_payload(stored)},
    )
    return qualification


def _store_scan(org, scan, actor):
    if scan is None or (hasattr(scan, "filename") and not scan.filename):
        return None
    try:
        return uploads.store_upload(
            scan, owner_org_id=org.id, purpose=SCAN_PURPOSE,
            uploaded_by=actor if not isinstance(actor, str) else None,
        )
    except DomainError as exc:
        raise DomainError(exc.message, field="scan") from exc


def update_qualification(
    qualification: Qualification,
    *,
    qualification_type_id: int,
    certificate_no: str,
    level: str = "",
    issuer: str,
    valid_from: date,
    valid_to: date,
    scan=None,
    actor,
) -> Qualification:
    """Correct or renew a certificate; a new scan replaces the old one.

    Raises:
        PermissionDenied: the actor is not the agency's staff.
        DomainError: as for ``add_qualification``.
    """
    org = get_agency(qualification.organisation_id)
    check_agency_actor(org, actor)
    _qtype, values = _qualification_values(
        qualification_type_id=qualification_type_id, certificate_no=certificate_no, level=level,
        issuer=issuer, valid_from=valid_from, valid_to=valid_to,
    )
    _check_certificate_free(org.id, values, qualification.id)
    changed = {}
    for key, new in values.items():
        old = getattr(qualification, key)
        if old != new:
            changed[key] = [str(old), str(new)]
            setattr(qualification, key, new)
    stored = _store_scan(org, scan, actor)
    if stored is not None:
        old_scan = qualification.scan
        qualification.scan_file_id = stored.id
        qualification.scan = stored
        changed["scan"] = _scan_payload(stored)
        if old_scan is not None:
            db.session.flush()
            uploads.delete_stored(old_scan)
    if changed:
        db.session.flush()
        record_event(
            "agency.qualification_updated", org, actor=actor,
            payload={"qualification": qualification.id, "changed": changed},
        )
    return qualification


def remove_qualification(qualification: Qualification, *, actor) -> None:
    """Remove a certificate entered by mistake (its scan goes too). Listings relying on it hide.

    Raises:
        PermissionDenied: the actor is not the agency's staff.
    """
    org = get_agency(qualification.organisation_id)
    check_agency_actor(org, actor)
    scan = qualification.scan
    payload = {"qualification": qualification.id, "certificate_no": qualification.certificate_no,
               "type": qualification.qualification_type_id}
    db.session.delete(qualification)
    db.session.flush()
    if scan is not None:
        uploads.delete_stored(scan)
    record_event("agency.qualification_removed", org, actor=actor, payload=payload)


def list_qualifications(org_id: int) -> list[Qualification]:
    """Every certificate of the agency (valid or not), newest expiry first, with type and scan."""
    return list(
        db.session.execute(
            sa.select(Qualification)
            .options(joinedload(Qualification.qualification_type), joinedload(Qualification.scan))
            .where(Qualification.organisation_id == org_id)
            .order_by(Qualification.valid_to.desc(), Qualification.id)
        ).scalars()
    )


def get_own(model, obj_id: int, org_id: int):
    """An object of ``model`` belonging to ``org_id``.

    Raises:
        NotFound: it does not exist or belongs to someone else (the same answer for both).
    """
    obj = db.session.get(model, obj_id) if is_db_id(obj_id) else None
    if obj is None or obj.organisation_id != org_id:
        raise NotFound(_l("This record does not exist."))
    return obj


def expiring_qualifications(*, within_days: int = 30, on: date | None = None) -> list[Qualification]:
    """Certificates valid on ``on`` whose validity ends within ``within_days`` days."""
    from datetime import timedelta

    on = on or eligibility.today()
    return list(
        db.session.execute(
            sa.select(Qualification)
            .options(joinedload(Qualification.qualification_type))
            .where(Qualification.valid_from <= on, Qualification.valid_to >= on,
                   Qualification.valid_to <= on + timedelta(days=within_days))
            .order_by(Qualification.valid_to, Qualification.id)
        ).scalars()
    )


# --- listings and their commitments ----------------------------------------------------------


@dataclass(frozen=True)
class Commitment:
    """The three commitments of a listing as entered (fee in fen, time in working days)."""

    fee_kind: FeeKind
    time_limit_days: int
    service_standard: str
    fee_basis: str = ""
    fee_min_fen: int | None = None
    fee_max_fen: int | None = None
    discount_bp: int | None = None
    change_note: str = ""


def _check_fen(value, field: str) -> int:
    if value is None:
        raise DomainError(_l("Enter an amount in yuan."), field=field)
    if not isinstance(value, int) or value < 0 or value > MAX_FEN:
        raise DomainError(_l("The amount must be between 0 and 100,000,000,000 yuan."), field=field)
    return value


def check_commitment(item: ServiceItem, terms: Commitment) -> Commitment:
    """Normalise ``terms`` and check them against ``item``.

    Raises:
        DomainError: a fee range whose minimum exceeds its maximum, a discount on an item without
            a government standard, a time limit out of range or above the statutory one, or a
            text too long (``field`` says which).
    """
    kind = FeeKind(terms.fee_kind)
    fee_min = fee_max = discount = None
    if kind is FeeKind.FIXED:
        fee_min = fee_max = _check_fen(terms.fee_min_fen, "fee_amount")
    elif kind is FeeKind.RANGE:
        fee_min = _check_fen(terms.fee_min_fen, "fee_min")
        fee_max = _check_fen(terms.fee_max_fen, "fee_max")
        if fee_min > fee_max:
            raise DomainError(
                _l("The lowest fee must not be higher than the highest fee."), field="fee_max"
            )
    else:
        if item.fee_basis is not FeeBasis.GOVERNMENT:
            raise DomainError(
                _l("This service has no government fee standard; state a fixed fee or a range."),
                field="fee_kind",
            )
        discount = terms.discount_bp
        if not isinstance(discount, int) or not 0 <= discount <= MAX_DISCOUNT_BP:
            raise DomainError(_l("The discount must be between 0 and 99.99 %."), field="discount_percent")
    days = terms.time_limit_days
    if not isinstance(days, int) or not 1 <= days <= MAX_TIME_LIMIT_DAYS:
        raise DomainError(
            _l("The time limit must be between 1 and %(n)d working days.", n=MAX_TIME_LIMIT_DAYS),
            field="time_limit_days",
        )
    if item.statutory_days is not None and days > item.statutory_days:
        raise DomainError(
            _l("The time limit may not exceed the statutory limit of %(n)d working days.",
               n=item.statutory_days),
            field="time_limit_days",
        )
    return Commitment(
        fee_kind=kind,
        fee_min_fen=fee_min,
        fee_max_fen=fee_max,
        discount_bp=discount,
        fee_basis=clean_text(terms.fee_basis, max_len=FEE_BASIS_MAX, field="fee_basis", multiline=True),
        time_limit_days=days,
        service_standard=clean_text(
            terms.service_standard, max_len=STANDARD_MAX, field="service_standard", multiline=True
        ),
        change_note=clean_text(terms.change_note, max_len=CHANGE_NOTE_MAX, field="change_note", required=False),
    )


def _terms_payload(terms: Commitment) -> dict:
    return {
        "fee_kind": str(terms.fee_kind), "fee_min_fen": terms.fee_min_fen,
        "fee_max_fen": terms.fee_max_fen, "discount_bp": terms.discount_bp,
        "fee_basis": terms.fee_basis, "time_limit_days": terms.time_limit_days,
        "service_standard": terms.service_standard, "change_note": terms.change_note,
    }


def _version_from(terms: Commitment, *, listing_id: int, version: int, actor) -> ListingVersion:
    return ListingVersion(
        listing_id=listing_id, version=version, fee_kind=terms.fee_kind,
        fee_min_fen=terms.fee_min_fen, fee_max_fen=terms.fee_max_fen, discount_bp=terms.discount_bp,
        fee_basis=terms.fee_basis, time_limit_days=terms.time_limit_days,
        service_standard=terms.service_standard, change_note=terms.change_note,
        valid_from=utcnow(), created_by_id=getattr(actor, "id", None),
    )


def create_listing(org: Organisation, item: ServiceItem, terms: Commitment, *, actor) -> Listing:
    """Start a listing (a draft) for one service item with its first set of commitments.

    Raises:
        PermissionDenied: the actor is not the agency's staff.
        DomainError: the item is inactive, already listed by this agency, or the terms break a rule.
    """
    check_agency_actor(org, actor)
    if not item.is_active:
        raise DomainError(_l("This service item is no longer in the catalogue."), field="service_item_id")
    terms = check_commitment(item, terms)
    exists = db.session.execute(
        sa.select(Listing.id).where(Listing.organisation_id == org.id, Listing.service_item_id == item.id)
    ).first()
    if exists:
        raise DomainError(
            _l("You already have a listing for this service item; change that one instead."),
            field="service_item_id",
        )
    listing = Listing(organisation_id=org.id, service_item_id=item.id, current_version=1)
    db.session.add(listing)
    db.session.flush()
    db.session.add(_version_from(terms, listing_id=listing.id, version=1, actor=actor))
    db.session.flush()
    record_event(
        "listing.created", listing, actor=actor,
        payload={"org": org.id, "service_item": item.code, "version": 1, **_terms_payload(terms)},
    )
    return listing


def update_commitment(
    listing: Listing, terms: Commitment, *, actor, expected_version: int | None = None
) -> ListingVersion:
    """Change the commitments: a new version in force from now; the old ones stay on record.

    ``expected_version`` is the version the editor saw; if someone saved since, nothing changes.

    Raises:
        PermissionDenied: the actor is not the agency's staff.
        ConcurrentUpdate: the listing changed since the editor loaded it.
        DomainError: the terms break a rule.
    """
    org = get_agency(listing.organisation_id)
    check_agency_actor(org, actor)
    item = db.session.get(ServiceItem, listing.service_item_id)
    terms = check_commitment(item, terms)
    seen = listing.current_version if expected_version is None else expected_version
    if not is_db_id(seen) or seen >= MAX_DB_INT:
        raise ConcurrentUpdate(_l("Someone else changed this listing first. Please reload."))
    new_version = seen + 1
    db.session.flush()
    result = db.session.execute(
        sa.update(Listing)
        .where(Listing.id == listing.id, Listing.current_version == seen)
        .values(current_version=new_version, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise ConcurrentUpdate(_l("Someone else changed this listing first. Please reload."))
    version = _version_from(terms, listing_id=listing.id, version=new_version, actor=actor)
    db.session.add(version)
    db.session.flush()
    db.session.expire(listing, ["current_version", "current", "versions", "updated_at"])
    record_event(
        "listing.commitment_changed", listing, actor=actor,
        payload={"version": new_version, **_terms_payload(terms)},
    )
    return version


def publishing_problems(listing: Listing, *, on: date | None = None) -> list[str]:
    """Why the listing cannot be published (or shown) today; empty when nothing stops it."""
    on = on or eligibility.today()
    problems = []
    item = db.session.get(ServiceItem, listing.service_item_id)
    if not item.is_active:
        problems.append(str(_l("The service item is no longer in the catalogue.")))
    if current_declaration(listing.organisation_id) is None:
        problems.append(str(_l("Sign the independence declaration first.")))
    if not eligibility.agency_qualifies_for(listing.organisation_id, item, on):
        names = ", ".join(q.name for q in item.qualification_types)
        problems.append(str(_l(
            "Your agency holds no valid qualifications meeting this item’s requirement (%(rule)s: %(names)s).",
            rule=item.qualification_rule.label, names=names,
        )))
    version = listing.current
    if item.statutory_days is not None and version.time_limit_days > item.statutory_days:
        problems.append(str(_l(
            "The time limit exceeds the statutory limit of %(n)d working days.", n=item.statutory_days
        )))
    if version.fee_kind is FeeKind.DISCOUNT and item.fee_basis is not FeeBasis.GOVERNMENT:
        problems.append(str(_l("This service has no government fee standard to discount.")))
    if eligibility.agency_is_sanctioned(listing.organisation_id, on):
        problems.append(str(_l("The agency is suspended or blacklisted.")))
    return problems


def publish_listing(listing: Listing, *, actor) -> Listing:
    """Publish a draft or withdrawn listing.

    Raises:
        PermissionDenied: the actor is not the agency's staff.
        DomainError: no independence declaration, no valid qualifications meeting the item's
            requirement, terms that no longer fit the item, or a sanction.
        InvalidTransition / ConcurrentUpdate: the status does not allow it.
    """
    org = get_agency(listing.organisation_id)
    check_agency_actor(org, actor)
    problems = publishing_problems(listing)
    if problems:
        raise DomainError(" ".join(problems))
    return LISTING_MACHINE.transition(
        listing, ListingStatus.PUBLISHED, actor=actor, payload={"version": listing.current_version}
    )


def withdraw_listing(listing: Listing, *, actor, reason: str | None = None) -> Listing:
    """Withdraw a listing from the market (it can be published again later).

    Raises:
        PermissionDenied: the actor is not the agency's staff.
        InvalidTransition / ConcurrentUpdate: the status does not allow it.
    """
    org = get_agency(listing.organisation_id)
    check_agency_actor(org, actor)
    reason = clean_text(reason, max_len=CHANGE_NOTE_MAX, field="reason", required=False) or None
    return LISTING_MACHINE.transition(listing, ListingStatus.WITHDRAWN, actor=actor, reason=reason)


def commitment_at(listing: Listing | int, when: datetime | date) -> ListingVersion | None:
    """The commitments in force at ``when`` (a date means the end of that day in China).

    None if the listing had no terms yet at that moment.
    """
    listing_id = getattr(listing, "id", listing)
    if not isinstance(when, datetime):
        when = eligibility.end_of_day(when)
    return db.session.execute(
        sa.select(ListingVersion)
        .where(ListingVersion.listing_id == listing_id, ListingVersion.valid_from <= when)
        .order_by(ListingVersion.version.desc())
        .limit(1)
    ).scalar_one_or_none()


def listing_history(listing_id: int) -> list[ListingVersion]:
    """Every version of a listing, newest first."""
    return list(
        db.session.execute(
            sa.select(ListingVersion).where(ListingVersion.listing_id == listing_id)
            .order_by(ListingVersion.version.desc())
        ).scalars()
    )


def get_listing(listing_id: int) -> Listing:
    """A listing with its item, agency and current terms.

    Raises:
        NotFound: no such listing.
    """
    if not is_db_id(listing_id):
        raise NotFound(_l("This listing does not exist."))
    listing = db.session.execute(
        sa.select(Listing)
        .options(
            joinedload(Listing.service_item).joinedload(ServiceItem.category),
            joinedload(Listing.organisation),
            joinedload(Listing.current),
        )
        .where(Listing.id == listing_id)
    ).unique().scalar_one_or_none()
    if listing is None:
        raise NotFound(_l("This listing does not exist."))
    return listing


@dataclass
class OwnListing:
    """A listing as its agency sees it: with whether it shows today and why not."""

    listing: Listing
    qualifies: bool
    compliant: bool
    sanctioned: bool

    @property
    def visible(self) -> bool:
        return (self.listing.status is ListingStatus.PUBLISHED and self.qualifies
                and self.compliant and not self.sanctioned)


def own_listings(org_id: int, *, on: date | None = None) -> list[OwnListing]:
    """The agency's listings with today's visibility, in one query."""
    on = on or eligibility.today()
    rows = db.session.execute(
        sa.select(
            Listing,
            eligibility.qualifies_sql(Listing.organisation_id, Listing.service_item_id, on).label("qualifies"),
            eligibility.listing_compliant_sql().label("compliant"),
            eligibility.sanctioned_sql(Listing.organisation_id, on).label("sanctioned"),
        )
        .options(joinedload(Listing.service_item), joinedload(Listing.current))
        .where(Listing.organisation_id == org_id)
        .order_by(Listing.updated_at.desc(), Listing.id.desc())
    ).unique().all()
    return [OwnListing(r[0], bool(r.qualifies), bool(r.compliant), bool(r.sanctioned)) for r in rows]


def listable_items(org_id: int) -> list[ServiceItem]:
    """Active service items the agency has no listing for yet."""
    taken = sa.select(Listing.service_item_id).where(Listing.organisation_id == org_id)
    return list(
        db.session.execute(
            sa.select(ServiceItem)
            .where(ServiceItem.is_active.is_(True), ServiceItem.id.not_in(taken))
            .order_by(ServiceItem.code)
        ).scalars()
    )


# --- public queries (a fixed number of SQL statements, whatever the number of rows) ----------

OFFER_SORTS = ("fee", "fee_desc", "time", "time_desc")


def _version_join():
    return sa.and_(ListingVersion.listing_id == Listing.id, ListingVersion.version == Listing.current_version)


def public_offers(
    item: ServiceItem,
    *,
    region: str | None = None,
    sort: str = "fee",
    page: int = 1,
    per_page: int = 20,
    on: date | None = None,
):
    """The public fee list (收费清单) of one service item: visible listings with their terms.

    Sorted by fee (a discount on the government standard sorts after stated amounts) or time.
    """
    on = on or eligibility.today()
    sort = sort if sort in OFFER_SORTS else "fee"
    if visibility.use_projection(on):
        return _projected_offers(item, region=region, sort=sort, page=page, per_page=per_page)
    stmt = (
        sa.select(Listing)
        .join(ListingVersion, _version_join())
        .join(Organisation, Organisation.id == Listing.organisation_id)
        .options(contains_eager(Listing.current), contains_eager(Listing.organisation))
        .where(Listing.service_item_id == item.id, eligibility.listing_visible_sql(on))
    )
    if region:
        stmt = stmt.where(serves_region_sql(Listing.organisation_id, region))
    no_amount = sa.case((ListingVersion.fee_min_fen.is_(None), 1), else_=0)
    order = {
        "fee": (no_amount, ListingVersion.fee_min_fen, ListingVersion.time_limit_days),
        "fee_desc": (no_amount, ListingVersion.fee_max_fen.desc(), ListingVersion.time_limit_days),
        "time": (ListingVersion.time_limit_days, no_amount, ListingVersion.fee_min_fen),
        "time_desc": (ListingVersion.time_limit_days.desc(), no_amount, ListingVersion.fee_min_fen),
    }[sort]
    stmt = stmt.order_by(*order, Listing.id)
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


class _OfferPagination(Pagination):
    """A page of offers found in the projection alone, then loaded by id (a deep page costs
    an index walk, not a join per skipped row)."""

    def _query_items(self) -> list:
        ids = list(db.session.execute(
            self._query_args["ids"].limit(self.per_page).offset(self._query_offset)
        ).scalars())
        if not ids:
            return []
        found = {
            listing.id: listing
            for listing in db.session.execute(
                sa.select(Listing)
                .join(ListingVersion, _version_join())
                .join(Organisation, Organisation.id == Listing.organisation_id)
                .options(contains_eager(Listing.current), contains_eager(Listing.organisation))
                .where(Listing.id.in_(ids))
            ).unique().scalars()
        }
        return [found[i] for i in ids if i in found]

    def _query_count(self) -> int:
        return db.session.execute(self._query_args["count_stmt"]).scalar() or 0


def _projected_offers(item: ServiceItem, *, region: str | None, sort: str, page: int, per_page: int):
    lv = ListingVisibility
    where = [lv.service_item_id == item.id]
    if region:
        where.append(serves_region_sql(lv.organisation_id, region))
    order = {
        "fee": (lv.no_amount, lv.fee_min_fen, lv.time_limit_days),
        "fee_desc": (lv.no_amount, lv.fee_max_fen.desc(), lv.time_limit_days),
        "time": (lv.time_limit_days, lv.no_amount, lv.fee_min_fen),
        "time_desc": (lv.time_limit_days.desc(), lv.no_amount, lv.fee_min_fen),
    }[sort]
    return _OfferPagination(
        page=page, per_page=per_page, error_out=False,
        ids=sa.select(lv.listing_id).where(*where).order_by(*order, lv.listing_id),
        count_stmt=sa.select(sa.func.count()).select_from(lv).where(*where),
    )


def offer_stats(item_ids: list[int], *, on: date | None = None) -> dict[int, dict]:
    """For each service item: how many agencies offer it today and the lowest stated fee."""
    on = on or eligibility.today()
    if not item_ids:
        return {}
    if visibility.use_projection(on):
        stat = ServiceItemOfferStat
        rows = db.session.execute(
            sa.select(stat.service_item_id, stat.offer_count, stat.min_fee_fen, stat.min_days)
            .where(stat.service_item_id.in_(item_ids))
        ).all()
    else:
        rows = db.session.execute(
            sa.select(
                Listing.service_item_id,
                sa.func.count(Listing.id),
                sa.func.min(ListingVersion.fee_min_fen),
                sa.func.min(ListingVersion.time_limit_days),
            )
            .join(ListingVersion, _version_join())
            .where(Listing.service_item_id.in_(item_ids), eligibility.listing_visible_sql(on))
            .group_by(Listing.service_item_id)
        ).all()
    return {r[0]: {"count": r[1], "min_fee_fen": r[2], "min_days": r[3]} for r in rows}


@dataclass
class AgencyCard:
    """What the directory shows of one agency."""

    organisation: Organisation
    nationwide: bool
    regions: list[str]
    qualifications: list[tuple[str, str]]
    offers: list[tuple[int, str]]


def agency_directory(
    *,
    q: str = "",
    region: str | None = None,
    category_id: int | None = None,
    service_item_id: int | None = None,
    page: int = 1,
    per_page: int = 20,
    on: date | None = None,
):
    """Agencies (those with offers first), filtered; returns (pagination, cards in page order)."""
    on = on or eligibility.today()
    stmt = agency_directory_query(q=q, region=region, category_id=category_id,
                                  service_item_id=service_item_id, on=on)
    pagination = db.paginate(stmt, page=page, per_page=per_page, error_out=False)
    return pagination, agency_cards(pagination.items, on=on)


def agency_directory_query(
    *,
    q: str = "",
    region: str | None = None,
    category_id: int | None = None,
    service_item_id: int | None = None,
    on: date | None = None,
) -> sa.Select:
    """The query behind :func:`agency_directory` (the page and the API share it)."""
    on = on or eligibility.today()
    projected = visibility.use_projection(on)
    if projected:
        # Every agency has its row there, with its name: the order below is an index walk.
        counts = AgencyVisibleCount
        stmt = (
            sa.select(Organisation)
            .join(counts, counts.organisation_id == Organisation.id)
            .where(Organisation.kind == OrgKind.AGENCY)
        )
        order = (counts.visible_count.desc(), counts.name, counts.organisation_id)
    else:
        visible_count = (
            sa.select(sa.func.count(Listing.id))
            .where(Listing.organisation_id == Organisation.id, eligibility.listing_visible_sql(on))
            .scalar_subquery()
        )
        stmt = sa.select(Organisation).where(Organisation.kind == OrgKind.AGENCY)
        order = (visible_count.desc(), Organisation.name, Organisation.id)
    q = clean_query(q)
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(Organisation.name.like(f"%{escaped}%", escape="\\"))
    if region:
        stmt = stmt.where(serves_region_sql(Organisation.id, region))
    category_id = category_id if is_db_id(category_id) else None
    service_item_id = service_item_id if is_db_id(service_item_id) else None
    if (category_id or service_item_id) and projected:
        lv = ListingVisibility
        offered = sa.select(lv.listing_id).where(lv.organisation_id == Organisation.id)
        if category_id:
            offered = offered.where(lv.category_id == category_id)
        if service_item_id:
            offered = offered.where(lv.service_item_id == service_item_id)
        stmt = stmt.where(offered.exists())
    elif category_id or service_item_id:
        offered = (
            sa.select(Listing.id)
            .join(ServiceItem, ServiceItem.id == Listing.service_item_id)
            .where(Listing.organisation_id == Organisation.id, eligibility.listing_visible_sql(on))
        )
        if category_id:
            offered = offered.where(ServiceItem.category_id == category_id)
        if service_item_id:
            offered = offered.where(Listing.service_item_id == service_item_id)
        stmt = stmt.where(offered.exists())
    return stmt.order_by(*order)


def agency_cards(orgs: list[Organisation], *, on: date | None = None) -> list[AgencyCard]:
    """Regions, valid qualifications and visible offers for many agencies in four queries."""
    on = on or eligibility.today()
    ids = [o.id for o in orgs]
    if not ids:
        return []
    nationwide = {
        org_id: flag
        for org_id, flag in db.session.execute(
            sa.select(AgencyProfile.organisation_id, AgencyProfile.serves_nationwide)
            .where(AgencyProfile.organisation_id.in_(ids))
        ).all()
    }
    regions: dict[int, list[str]] = {}
    for org_id, code in db.session.execute(
        sa.select(ServiceRegion.organisation_id, ServiceRegion.region_code)
        .where(ServiceRegion.organisation_id.in_(ids))
        .order_by(ServiceRegion.region_code)
    ).all():
        regions.setdefault(org_id, []).append(code)
    quals: dict[int, list[tuple[str, str]]] = {}
    for org_id, name, level in db.session.execute(
        sa.select(Qualification.organisation_id, QualificationType.name, Qualification.level)
        .join(QualificationType, QualificationType.id == Qualification.qualification_type_id)
        .where(Qualification.organisation_id.in_(ids), Qualification.valid_from <= on,
               Qualification.valid_to >= on)
        .order_by(QualificationType.code, Qualification.id)
    ).all():
        quals.setdefault(org_id, []).append((name, level))
    offers: dict[int, list[tuple[int, str]]] = {}
    if visibility.use_projection(on):
        lv = ListingVisibility
        offered = (
            sa.select(lv.organisation_id, ServiceItem.id, ServiceItem.name)
            .join(ServiceItem, ServiceItem.id == lv.service_item_id)
            .where(lv.organisation_id.in_(ids))
        )
    else:
        offered = (
            sa.select(Listing.organisation_id, ServiceItem.id, ServiceItem.name)
            .join(ServiceItem, ServiceItem.id == Listing.service_item_id)
            .where(Listing.organisation_id.in_(ids), eligibility.listing_visible_sql(on))
        )
    for org_id, item_id, name in db.session.execute(offered.order_by(ServiceItem.code)).all():
        offers.setdefault(org_id, []).append((item_id, name))
    return [
        AgencyCard(
            organisation=o,
            nationwide=nationwide.get(o.id, True),
            regions=regions.get(o.id, []),
            qualifications=quals.get(o.id, []),
            offers=offers.get(o.id, []),
        )
        for o in orgs
    ]


def visible_listings(org_id: int, *, on: date | None = None) -> list[Listing]:
    """The agency's listings shown today, with item and current terms."""
    on = on or eligibility.today()
    return list(
        db.session.execute(
            sa.select(Listing)
            .join(ListingVersion, _version_join())
            .join(ServiceItem, ServiceItem.id == Listing.service_item_id)
            .options(contains_eager(Listing.current), contains_eager(Listing.service_item))
            .where(Listing.organisation_id == org_id, visibility.visible_sql(on))
            .order_by(ServiceItem.code)
        ).scalars()
    )


def public_listings_query(*, service_item_id: int | None = None, on: date | None = None) -> sa.Select:
    """Every listing shown publicly today (optionally of one service item), with its current terms."""
    on = on or eligibility.today()
    stmt = (
        sa.select(Listing)
        .join(ListingVersion, _version_join())
        .join(ServiceItem, ServiceItem.id == Listing.service_item_id)
        .join(Organisation, Organisation.id == Listing.organisation_id)
        .options(contains_eager(Listing.current), contains_eager(Listing.service_item),
                 contains_eager(Listing.organisation))
        .where(visibility.visible_sql(on))
    )
    if service_item_id is not None:
        stmt = stmt.where(Listing.service_item_id == service_item_id)
    return stmt


def can_view_listing(user, listing: Listing, *, on: date | None = None, visible: bool | None = None) -> bool:
    """Visible listings are public; others only to the owner's staff, regulators and admins.

    ``visible``: whether the listing is shown on ``on``, when the caller already knows.
    """
    if getattr(user, "is_authenticated", False) and (
        user.role in (Role.REGULATOR, Role.ADMIN)
        or (user.role is Role.AGENCY_STAFF and user.organisation_id == listing.organisation_id)
    ):
        return True
    return eligibility.is_listing_visible(listing, on) if visible is None else visible


def storage_usage(org_id: int) -> tuple[int, int]:
    """(bytes used, quota) for the agency's uploads."""
    from flask import current_app

    return uploads.org_usage_bytes(org_id), int(current_app.config["UPLOAD_ORG_QUOTA_BYTES"])




# --- a blacklisting's exit (清退) -------------------------------------------------------------


def withdraw_all_listings(org_id: int, *, reason: str, actor) -> int:
    """Withdraw every published listing of an agency (its exit from the market).

    Returns how many listings were withdrawn (0 when none is published: safe to repeat).
    """
    listings = db.session.execute(
        sa.select(Listing).where(Listing.organisation_id == org_id, Listing.status == ListingStatus.PUBLISHED)
        .order_by(Listing.id)
    ).scalars().all()
    for listing in listings:
        withdraw_listing(listing, actor=actor, reason=reason)
    return len(listings)


def _on_blacklist_in_force(case, **_extra) -> None:
    """Sanctions: a blacklisting is in force; its listings leave the market (same transaction)."""
    withdraw_all_listings(case.organisation_id, reason=f"blacklisted: {case.reference}",
                          actor=f"sanction {case.reference}")


blacklist_in_force.connect(_on_blacklist_in_force)
