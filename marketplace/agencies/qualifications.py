"""An agency's qualification certificates with their private scans: adding, correcting,
removing and listing them, the ones about to expire, and the agency's upload quota. A listing
shows only while the agency holds valid qualifications meeting its item's requirement.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from marketplace.accounts.models import Organisation
from marketplace.agencies import eligibility
from marketplace.agencies.models import CERTIFICATE_MAX, ISSUER_MAX, LEVEL_MAX, Qualification
from marketplace.agencies.permissions import check_agency_actor, get_agency
from marketplace.audit.services import record_event
from marketplace.catalog.models import QualificationType
from marketplace.core import uploads
from marketplace.core.errors import DomainError
from marketplace.core.text import clean_text, is_db_id
from marketplace.extensions import db

SCAN_PURPOSE = "qualification_scan"
MIN_YEAR, MAX_YEAR = 1949, 2200

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


def storage_usage(org_id: int) -> tuple[int, int]:
    """(bytes used, quota) for the agency's uploads."""
    from flask import current_app

    return uploads.org_usage_bytes(org_id), int(current_app.config["UPLOAD_ORG_QUOTA_BYTES"])
