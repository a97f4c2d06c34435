"""Independence flags (红顶中介): raise, respond, lift, and open a sanction proposal from one.

Every status change goes through ``states.FLAG_MACHINE`` (a conditional UPDATE plus an audit
event). Services flush and never commit; the caller commits once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from marketplace.accounts.models import Organisation, OrgKind, Role, User
from marketplace.agencies import services as agencies
from marketplace.audit.services import record_event
from marketplace.core import uploads
from marketplace.core.db import utcnow
from marketplace.core.errors import ConcurrentUpdate, DomainError, NotFound, PermissionDenied
from marketplace.core.text import clean_text, is_db_id
from marketplace.credit.models import RefType
from marketplace.extensions import db
from marketplace.independence.models import (
    EVIDENCE_MAX,
    MAX_FILES,
    REASON_MAX,
    RESPONSE_MAX,
    FlagStatus,
    IndependenceFlag,
    IndependenceFlagFile,
    LinkKind,
)
from marketplace.independence.states import FLAG_MACHINE
from marketplace.notifications.kinds import register_kind
from marketplace.notifications.services import notify, notify_organisation

REGULATOR_ROLES = (Role.REGULATOR, Role.ADMIN)
GROUND_CODE = "false_independence"
FILE_PURPOSE = "independence_evidence"

register_kind("independence.flagged", _l(
    "Flag %(ref)s: a regulator found your agency tied to %(department)s. Your agency may not bid "
    "on that department's approval cases. Open the flag to see the evidence and respond."))
register_kind("independence.lifted", _l(
    "Flag %(ref)s: the regulator lifted the flag concerning %(department)s."))
register_kind("independence.responded", _l("Flag %(ref)s: the agency responded."))


def is_regulator(user) -> bool:
    """Whether ``user`` may raise and lift flags (regulators, and administrators)."""
    return bool(getattr(user, "is_authenticated", True) and getattr(user, "role", None) in REGULATOR_ROLES)


def _require_regulator(actor) -> None:
    if not is_regulator(actor):
        raise PermissionDenied(_l("Only a regulator may do this."))


def _agency_link(flag: IndependenceFlag) -> str:
    return f"/agency/independence/{flag.id}"


def _regulator_link(flag: IndependenceFlag) -> str:
    return f"/regulator/independence/{flag.id}"


def _emit(flag: IndependenceFlag, event_type: str) -> None:
    """Push a flag event to the agency and to the regulators' departments: the only ones who see
    flags on the site (the agency's own pages, the regulators' desk); never public. No text."""
    from marketplace.webhooks.events import web_url
    from marketplace.webhooks.services import emit

    regulators = db.session.execute(
        sa.select(User.organisation_id).where(User.role == Role.REGULATOR, User.is_enabled.is_(True)).distinct()
    ).scalars()
    emit(event_type, {
        "flag_id": flag.id, "reference": flag.reference, "status": flag.status.value,
        "agency": {"id": flag.organisation_id, "name": flag.organisation.name},
        "department": {"id": flag.department_id, "name": flag.department.name},
        "link_kind": flag.link_kind.value, "raised_at": flag.raised_at.isoformat(),
        "responded_at": flag.responded_at.isoformat() if flag.responded_at else None,
        "lifted_at": flag.lifted_at.isoformat() if flag.lifted_at else None,
        "agency_url": web_url(_agency_link(flag)), "regulator_url": web_url(_regulator_link(flag)),
    }, audience=sorted({flag.organisation_id, *regulators}))


def _org(org_id, kind: OrgKind) -> Organisation | None:
    org_id = getattr(org_id, "id", org_id)
    found = db.session.get(Organisation, org_id) if is_db_id(org_id) else None
    return found if found is not None and found.kind is kind else None


def get_agency(agency_id) -> Organisation:
    """An agency by id.

    Raises:
        NotFound: no such agency.
    """
    found = _org(agency_id, OrgKind.AGENCY)
    if found is None:
        raise NotFound(_l("This agency does not exist."))
    return found


def department_choices() -> list[Organisation]:
    """The government departments a flag may name."""
    return list(db.session.execute(
        sa.select(Organisation).where(Organisation.kind == OrgKind.GOVERNMENT).order_by(Organisation.name)
    ).scalars())


def _link_kind(value) -> LinkKind:
    try:
        return LinkKind(value)
    except ValueError as exc:
        raise DomainError(_l("Choose how the agency is tied to the department."), field="link_kind") from exc


def raise_flag(
    agency,
    *,
    department,
    link_kind,
    evidence_text: str,
    files: Iterable = (),
    actor: User,
    now: datetime | None = None,
) -> IndependenceFlag:
    """A regulator finds the agency's independence declaration false for one department.

    ``files``: uploads (``FileStorage`` or bytes) kept as evidence; empty ones are skipped.

    Raises:
        PermissionDenied: the actor is not a regulator.
        NotFound: the agency does not exist.
        DomainError: no department chosen, the evidence is missing or too long, a file is refused, too many files, or
            an active flag for the same agency and department exists.
    """
    now = now or utcnow()
    _require_regulator(actor)
    org = get_agency(agency)
    dept = _org(department, OrgKind.GOVERNMENT)
    if dept is None:
        raise DomainError(_l("Choose the department concerned."), field="department_id")
    kind = _link_kind(link_kind)
    text = clean_text(evidence_text, max_len=EVIDENCE_MAX, field="evidence_text", multiline=True)
    uploads_given = [f for f in (files or ()) if f and (not hasattr(f, "filename") or f.filename)]
    if len(uploads_given) > MAX_FILES:
        raise DomainError(_l("At most %(n)d files.", n=MAX_FILES), field="files")
    if active_flag(org.id, dept.id) is not None:
        raise DomainError(_l("This agency already has an active flag for this department."))
    declaration = agencies.current_declaration(org.id)
    flag = IndependenceFlag(
        organisation_id=org.id, department_id=dept.id, link_kind=kind, evidence_text=text,
        declaration_id=declaration.id if declaration else None,
        status=FlagStatus.ACTIVE, raised_by_id=actor.id, raised_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(flag)
            db.session.flush()
    except IntegrityError as exc:
        raise DomainError(_l("This agency already has an active flag for this department.")) from exc
    stored_ids = []
    for upload in uploads_given:
        stored = uploads.store_upload(upload, owner_org_id=actor.organisation_id, purpose=FILE_PURPOSE,
                                      uploaded_by=actor)
        flag.files.append(IndependenceFlagFile(stored_file_id=stored.id, created_at=now))
        stored_ids.append(stored.sha256)
    db.session.flush()
    record_event("independence_flag.raised", flag, actor=actor, payload={
        "organisation_id": org.id, "department_id": dept.id, "link": kind.value,
        "declaration_id": flag.declaration_id, "files_sha256": stored_ids,
    })
    notify_organisation(org, "independence.flagged",
                        params={"ref": flag.reference, "department": dept.name},
                        link=_agency_link(flag), dedupe_key=f"independence.flagged:{flag.id}")
    _emit(flag, "independence_flag.raised")
    return flag


def respond_to_flag(flag: IndependenceFlag, *, text: str, actor: User,
                    now: datetime | None = None) -> IndependenceFlag:
    """The agency answers a flag (it may correct its answer while the flag is active).

    Raises:
        PermissionDenied: not the agency's staff.
        DomainError: the flag is lifted, or the text is empty or too long.
    """
    now = now or utcnow()
    if getattr(actor, "role", None) is not Role.AGENCY_STAFF or actor.organisation_id != flag.organisation_id:
        raise PermissionDenied(_l("Only the agency concerned may do this."))
    text = clean_text(text, max_len=RESPONSE_MAX, field="text", multiline=True)
    db.session.flush()
    result = db.session.execute(
        sa.update(IndependenceFlag)
        .where(IndependenceFlag.id == flag.id, IndependenceFlag.status == FlagStatus.ACTIVE)
        .values(response_text=text, responded_at=now, responded_by_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise DomainError(_l("This flag was lifted; there is nothing to respond to."))
    db.session.expire(flag)
    record_event("independence_flag.responded", flag, actor=actor, payload={"text": text})
    if flag.raised_by is not None and flag.raised_by.is_enabled:
        notify(flag.raised_by, "independence.responded", params={"ref": flag.reference},
               link=_regulator_link(flag), dedupe_key=f"independence.responded:{flag.id}:{now.isoformat()}")
    _emit(flag, "independence_flag.responded")
    return flag


def lift_flag(flag: IndependenceFlag, *, reason: str, actor: User,
              now: datetime | None = None) -> IndependenceFlag:
    """A regulator lifts a flag (e.g. the agency decoupled, or the finding was wrong).

    Raises:
        PermissionDenied: the actor is not a regulator.
        DomainError: no reason given.
        InvalidTransition / ConcurrentUpdate: the flag is not (or no longer) active.
    """
    now = now or utcnow()
    _require_regulator(actor)
    reason = clean_text(reason, max_len=REASON_MAX, field="reason", multiline=True)
    flag.lifted_by_id = actor.id
    flag.lifted_at = now
    flag.lift_reason = reason
    FLAG_MACHINE.transition(flag, FlagStatus.LIFTED, actor=actor, reason=reason)
    notify_organisation(flag.organisation, "independence.lifted",
                        params={"ref": flag.reference, "department": flag.department.name},
                        link=_agency_link(flag), dedupe_key=f"independence.lifted:{flag.id}")
    _emit(flag, "independence_flag.lifted")
    return flag


def propose_sanction_from_flag(flag: IndependenceFlag, *, kind, facts: str, start_date: date | None = None,
                               end_date: date | None = None, actor: User,
                               now: datetime | None = None):
    """Open a sanction proposal on the ground ``false_independence`` with the flag as evidence.

    The proposal then follows the sanctions domain's due process (notice, another regulator
    decides). A flag leads to at most one proposal.

    Raises:
        PermissionDenied: the actor is not a regulator.
        DomainError: a proposal was already opened from this flag, or the sanctions domain
            refuses the kind, facts or period.
    """
    from marketplace.sanctions import services as sanctions

    now = now or utcnow()
    _require_regulator(actor)
    if flag.sanction_case_id is not None:
        raise DomainError(_l("A sanction proposal was already opened from this flag."))
    note = str(_l("Independence flag concerning %(department)s", department=flag.department.name))
    case = sanctions.propose_sanction(
        flag.organisation, kind=kind, ground_code=GROUND_CODE, facts=facts, start_date=start_date,
        end_date=end_date, evidence=[(RefType.OTHER, flag.reference, note[:300])], actor=actor, now=now,
    )
    db.session.flush()
    result = db.session.execute(
        sa.update(IndependenceFlag)
        .where(IndependenceFlag.id == flag.id, IndependenceFlag.sanction_case_id.is_(None))
        .values(sanction_case_id=case.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise ConcurrentUpdate(_l("A sanction proposal was already opened from this flag."))
    db.session.expire(flag)
    record_event("independence_flag.sanction_proposed", flag, actor=actor,
                 payload={"sanction_case": case.id, "reference": case.reference})
    return case


# --- reading -----------------------------------------------------------------------------------


def active_flag(org_id: int, department_id: int) -> IndependenceFlag | None:
    """The active flag of the agency for the department, if any."""
    return db.session.execute(
        sa.select(IndependenceFlag).where(
            IndependenceFlag.organisation_id == org_id, IndependenceFlag.department_id == department_id,
            IndependenceFlag.status == FlagStatus.ACTIVE)
    ).scalar_one_or_none()


def get_flag(flag_id) -> IndependenceFlag:
    """A flag by id (regulators' pages).

    Raises:
        NotFound: no such flag.
    """
    flag = db.session.get(IndependenceFlag, flag_id) if is_db_id(flag_id) else None
    if flag is None:
        raise NotFound(_l("This flag does not exist."))
    return flag


def get_own_flag(flag_id, org_id: int) -> IndependenceFlag:
    """A flag of the agency ``org_id`` (another agency's flag is not found).

    Raises:
        NotFound: no such flag for this agency.
    """
    flag = db.session.get(IndependenceFlag, flag_id) if is_db_id(flag_id) else None
    if flag is None or flag.organisation_id != org_id:
        raise NotFound(_l("This flag does not exist."))
    return flag


def flag_file(flag: IndependenceFlag, file_id) -> uploads.StoredFile:
    """One evidence file of the flag.

    Raises:
        NotFound: the file does not belong to the flag.
    """
    link = next((f for f in flag.files if f.stored_file_id == file_id), None)
    if link is None:
        raise NotFound(_l("This file does not exist."))
    return link.stored_file


def flags_for_agency(org_id: int) -> list[IndependenceFlag]:
    """Every flag of one agency, newest first."""
    return list(db.session.execute(
        sa.select(IndependenceFlag).where(IndependenceFlag.organisation_id == org_id)
        .order_by(IndependenceFlag.raised_at.desc(), IndependenceFlag.id.desc())
    ).scalars())


def regulator_list(*, status: str = "active", limit: int = 300) -> list[IndependenceFlag]:
    """Flags for the regulators' list: active ones (default) or all, newest first."""
    stmt = sa.select(IndependenceFlag).order_by(IndependenceFlag.raised_at.desc(), IndependenceFlag.id.desc())
    if status == "active":
        stmt = stmt.where(IndependenceFlag.status == FlagStatus.ACTIVE)
    return list(db.session.execute(stmt.limit(limit)).scalars())


def search_agencies(q: str) -> list[Organisation]:
    """The regulator's agency lookup (name or unified social credit code)."""
    from marketplace.sanctions import services as sanctions

    return sanctions.search_agencies(q)
