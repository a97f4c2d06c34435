"""What every sanction module shares: the limits of a sanction's period, the notification kinds,
who counts as a regulator, the page links, telling the regulators and the agency, and the checks
of an agency, a kind of sanction, a ground and a period.

It imports none of the other service modules of the package.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import Organisation, OrgKind, Role, User
from marketplace.core.errors import DomainError, NotFound, PermissionDenied
from marketplace.core.text import is_db_id
from marketplace.extensions import db
from marketplace.notifications.kinds import register_kind
from marketplace.notifications.services import notify, notify_organisation
from marketplace.sanctions.eligibility import SHANGHAI
from marketplace.sanctions.grounds import get_ground
from marketplace.sanctions.models import SanctionCase, SanctionKind

MAX_PERIOD_DAYS = 3653  # a fixed-term sanction lasts at most ten years
MAX_START_AHEAD_DAYS = 366
REGULATOR_ROLES = (Role.REGULATOR, Role.ADMIN)

register_kind("sanctions.proposed", _l(
    "A sanction was proposed against your agency (case %(ref)s). Open it to see the grounds and the evidence."))
register_kind("sanctions.notice", _l(
    "Case %(ref)s: you may respond to the proposed sanction until %(deadline)s."))
register_kind("sanctions.decided", _l(
    "Case %(ref)s: the sanction was decided. It applies from %(start)s until %(end)s."))
register_kind("sanctions.decided_indefinite", _l(
    "Case %(ref)s: the sanction was decided. It applies from %(start)s without an end date."))
register_kind("sanctions.withdrawn", _l("Case %(ref)s: the proposed sanction was withdrawn."))
register_kind("sanctions.appeal_decided", _l(
    "Case %(ref)s: your appeal was decided. Open the case to see the outcome."))
register_kind("sanctions.repair_decided", _l(
    "Case %(ref)s: your credit-repair request was decided. Open the case to see the outcome."))
register_kind("sanctions.responded", _l("Case %(ref)s: the agency responded to the proposed sanction."))
register_kind("sanctions.appealed", _l("Case %(ref)s: the agency appealed the decision."))
register_kind("sanctions.repair_requested", _l("Case %(ref)s: the agency requests credit repair."))
register_kind("sanctions.system_proposal", _l(
    "An automatic trigger opened case %(ref)s against %(agency)s; it waits for a regulator."))


def china_day(now: datetime) -> date:
    """The calendar day of ``now`` in China."""
    return now.astimezone(SHANGHAI).date()


def is_regulator(user) -> bool:
    """Whether ``user`` may act on sanctions (regulators, and administrators)."""
    return bool(getattr(user, "is_authenticated", True) and getattr(user, "role", None) in REGULATOR_ROLES)


def _require_regulator(actor) -> None:
    if not is_regulator(actor):
        raise PermissionDenied(_l("Only a regulator may do this."))


def _require_own_agency(actor, case: SanctionCase) -> None:
    if getattr(actor, "role", None) is not Role.AGENCY_STAFF or actor.organisation_id != case.organisation_id:
        raise PermissionDenied(_l("Only the agency concerned may do this."))


def _agency_link(case: SanctionCase) -> str:
    return f"/agency/sanctions/{case.id}"


def _regulator_link(case: SanctionCase) -> str:
    return f"/regulator/sanctions/{case.id}"


def regulators() -> list[User]:
    """Every enabled regulator (told about automatic proposals, responses and appeals)."""
    return list(db.session.execute(
        sa.select(User).where(User.role == Role.REGULATOR, User.is_enabled.is_(True)).order_by(User.id)
    ).scalars())


def _tell_regulators(case: SanctionCase, kind: str, *, only: Iterable[int | None] = (), **params) -> None:
    """Tell the regulators ``only`` (ids), or every regulator when none is named."""
    wanted = {i for i in only if i}
    people = [db.session.get(User, i) for i in sorted(wanted)] if wanted else regulators()
    for user in people:
        if user is not None and user.is_enabled:
            notify(user, kind, params={"ref": case.reference, **params}, link=_regulator_link(case),
                   dedupe_key=f"{kind}:{case.id}")


def _tell_agency(case: SanctionCase, kind: str, *, key: str | None = None, **params) -> None:
    notify_organisation(case.organisation, kind, params={"ref": case.reference, **params},
                        link=_agency_link(case), dedupe_key=f"{key or kind}:{case.id}")


# --- input checks ------------------------------------------------------------------------------


def _agency(org) -> Organisation:
    org_id = getattr(org, "id", org)
    found = db.session.get(Organisation, org_id) if is_db_id(org_id) else None
    if found is None or found.kind is not OrgKind.AGENCY:
        raise NotFound(_l("This agency does not exist."))
    return found


def _kind(value) -> SanctionKind:
    try:
        return SanctionKind(value)
    except ValueError as exc:
        raise DomainError(_l("Choose a kind of sanction."), field="kind") from exc


def _check_ground(code: str, kind: SanctionKind) -> str:
    ground = get_ground(str(code or ""))
    if ground is None or not ground.is_active:
        raise DomainError(_l("Choose a ground from the published list."), field="ground_code")
    if kind not in ground.kinds:
        raise DomainError(_l("This ground does not support this kind of sanction."), field="ground_code")
    return ground.code


def _check_period(kind: SanctionKind, start: date, end: date | None, *, today: date,
                  start_field: str = "start_date", end_field: str = "end_date") -> None:
    if start < today:
        raise DomainError(_l("A sanction cannot start before today."), field=start_field)
    if start > today + timedelta(days=MAX_START_AHEAD_DAYS):
        raise DomainError(_l("A sanction must start within a year."), field=start_field)
    if end is None:
        if kind is SanctionKind.SUSPENSION:
            raise DomainError(_l("A suspension needs an end date."), field=end_field)
        return
    if end < start:
        raise DomainError(_l("The end date cannot be before the start date."), field=end_field)
    if (end - start).days > MAX_PERIOD_DAYS:
        raise DomainError(_l("A fixed period may last at most ten years."), field=end_field)
