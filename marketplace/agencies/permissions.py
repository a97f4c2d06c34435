"""Who may act on an agency and who may see its records.

Only an agency's own staff change its data (``check_agency_actor``); scans are private to the
agency, regulators and administrators; a listing not shown today is visible to those alone. Also
the lookups that answer "not found" alike for a missing record and someone else's.
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import Organisation, OrgKind, Role
from marketplace.agencies import eligibility
from marketplace.agencies.models import Listing, Qualification
from marketplace.core.errors import NotFound, PermissionDenied
from marketplace.core.text import is_db_id
from marketplace.extensions import db

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


def get_own(model, obj_id: int, org_id: int):
    """An object of ``model`` belonging to ``org_id``.

    Raises:
        NotFound: it does not exist or belongs to someone else (the same answer for both).
    """
    obj = db.session.get(model, obj_id) if is_db_id(obj_id) else None
    if obj is None or obj.organisation_id != org_id:
        raise NotFound(_l("This record does not exist."))
    return obj


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
