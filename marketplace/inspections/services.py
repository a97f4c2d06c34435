"""Random inspections (双随机、一公开): plans, the verifiable double draw, results, publication.

The draw is the procurement random draw (``procurement.selection``), twice: once over the pool
of agencies, once over the pool of inspectors, each with its own seed. When a plan is created
both seeds are drawn and only their SHA-256 commitments go on the audit trail; the draw freezes
both pools (ascending ids), reveals the seeds, ranks each pool by
``draw_key(seed, list_hash, id)`` and takes the first N of each. Inspectors are assigned to
the drawn agencies in turn: the agency at rank r (from 0) gets the inspectors at ranks
(r·m + j) mod k for j < m (k inspectors drawn, m per inspection). Anyone can recompute all of
it from the public JSON with ``docs/verify_draw.py``.

Every status change goes through ``states.PLAN_MACHINE`` / ``INSPECTION_MACHINE``. Services
flush and never commit.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import Organisation, OrgKind, Role, User
from marketplace.agencies.models import Listing, ListingStatus
from marketplace.audit.services import record_event
from marketplace.catalog.models import ServiceItem
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, InvalidTransition, NotFound, PermissionDenied
from marketplace.core.regions import is_valid_region
from marketplace.core.text import clean_text, is_db_id
from marketplace.extensions import db
from marketplace.inspections.models import (
    BASIS_MAX,
    FINDINGS_MAX,
    MAX_INSPECTORS,
    MAX_PER_CHECK,
    MAX_SAMPLE,
    REASON_MAX,
    TITLE_MAX,
    Inspection,
    InspectionPlan,
    InspectionStatus,
    PlanInspector,
    PlanStatus,
    ScopeKind,
)
from marketplace.inspections.states import INSPECTION_MACHINE, PLAN_MACHINE
from marketplace.notifications.kinds import register_kind
from marketplace.notifications.services import notify
from marketplace.procurement.selection import (
    bidder_list_bytes,
    bidder_list_hash,
    draw_commitment,
    draw_key,
)

PLANNER_ROLES = (Role.REGULATOR, Role.ADMIN)
RESULT_STATUSES = (InspectionStatus.PASSED, InspectionStatus.PROBLEMS, InspectionStatus.REFERRED)

register_kind("inspections.assigned", _l(
    "Inspection plan %(ref)s: you were drawn to inspect %(agency)s. Record the result when done."))


def is_planner(user) -> bool:
    """Whether ``user`` may plan, draw and publish inspections (regulators and administrators)."""
    return bool(getattr(user, "is_authenticated", True) and getattr(user, "role", None) in PLANNER_ROLES)


def _require_planner(actor) -> None:
    if not is_planner(actor):
        raise PermissionDenied(_l("Only a regulator may do this."))


def _emit_plan(plan: InspectionPlan, event_type: str) -> None:
    """A drawn plan, its sample and (once published) its results are public at /inspections."""
    from marketplace.webhooks.events import web_url
    from marketplace.webhooks.services import emit

    published = plan.status is PlanStatus.PUBLISHED
    emit(event_type, {
        "plan_id": plan.id, "reference": plan.reference, "title": plan.title, "status": plan.status.value,
        "scope": plan.scope.value, "service_item_id": plan.service_item_id, "region_code": plan.region_code,
        "drawn_at": plan.drawn_at.isoformat() if plan.drawn_at else None,
        "published_at": plan.published_at.isoformat() if plan.published_at else None,
        "inspections": [{
            "inspection_id": i.id, "rank": i.rank, "agency": {"id": i.organisation_id, "name": i.organisation.name},
            "result": i.status.value if published else None, "findings": i.findings if published else None,
        } for i in sorted(plan.inspections, key=lambda i: i.rank)],
        "web_url": web_url(f"/inspections/{plan.id}"), "json_url": web_url(f"/inspections/{plan.id}.json"),
    })


def _emit_result(inspection: Inspection) -> None:
    """A recorded result stays with the regulators until the plan's results are published."""
    from marketplace.webhooks.events import web_url
    from marketplace.webhooks.services import emit

    regulators = db.session.execute(
        sa.select(User.organisation_id).where(User.role == Role.REGULATOR, User.is_enabled.is_(True)).distinct()
    ).scalars()
    plan = inspection.plan
    emit("inspection.result_recorded", {
        "plan_id": plan.id, "plan_reference": plan.reference, "inspection_id": inspection.id,
        "rank": inspection.rank, "agency": {"id": inspection.organisation_id, "name": inspection.organisation.name},
        "result": inspection.status.value, "recorded_at": inspection.recorded_at.isoformat(),
        "pending": missing_results(plan), "web_url": web_url(f"/regulator/inspections/{plan.id}"),
    }, audience=sorted(set(regulators)))


def _region_prefix(code: str) -> str:
    while code.endswith("00") and len(code) > 2:
        code = code[:-2]
    return code


@dataclass(frozen=True)
class PlanInput:
    """What a regulator enters for a plan."""

    title: str
    basis: str
    scope: str
    service_item_id: int | None
    region_code: str | None
    agency_sample_size: int
    inspector_count: int
    inspectors_per_check: int


def _int_in(value, low: int, high: int, field: str, message) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise DomainError(message, field=field)
    return value


def _checked(data: PlanInput) -> dict:
    title = clean_text(data.title, max_len=TITLE_MAX, field="title")
    basis = clean_text(data.basis, max_len=BASIS_MAX, field="basis", required=False, multiline=True)
    try:
        scope = ScopeKind(data.scope)
    except ValueError as exc:
        raise DomainError(_l("Choose which agencies to draw from."), field="scope") from exc
    item_id = region = None
    if scope is ScopeKind.SERVICE_ITEM:
        item = db.session.get(ServiceItem, data.service_item_id) if is_db_id(data.service_item_id) else None
        if item is None:
            raise DomainError(_l("Choose a service item."), field="service_item_id")
        item_id = item.id
    if scope is ScopeKind.REGION:
        region = (data.region_code or "").strip()
        if not is_valid_region(region):
            raise DomainError(_l("Enter a six-digit administrative division code."), field="region_code")
    sample = _int_in(data.agency_sample_size, 1, MAX_SAMPLE, "agency_sample_size",
                     _l("Draw between 1 and %(n)d agencies.", n=MAX_SAMPLE))
    count = _int_in(data.inspector_count, 1, MAX_INSPECTORS, "inspector_count",
                    _l("Draw between 1 and %(n)d inspectors.", n=MAX_INSPECTORS))
    per = _int_in(data.inspectors_per_check, 1, MAX_PER_CHECK, "inspectors_per_check",
                  _l("Between 1 and %(n)d inspectors per inspection.", n=MAX_PER_CHECK))
    if per > count:
        raise DomainError(_l("Draw at least as many inspectors as each inspection needs."),
                          field="inspector_count")
    return {"title": title, "basis": basis, "scope": scope, "service_item_id": item_id, "region_code": region,
            "agency_sample_size": sample, "inspector_count": count, "inspectors_per_check": per}


def create_plan(data: PlanInput, *, actor: User, now: datetime | None = None) -> InspectionPlan:
    """A regulator drafts a plan; both seeds are drawn now and committed on the audit trail.

    Raises:
        PermissionDenied: not a regulator.
        DomainError: a field breaks a rule (``field`` says which).
    """
    now = now or utcnow()
    _require_planner(actor)
    values = _checked(data)
    agency_seed, inspector_seed = secrets.token_hex(32), secrets.token_hex(32)
    plan = InspectionPlan(
        **values, status=PlanStatus.DRAFT, created_by_id=actor.id, created_at=now,
        agency_seed=agency_seed, agency_commitment=draw_commitment(agency_seed),
        inspector_seed=inspector_seed, inspector_commitment=draw_commitment(inspector_seed),
    )
    db.session.add(plan)
    db.session.flush()
    record_event("inspection_plan.created", plan, actor=actor, payload={
        **_plan_payload(plan), "agency_commitment": plan.agency_commitment,
        "inspector_commitment": plan.inspector_commitment,
    })
    return plan


def _plan_payload(plan: InspectionPlan) -> dict:
    return {"title": plan.title, "scope": plan.scope.value, "service_item_id": plan.service_item_id,
            "region_code": plan.region_code, "agency_sample_size": plan.agency_sample_size,
            "inspector_count": plan.inspector_count, "inspectors_per_check": plan.inspectors_per_check}


def update_plan(plan: InspectionPlan, data: PlanInput, *, actor: User) -> InspectionPlan:
    """Change a draft (the committed seeds stay: nobody has seen them).

    Raises:
        PermissionDenied: not a regulator.
        InvalidTransition: the plan is no longer a draft.
        DomainError: a field breaks a rule.
    """
    _require_planner(actor)
    if plan.status is not PlanStatus.DRAFT:
        raise InvalidTransition(_l("Only a draft plan can be changed."))
    for key, value in _checked(data).items():
        setattr(plan, key, value)
    db.session.flush()
    record_event("inspection_plan.updated", plan, actor=actor, payload=_plan_payload(plan))
    return plan


def cancel_plan(plan: InspectionPlan, *, reason: str, actor: User) -> InspectionPlan:
    """Cancel a draft, with a reason (a drawn plan cannot be cancelled).

    Raises:
        PermissionDenied: not a regulator.
        DomainError: no reason.
        InvalidTransition / ConcurrentUpdate: not (or no longer) a draft.
    """
    _require_planner(actor)
    reason = clean_text(reason, max_len=REASON_MAX, field="reason", multiline=True)
    if plan.status is not PlanStatus.DRAFT:
        raise InvalidTransition(_l("Only a draft plan can be cancelled; a drawn plan runs to its results."))
    plan.cancelled_reason = reason
    return PLAN_MACHINE.transition(plan, PlanStatus.CANCELLED, actor=actor, reason=reason)


# --- the pools and the draw ---------------------------------------------------------------------


def agency_pool_ids(plan: InspectionPlan) -> list[int]:
    """The agencies the plan draws from, now: ascending organisation ids.

    Active agency: one with at least one published listing (of the item, for that scope).
    """
    stmt = (
        sa.select(Organisation.id).join(Listing, Listing.organisation_id == Organisation.id)
        .where(Organisation.kind == OrgKind.AGENCY, Listing.status == ListingStatus.PUBLISHED)
    )
    if plan.scope is ScopeKind.SERVICE_ITEM:
        stmt = stmt.where(Listing.service_item_id == plan.service_item_id)
    if plan.scope is ScopeKind.REGION:
        stmt = stmt.where(Organisation.region_code.startswith(_region_prefix(plan.region_code)))
    return sorted(set(db.session.execute(stmt.distinct()).scalars()))


def inspector_pool_ids() -> list[int]:
    """The inspectors a plan draws from: every enabled regulator, ascending user ids."""
    return sorted(db.session.execute(
        sa.select(User.id).where(User.role == Role.REGULATOR, User.is_enabled.is_(True))
    ).scalars())


def rank_pool(seed_hex: str, ids: list[int]) -> tuple[str, list[tuple[int, int, str]]]:
    """(list hash, [(rank, id, key)]) for a frozen pool: the procurement random draw."""
    ids = sorted({int(i) for i in ids})
    list_hash = bidder_list_hash(ids)
    keyed = sorted((draw_key(seed_hex, list_hash, i), i) for i in ids)
    return list_hash, [(n + 1, i, key) for n, (key, i) in enumerate(keyed)]


def assignment(rank0: int, inspector_count: int, per_check: int) -> list[int]:
    """The inspector ranks (from 0) assigned to the agency at rank ``rank0`` (from 0)."""
    return [(rank0 * per_check + j) % inspector_count for j in range(per_check)]


def draw_plan(plan: InspectionPlan, *, actor: User, now: datetime | None = None) -> InspectionPlan:
    """Freeze both pools, reveal the seeds, draw the agencies and the inspectors, assign them.

    Raises:
        PermissionDenied: not a regulator.
        DomainError: the agency pool is empty, or fewer inspectors than each inspection needs.
        InvalidTransition / ConcurrentUpdate: the plan is not (or no longer) a draft.
    """
    now = now or utcnow()
    _require_planner(actor)
    if plan.status is PlanStatus.CANCELLED:
        raise InvalidTransition(_l("This plan was cancelled; it cannot be drawn."))
    if plan.status is not PlanStatus.DRAFT:
        raise InvalidTransition(_l("This plan has already been drawn."))
    agencies, inspectors = agency_pool_ids(plan), inspector_pool_ids()
    if not agencies:
        raise DomainError(_l("No active agency matches this plan's scope; there is nothing to draw."))
    if len(inspectors) < plan.inspectors_per_check:
        raise DomainError(_l("There are fewer regulators than each inspection needs (%(n)d).",
                             n=plan.inspectors_per_check))
    agency_hash, agency_ranking = rank_pool(plan.agency_seed, agencies)
    inspector_hash, inspector_ranking = rank_pool(plan.inspector_seed, inspectors)
    drawn_agencies = agency_ranking[:plan.agency_sample_size]
    drawn_inspectors = inspector_ranking[:plan.inspector_count]
    plan.agency_pool, plan.inspector_pool = json.dumps(agencies), json.dumps(inspectors)
    plan.agency_list_hash, plan.inspector_list_hash = agency_hash, inspector_hash
    plan.drawn_by_id, plan.drawn_at = actor.id, now
    PLAN_MACHINE.transition(plan, PlanStatus.DRAWN, actor=actor, payload={
        "agency_seed": plan.agency_seed, "agency_list_hash": agency_hash, "agency_pool": agencies,
        "inspector_seed": plan.inspector_seed, "inspector_list_hash": inspector_hash,
        "inspector_pool": inspectors,
        "agencies": [i for _, i, _ in drawn_agencies], "inspectors": [i for _, i, _ in drawn_inspectors],
    })
    team = []
    for rank, user_id, key in drawn_inspectors:
        member = PlanInspector(plan_id=plan.id, user_id=user_id, rank=rank, draw_key=key)
        db.session.add(member)
        team.append(member)
    db.session.flush()
    users = {u.id: u for u in db.session.execute(
        sa.select(User).where(User.id.in_([m.user_id for m in team]))).scalars()}
    for rank, org_id, key in drawn_agencies:
        assigned = [users[team[r].user_id] for r in assignment(rank - 1, len(team), plan.inspectors_per_check)]
        inspection = Inspection(plan_id=plan.id, organisation_id=org_id, rank=rank, draw_key=key,
                                status=InspectionStatus.PENDING, inspectors=assigned)
        db.session.add(inspection)
        db.session.flush()
        for user in assigned:
            notify(user, "inspections.assigned",
                   params={"ref": plan.reference, "agency": inspection.organisation.name},
                   link=f"/regulator/inspections/{plan.id}", dedupe_key=f"inspections.assigned:{inspection.id}")
    db.session.expire(plan, ["inspections", "inspectors"])
    _emit_plan(plan, "inspection_plan.drawn")
    return plan


# --- results and publication ------------------------------------------------------------------


def record_result(inspection: Inspection, *, result, findings: str, actor: User,
                  now: datetime | None = None) -> Inspection:
    """An assigned inspector records the result of one inspection (final once recorded).

    Raises:
        PermissionDenied: the actor is not one of the inspectors assigned to it.
        DomainError: no result chosen, or problems / a referral without findings.
        InvalidTransition / ConcurrentUpdate: the result was already recorded.
    """
    now = now or utcnow()
    if not isinstance(actor, User) or actor.id not in {u.id for u in inspection.inspectors}:
        raise PermissionDenied(_l("Only the inspectors drawn for this inspection can record its result."))
    try:
        status = InspectionStatus(result)
    except ValueError as exc:
        raise DomainError(_l("Choose the result."), field="result") from exc
    if status not in RESULT_STATUSES:
        raise DomainError(_l("Choose the result."), field="result")
    findings = clean_text(findings, max_len=FINDINGS_MAX, field="findings", multiline=True,
                          required=status is not InspectionStatus.PASSED)
    if inspection.plan.status is not PlanStatus.DRAWN:
        raise InvalidTransition(_l("Results can be recorded only while the plan's inspections are under way."))
    inspection.findings = findings
    inspection.recorded_by_id, inspection.recorded_at = actor.id, now
    INSPECTION_MACHINE.transition(inspection, status, actor=actor, payload={"findings": findings})
    _emit_result(inspection)
    return inspection


def missing_results(plan: InspectionPlan) -> int:
    """How many inspections of the plan still have no result."""
    return db.session.execute(
        sa.select(sa.func.count(Inspection.id))
        .where(Inspection.plan_id == plan.id, Inspection.status == InspectionStatus.PENDING)
    ).scalar_one()


def publish_results(plan: InspectionPlan, *, actor: User, now: datetime | None = None) -> InspectionPlan:
    """Publish the results once every inspection has one; the plan is closed.

    Raises:
        PermissionDenied: not a regulator.
        DomainError: some inspections have no result yet.
        InvalidTransition / ConcurrentUpdate: the plan is not drawn (or already published).
    """
    now = now or utcnow()
    _require_planner(actor)
    if plan.status is not PlanStatus.DRAWN:
        raise InvalidTransition(_l("Only a drawn plan's results can be published."))
    missing = missing_results(plan)
    if missing:
        raise DomainError(_l("%(n)d inspection(s) still have no result.", n=missing))
    plan.published_by_id, plan.published_at = actor.id, now
    counts = {s.value: 0 for s in RESULT_STATUSES}
    for inspection in plan.inspections:
        counts[inspection.status.value] += 1
    PLAN_MACHINE.transition(plan, PlanStatus.PUBLISHED, actor=actor, payload={"results": counts})
    _emit_plan(plan, "inspection_plan.published")
    return plan


# --- reading ----------------------------------------------------------------------------------


def get_plan(plan_id) -> InspectionPlan:
    """A plan by id (regulators' pages).

    Raises:
        NotFound: no such plan.
    """
    plan = db.session.get(InspectionPlan, plan_id) if is_db_id(plan_id) else None
    if plan is None:
        raise NotFound(_l("This inspection plan does not exist."))
    return plan


def get_public_plan(plan_id) -> InspectionPlan:
    """A plan shown to the public: drawn or published (a draft's seeds are still secret).

    Raises:
        NotFound: no such public plan.
    """
    plan = db.session.get(InspectionPlan, plan_id) if is_db_id(plan_id) else None
    if plan is None or not plan.is_drawn:
        raise NotFound(_l("This inspection plan does not exist."))
    return plan


def get_inspection(plan: InspectionPlan, inspection_id) -> Inspection:
    """One inspection of the plan.

    Raises:
        NotFound: not an inspection of this plan.
    """
    inspection = db.session.get(Inspection, inspection_id) if is_db_id(inspection_id) else None
    if inspection is None or inspection.plan_id != plan.id:
        raise NotFound(_l("This inspection does not exist."))
    return inspection


def plans_for_regulators(limit: int = 300) -> list[InspectionPlan]:
    """Every plan, newest first."""
    return list(db.session.execute(
        sa.select(InspectionPlan).order_by(InspectionPlan.created_at.desc(), InspectionPlan.id.desc()).limit(limit)
    ).scalars())


def public_plans(*, page: int = 1, per_page: int = 30):
    """Drawn and published plans, newest draw first (一公开)."""
    return db.paginate(
        sa.select(InspectionPlan)
        .where(InspectionPlan.status.in_((PlanStatus.DRAWN, PlanStatus.PUBLISHED)))
        .order_by(InspectionPlan.drawn_at.desc(), InspectionPlan.id.desc()),
        page=page, per_page=per_page, error_out=False,
    )


def my_inspections(user: User) -> list[Inspection]:
    """Inspections the user was drawn for, pending first."""
    from marketplace.inspections.models import inspection_assignments

    return list(db.session.execute(
        sa.select(Inspection).join(inspection_assignments, inspection_assignments.c.inspection_id == Inspection.id)
        .where(inspection_assignments.c.user_id == user.id)
        .order_by(Inspection.status != InspectionStatus.PENDING, Inspection.id.desc())
    ).scalars())


def service_item_choices() -> list[ServiceItem]:
    """Active service items (a plan's scope)."""
    return list(db.session.execute(
        sa.select(ServiceItem).where(ServiceItem.is_active.is_(True)).order_by(ServiceItem.code)
    ).scalars())


def public_data(plan: InspectionPlan) -> dict:
    """The public record of a drawn plan: scope, both draws (verifiable), sample and results.

    Each draw has the shape ``docs/verify_draw.py`` checks for a random-draw purchase request
    (``seed``, ``commitment``, ``bidders`` = the frozen pool, ``list_hash``, ``ranking``), plus
    ``sample_size`` and ``sample``: the first ``sample_size`` ids of the ranking.
    """
    if not plan.is_drawn:
        raise NotFound(_l("This inspection plan does not exist."))

    def draw(seed, commitment, pool, list_hash, size):
        _, ranking = rank_pool(seed, pool)
        size = min(size, len(pool))
        return {
            "seed": seed, "commitment": commitment, "bidders": pool,
            "list_bytes": bidder_list_bytes(pool).decode("ascii"), "list_hash": list_hash,
            "ranking": [{"rank": r, "bidder_id": i, "key": k} for r, i, k in ranking],
            "sample_size": size, "sample": [i for _, i, _ in ranking[:size]],
        }

    team = {m.rank: m for m in plan.inspectors}
    published = plan.status is PlanStatus.PUBLISHED
    return {
        "plan": {
            "reference": plan.reference, "title": plan.title, "basis": plan.basis, "scope": plan.scope.value,
            "service_item": plan.service_item.name if plan.service_item else None,
            "region_code": plan.region_code, "status": plan.status.value,
            "created_at": plan.created_at.isoformat(), "drawn_at": plan.drawn_at.isoformat(),
            "published_at": plan.published_at.isoformat() if plan.published_at else None,
            "inspectors_per_check": plan.inspectors_per_check,
        },
        "draws": {
            "agencies": draw(plan.agency_seed, plan.agency_commitment, plan.pool("agencies"),
                             plan.agency_list_hash, plan.agency_sample_size),
            "inspectors": draw(plan.inspector_seed, plan.inspector_commitment, plan.pool("inspectors"),
                               plan.inspector_list_hash, plan.inspector_count),
        },
        "inspections": [
            {
                "rank": i.rank, "agency_id": i.organisation_id, "agency_name": i.organisation.name,
                "inspector_ranks": sorted(m.rank for m in team.values() if m.user_id in {u.id for u in i.inspectors}),
                "inspectors": [u.name for u in i.inspectors],
                "result": i.status.value if published else None,
                "findings": i.findings if published else None,
            }
            for i in plan.inspections
        ],
    }
