"""Submissions: the agency hands in a numbered version of the result (a summary and its files);
the clock's pause for a revision ends; the enterprise and the case's department are told."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l

from marketplace.core import uploads
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError
from marketplace.core.text import clean_text
from marketplace.delivery._common import _link, _lock, _token_id
from marketplace.delivery.access import _check_party
from marketplace.delivery.clock import _days_after, _move_due, china_today
from marketplace.delivery.models import (
    MAX_FILES,
    SUMMARY_MAX,
    Delivery,
    DeliveryFile,
    DeliveryStatus,
    DeliverySubmission,
)
from marketplace.delivery.opening import _bring_request_to
from marketplace.delivery.states import DELIVERY_MACHINE
from marketplace.extensions import db
from marketplace.notifications.kinds import register_kind
from marketplace.notifications.services import notify_organisation
from marketplace.procurement.models import RequestStatus
from marketplace.webhooks.events import web_url
from marketplace.webhooks.services import emit

RESULT_PURPOSE = "delivery_result"

register_kind("delivery.submitted", _l("Version %(version)s of the result for contract %(no)s was submitted: accept it or ask for a revision."))


def _result_event(delivery: Delivery, submission: DeliverySubmission, event_type: str, **extra) -> None:
    """Push a delivery event to the two parties and the case's department (not public: the result
    is the enterprise's and the department's). The files are named by their SHA-256; a department
    fetches accepted ones through ``/api/v1/cases/{id}/results``."""
    contract = delivery.contract
    req = contract.request
    emit(event_type, {
        "contract_no": contract.contract_no, "contract_id": contract.id, "request_id": req.id,
        "approval_case_id": req.approval_case_id, "agency_org_id": contract.agency_org_id,
        "version": submission.version, "submitted_on": submission.submitted_on.isoformat(),
        "due_date": delivery.due_date.isoformat(),
        "files": [{"name": f.stored.original_name, "sha256": f.stored.sha256, "size_bytes": f.stored.size_bytes}
                  for f in submission.files],
        "web_url": web_url(f"/deliveries/{contract.id}"), **extra,
    }, audience=[contract.buyer_org_id, contract.agency_org_id, req.approval_case.department_id])


def submit_result(delivery: Delivery, *, summary: str, files, actor,
                  now: datetime | None = None) -> DeliverySubmission:
    """The agency submits a new numbered version of the result: a summary and 1–10 files.

    Raises:
        PermissionDenied: the actor is not the agency's staff.
        DomainError: the summary is empty or too long, no file or too many, a file is refused
            (type, size, quota), or the delivery is not waiting for a result.
        InvalidTransition / ConcurrentUpdate: the delivery moved meanwhile.
    """
    now = now or utcnow()
    _check_party(delivery, actor, "agency")
    _lock(delivery)
    if delivery.status not in (DeliveryStatus.IN_PROGRESS, DeliveryStatus.REVISION_REQUESTED):
        raise DomainError(_l("A result can be submitted only while the work is in progress or "
                             "a revision was requested."))
    summary = clean_text(summary, max_len=SUMMARY_MAX, field="summary", multiline=True)
    files = [f for f in (files or []) if f is not None and (getattr(f, "filename", None) or
                                                            isinstance(f, bytes | bytearray))]
    if not files:
        raise DomainError(_l("Attach at least one file of the result."), field="files")
    if len(files) > MAX_FILES:
        raise DomainError(_l("At most %(n)d files per version.", n=MAX_FILES), field="files")
    today = china_today(now)
    previous = delivery.latest
    payload = {}
    if delivery.paused_since is not None:
        days = _days_after(delivery.paused_since, today)
        _move_due(delivery, days)
        delivery.paused_since = None
        if previous is not None:
            previous.pause_days_added = days
        payload["pause_days_added"] = days
    if today > delivery.due_date and delivery.overdue_since is None:
        delivery.overdue_since = delivery.due_date + timedelta(days=1)
    version = (previous.version if previous else 0) + 1
    submission = DeliverySubmission(
        version=version, summary=summary, submitted_by_id=actor.id, submitted_by_token_id=_token_id(actor),
        submitted_at=now, submitted_on=today,
    )
    delivery.submissions.append(submission)
    db.session.flush()
    stored_files = []
    for position, upload in enumerate(files):
        try:
            stored = uploads.store_upload(upload, owner_org_id=delivery.agency_org_id,
                                          purpose=RESULT_PURPOSE, uploaded_by=actor)
        except DomainError as exc:
            name = uploads.clean_display_name(getattr(upload, "filename", "")) or str(position + 1)
            raise DomainError(_l("%(name)s: %(error)s", name=name, error=exc.message),
                              field="files") from exc
        submission.files.append(DeliveryFile(stored_file_id=stored.id, stored=stored, position=position))
        stored_files.append({"file": stored.id, "name": stored.original_name,
                             "sha256": stored.sha256, "bytes": stored.size_bytes})
    db.session.flush()
    DELIVERY_MACHINE.transition(delivery, DeliveryStatus.SUBMITTED, actor=actor, payload={
        "version": version, "submitted_on": today.isoformat(), "due_date": delivery.due_date.isoformat(),
        "late": today > delivery.due_date, "files": stored_files, **payload,
    })
    contract = delivery.contract
    _bring_request_to(contract.request, RequestStatus.DELIVERED, actor=actor, contract=contract)
    _result_event(delivery, submission, "result.delivered", late=today > delivery.due_date)
    notify_organisation(contract.buyer, "delivery.submitted",
                        params={"no": contract.contract_no, "version": version}, link=_link(delivery),
                        dedupe_key=f"delivery-submitted:{delivery.id}:{version}")
    return submission
