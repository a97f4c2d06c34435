"""What an agency says about itself: its profile and the regions it serves, its independence
declaration (与主管部门脱钩) and its certified practitioners. Every change writes an audit event;
services flush and never commit.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import Organisation
from marketplace.agencies.models import (
    CERTIFICATE_MAX,
    INTRODUCTION_MAX,
    MAX_REGIONS,
    NOTE_MAX,
    PERSON_MAX,
    WEBSITE_MAX,
    AgencyProfile,
    IndependenceDeclaration,
    Practitioner,
    ServiceRegion,
)
from marketplace.agencies.permissions import check_agency_actor, get_agency
from marketplace.audit.services import record_event
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError
from marketplace.core.regions import PROVINCES, is_valid_region
from marketplace.core.text import clean_text
from marketplace.extensions import db

DECLARATION_TEXT = _l(
    "%(org)s declares that it has no affiliation with any government department: no department, "
    "public institution under a department, or association supervised by one holds shares in it, "
    "appoints its managers or shares its staff, premises or finances; it is decoupled from its "
    "former supervising department (与主管部门脱钩). It will not provide intermediary services "
    "for approvals of any department it is tied to, and will report any change at once."
)

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
