"""The webhook events of objections and complaints, pushed in the transaction of the change to
the organisations that may see the record on the site.
"""

from __future__ import annotations

from datetime import datetime

from marketplace.complaints._common import _link_complaint, _link_objection
from marketplace.complaints.models import Complaint, Objection
from marketplace.complaints.routing import responsible_regulators


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _emit_objection(obj: Objection, event_type: str, **extra) -> None:
    """Objections are seen by the objector and the enterprise only (``can_view_objection``)."""
    from marketplace.webhooks.events import web_url
    from marketplace.webhooks.services import emit

    req = obj.request
    emit(event_type, {
        "objection_id": obj.id, "reference": obj.reference, "status": obj.status.value,
        "request_id": req.id, "request_reference": req.reference, "objector_org_id": obj.objector_org_id,
        "enterprise_org_id": req.enterprise_id, "submitted_at": _iso(obj.submitted_at),
        "answer_deadline": _iso(obj.answer_deadline), "escalation_deadline": _iso(obj.escalation_deadline),
        "web_url": web_url(_link_objection(obj)), **extra,
    }, audience=[obj.objector_org_id, req.enterprise_id])


def _emit_complaint(c: Complaint, event_type: str, **extra) -> None:
    """An open or closed complaint is seen by its parties and the regulators who handle it; no text."""
    from marketplace.webhooks.events import web_url
    from marketplace.webhooks.services import emit

    audience = {c.complainant_org_id, c.agency_org_id, c.enterprise_org_id}
    audience.update(u.organisation_id for u in responsible_regulators(c))
    emit(event_type, {
        "complaint_id": c.id, "reference": c.reference, "kind": c.kind.value, "category": c.category.value,
        "status": c.status.value, "request_id": c.request_id, "request_reference": c.request.reference,
        "objection_id": c.objection_id, "contract_id": c.contract_id,
        "complainant_org_id": c.complainant_org_id, "agency_org_id": c.agency_org_id,
        "enterprise_org_id": c.enterprise_org_id, "regulator_org_id": c.regulator_org_id,
        "acceptance_deadline": _iso(c.acceptance_deadline), "decision_deadline": _iso(c.decision_deadline),
        "web_url": web_url(_link_complaint(c)), **extra,
    }, audience=sorted(audience))


def _emit_outcome(c: Complaint) -> None:
    """A decided complaint is public on the announcement page: what that page shows, to everyone."""
    from marketplace.webhooks.events import web_url
    from marketplace.webhooks.services import emit

    emit("complaint.decided", {
        "complaint_id": c.id, "reference": c.reference, "kind": c.kind.value, "status": c.status.value,
        "request_id": c.request_id, "request_reference": c.request.reference,
        "upheld_against": c.upheld_against.value if c.upheld_against else None,
        "remedy": c.remedy.value if c.remedy else None, "decided_at": _iso(c.decided_at),
        "decision_text": c.decision_text,
        "web_url": web_url(f"/announcements/{c.request_id}#complaint-outcomes"),
    })
