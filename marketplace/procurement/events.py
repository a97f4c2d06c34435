"""What the rest of the platform hears about cases and requests: the webhook push of case and
request events, and the search index's queue of announcements to re-index.

It imports none of its sibling modules.
"""

from __future__ import annotations

from flask import current_app

from marketplace.procurement.models import ApprovalCase, PurchaseRequest


def _case_event(case: ApprovalCase, event_type: str, **extra) -> None:
    """Push a case event to the approving department and the applicant (cases are not public)."""
    from marketplace.webhooks.events import web_url
    from marketplace.webhooks.services import emit

    emit(event_type, {
        "case_id": case.id, "case_number": case.case_number, "status": case.status.value,
        "approval_item": {"id": case.approval_item_id, "code": case.approval_item.code},
        "project_name": case.project_name, "project_code": case.project_code,
        "applicant": {"id": case.applicant_id, "uscc": case.applicant.uscc},
        "department_id": case.department_id,
        "service_item_ids": sorted(i.id for i in case.service_items),
        "web_url": web_url(f"/procurement/cases/{case.id}"), **extra,
    }, audience=[case.applicant_id, case.department_id])


def request_event(req: PurchaseRequest, event_type: str, **extra) -> None:
    """Push a request event. What it carries is public on the announcement page, so it goes to every
    subscribed endpoint (an approval system filters by ``approval_case_id``)."""
    from marketplace.webhooks.events import web_url
    from marketplace.webhooks.services import emit

    data = {
        "request_id": req.id, "approval_case_id": req.approval_case_id, "title": req.title,
        "status": req.status.value, "selection_method": req.selection_method.value, "round": req.round_number,
        "service_item": {"id": req.service_item_id, "code": req.service_item.code, "name": req.service_item.name},
        "enterprise": {"id": req.enterprise_id, "name": req.enterprise.name},
        "region_code": req.region_code,
        "bidding_deadline": req.bidding_deadline.isoformat() if req.bidding_deadline else None,
        "web_url": web_url(f"/announcements/{req.id}"),
    }
    if event_type == "request.awarded":
        data["award"] = {
            "agency": {"id": req.awarded_org_id, "name": req.awarded_org.name, "uscc": req.awarded_org.uscc},
            "price_fen": req.awarded_price_fen, "working_days": req.awarded_days,
            "objection_deadline": req.objection_deadline.isoformat() if req.objection_deadline else None,
        }
    data.update(extra)
    emit(event_type, data)


def index_announcement(req: PurchaseRequest) -> None:
    """Queue the announcement for the search index when the search domain is installed.

    Status changes are conditional UPDATEs the ORM does not see, so the services call this
    (``search.register`` tracks the ordinary attribute changes).
    """
    if "search" not in current_app.blueprints:
        return
    from marketplace.search.services import enqueue

    enqueue("announcement", req.id)
