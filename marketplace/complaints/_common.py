"""What every objection and complaint module shares: the notification kinds, who counts as an
official, the page links, storing the evidence files and loading a record by id.

It imports none of the other service modules of the package.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import Role
from marketplace.complaints.models import MAX_FILES, Complaint, Evidence, Objection
from marketplace.core import uploads
from marketplace.core.errors import DomainError, NotFound
from marketplace.core.text import is_db_id
from marketplace.extensions import db
from marketplace.notifications.kinds import register_kind

JOB = "complaints.deadlines"
EVIDENCE_PURPOSE = "complaint_evidence"
OFFICIAL_ROLES = (Role.REGULATOR, Role.ADMIN)

register_kind("complaints.objection_submitted", _l(
    "Objection %(ref)s to the result of %(request)s was filed. Answer it by %(deadline)s."))
register_kind("complaints.objection_answered", _l(
    "The enterprise answered your objection %(ref)s. Accept the answer or escalate it to a complaint "
    "by %(deadline)s."))
register_kind("complaints.objection_escalated", _l(
    "Objection %(ref)s went to the regulator as complaint %(complaint)s."))
register_kind("complaints.objection_resolved", _l("Objection %(ref)s is resolved: the answer stands."))
register_kind("complaints.objection_moot", _l(
    "Objection %(ref)s is closed: the award it contested no longer stands."))
register_kind("complaints.complaint_submitted", _l(
    "Complaint %(ref)s waits for acceptance or rejection by %(deadline)s."))
register_kind("complaints.complaint_filed_against", _l(
    "Complaint %(ref)s concerns your organisation. Open it to see the grounds."))
register_kind("complaints.complaint_accepted", _l(
    "Complaint %(ref)s was accepted; the regulator decides by %(deadline)s."))
register_kind("complaints.complaint_rejected", _l("Complaint %(ref)s was not accepted. Open it for the reason."))
register_kind("complaints.complaint_decided", _l("Complaint %(ref)s was decided. Open it for the decision."))
register_kind("complaints.complaint_withdrawn", _l("Complaint %(ref)s was withdrawn by the complainant."))
register_kind("complaints.complaint_overdue", _l(
    "Complaint %(ref)s is overdue: it was due by %(deadline)s."))


# --- small helpers ------------------------------------------------------------------------------

def is_official(user) -> bool:
    """Regulators and administrators see every objection and complaint."""
    return bool(getattr(user, "is_authenticated", True) and getattr(user, "role", None) in OFFICIAL_ROLES)


def _org_id(user) -> int | None:
    return getattr(user, "organisation_id", None) if getattr(user, "is_authenticated", True) else None


def _link_objection(obj: Objection) -> str:
    return f"/objections/{obj.id}"


def _link_complaint(c: Complaint) -> str:
    return f"/complaints/{c.id}"


def _attach(files, *, owner_org_id: int, actor, objection: Objection | None = None,
            complaint: Complaint | None = None) -> list[Evidence]:
    """Store the uploaded evidence files (reusing the core upload checks).

    Raises:
        DomainError: too many files, or a file refused (type, size, quota).
    """
    files = [f for f in (files or []) if f is not None
             and (getattr(f, "filename", None) or isinstance(f, bytes | bytearray))]
    if len(files) > MAX_FILES:
        raise DomainError(_l("At most %(n)d files.", n=MAX_FILES), field="files")
    added = []
    for position, upload in enumerate(files):
        try:
            stored = uploads.store_upload(upload, owner_org_id=owner_org_id, purpose=EVIDENCE_PURPOSE,
                                          uploaded_by=actor)
        except DomainError as exc:
            name = uploads.clean_display_name(getattr(upload, "filename", "")) or str(position + 1)
            raise DomainError(_l("%(name)s: %(error)s", name=name, error=exc.message), field="files") from exc
        item = Evidence(objection=objection, complaint=complaint, stored_file_id=stored.id, stored=stored,
                        party_org_id=owner_org_id)
        db.session.add(item)
        added.append(item)
    db.session.flush()
    return added


def _file_refs(items: list[Evidence]) -> list[dict]:
    return [{"file": e.stored_file_id, "name": e.stored.original_name, "sha256": e.stored.sha256}
            for e in items]


def _get(model, obj_id, message):
    found = db.session.get(model, obj_id) if is_db_id(obj_id) else None
    if found is None:
        raise NotFound(message)
    return found
