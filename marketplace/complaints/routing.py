"""Which regulators handle a complaint: the department routed for the request's service item
(``ComplaintRoute``; none routed, or a department without an enabled regulator: every
regulator), telling them, and the administrator's routing of service items to departments.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from marketplace.accounts.models import Organisation, OrgKind, Role, User
from marketplace.audit.services import record_event
from marketplace.catalog.models import ServiceItem
from marketplace.complaints._common import _get, _link_complaint
from marketplace.complaints.models import Complaint, ComplaintRoute
from marketplace.core.errors import NotFound, PermissionDenied
from marketplace.extensions import db
from marketplace.notifications.services import notify


def route_for(service_item_id: int) -> int | None:
    """The regulator department routed for complaints about a service item, if any."""
    return db.session.execute(
        sa.select(ComplaintRoute.regulator_org_id).where(ComplaintRoute.service_item_id == service_item_id)
    ).scalar_one_or_none()


def responsible_regulators(c: Complaint) -> list[User]:
    """The regulators who handle ``c``: those of its department, or every regulator when unrouted."""
    stmt = sa.select(User).where(User.role == Role.REGULATOR, User.is_enabled.is_(True))
    if c.regulator_org_id is not None:
        stmt = stmt.where(User.organisation_id == c.regulator_org_id)
    people = list(db.session.execute(stmt.order_by(User.id)).scalars())
    if not people and c.regulator_org_id is not None:
        # A department without an enabled regulator must not swallow the complaint.
        people = list(db.session.execute(
            sa.select(User).where(User.role == Role.REGULATOR, User.is_enabled.is_(True)).order_by(User.id)
        ).scalars())
    return people


def _tell_regulators(c: Complaint, kind: str, *, key: str, **params) -> int:
    told = 0
    for user in responsible_regulators(c):
        if notify(user, kind, params={"ref": c.reference, **params}, link=_link_complaint(c),
                  due_at=c.current_deadline, dedupe_key=f"{key}:{c.id}") is not None:
            told += 1
    return told


# --- routes (which department handles which service item) -------------------------------------


def routes() -> list[ComplaintRoute]:
    """Every routed service item."""
    return list(db.session.execute(
        sa.select(ComplaintRoute).options(selectinload(ComplaintRoute.service_item),
                                          selectinload(ComplaintRoute.regulator))
        .order_by(ComplaintRoute.service_item_id)
    ).scalars())


def regulator_departments() -> list[Organisation]:
    """Government departments with at least one regulator (the possible routes)."""
    return list(db.session.execute(
        sa.select(Organisation).where(Organisation.kind == OrgKind.GOVERNMENT,
                                      Organisation.id.in_(sa.select(User.organisation_id)
                                                          .where(User.role == Role.REGULATOR)))
        .order_by(Organisation.name)
    ).scalars())


def set_route(service_item_id, regulator_org_id, *, actor: User) -> ComplaintRoute | None:
    """An administrator routes complaints about a service item to a department (None: unroute).

    Raises:
        PermissionDenied: not an administrator.
        NotFound: no such service item or regulator department.
    """
    if getattr(actor, "role", None) is not Role.ADMIN:
        raise PermissionDenied(_l("Only an administrator may do this."))
    item = _get(ServiceItem, service_item_id, _l("This service item does not exist."))
    existing = db.session.execute(
        sa.select(ComplaintRoute).where(ComplaintRoute.service_item_id == item.id)
    ).scalar_one_or_none()
    if regulator_org_id in (None, 0, ""):
        if existing is not None:
            db.session.delete(existing)
            db.session.flush()
        record_event("complaint_route.cleared", ("service_items", item.id), actor=actor, payload={"service_item": item.id})
        return None
    dept = _get(Organisation, regulator_org_id, _l("This department does not exist."))
    if dept.id not in {d.id for d in regulator_departments()}:
        raise NotFound(_l("This department does not exist."))
    if existing is None:
        existing = ComplaintRoute(service_item_id=item.id, regulator_org_id=dept.id)
        db.session.add(existing)
    else:
        existing.regulator_org_id = dept.id
    db.session.flush()
    record_event("complaint_route.set", existing, actor=actor,
                 payload={"service_item": item.id, "regulator_org": dept.id})
    return existing
