"""What holds an award back: while an objection is submitted or answered, or the complaint it
became is submitted or accepted, the award cannot become final (the ``objection_check`` signal
that ``finalise_award`` sends; connected when this module is imported).
"""

from __future__ import annotations

import sqlalchemy as sa

from marketplace.complaints.models import (
    OPEN_COMPLAINT_STATUSES,
    OPEN_OBJECTION_STATUSES,
    Complaint,
    ComplaintKind,
    Objection,
)
from marketplace.extensions import db
from marketplace.procurement.models import PurchaseRequest
from marketplace.procurement.signals import objection_check


def has_open_case(req: PurchaseRequest) -> bool:
    """Whether an objection or an escalated complaint against ``req``'s award is still open."""
    objection = db.session.execute(
        sa.select(Objection.id).where(Objection.request_id == req.id,
                                      Objection.status.in_(OPEN_OBJECTION_STATUSES)).limit(1)
    ).first()
    if objection:
        return True
    return db.session.execute(
        sa.select(Complaint.id).where(Complaint.request_id == req.id, Complaint.kind == ComplaintKind.OBJECTION,
                                      Complaint.status.in_(OPEN_COMPLAINT_STATUSES)).limit(1)
    ).first() is not None


def _on_objection_check(sender, **_extra) -> bool:
    """``finalise_award`` asks before it writes. Take the request's row lock first (as
    ``submit_objection`` does), so an objection being submitted at this moment is either committed
    and seen by the read below, or refused after the award is final; never both.
    """
    db.session.flush()
    db.session.execute(
        sa.update(PurchaseRequest).where(PurchaseRequest.id == sender.id)
        .values(updated_at=PurchaseRequest.updated_at).execution_options(synchronize_session=False)
    )
    return has_open_case(sender)


objection_check.connect(_on_objection_check)
