"""What every audit event type is called and who may see it: the one rule all public surfaces use.

An event type is ``<object>.<what happened>`` (``bid.submitted``). Each has a translated label
and a visibility policy:

- ``public``: shown to everyone at once (the procurement process is public);
- ``with_request``: an event of a purchase request, shown once the request has been published;
- ``after_bidding``: an event of a sealed bid, shown only once the bidding deadline of its
  request has passed, so neither the number nor the timing of bids leaks while bidding is open;
- ``private``: accounts, sign-ins, API tokens, webhooks, provider internals: never public.

Payloads are never public (they carry prices, names, texts); the public sees the type, the
time, the subject by its public number and the hashes. The state-machine transitions
(``<audit_type>.<status>``) are derived from the machines themselves, so a new status gets a
label without an entry here; an event type missing from the registry is treated as private.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l


class Visibility(enum.StrEnum):
    """When the public may see an event of a type."""

    PUBLIC = "public"
    WITH_REQUEST = "with_request"
    AFTER_BIDDING = "after_bidding"
    PRIVATE = "private"


@dataclass(frozen=True)
class EventType:
    """One audit event type: its translated label and its visibility policy."""

    label: object
    visibility: Visibility


P, R, B, X = (
    Visibility.PUBLIC,
    Visibility.WITH_REQUEST,
    Visibility.AFTER_BIDDING,
    Visibility.PRIVATE,
)

# Event types written by an explicit ``record_event`` call (the transitions are added below).
EVENTS: dict[str, EventType] = {
    # accounts: never public
    "user.created": EventType(_l("User account created"), X),
    "user.login": EventType(_l("Signed in"), X),
    "user.sessions_ended": EventType(_l("Sessions ended"), X),
    "user.enabled": EventType(_l("User account enabled"), X),
    "user.disabled": EventType(_l("User account disabled"), X),
    "api_token.created": EventType(_l("API token created"), X),
    "api_token.revoked": EventType(_l("API token revoked"), X),
    "webhook.endpoint_created": EventType(_l("Webhook endpoint registered"), X),
    "webhook.endpoint_paused": EventType(_l("Webhook endpoint paused"), X),
    "webhook.endpoint_resumed": EventType(_l("Webhook endpoint resumed"), X),
    "webhook.delivery_replayed": EventType(_l("Webhook delivery replayed"), X),
    "payment_account.created": EventType(_l("Payout account opened"), X),
    "payment_account.updated": EventType(_l("Payout account updated"), X),
    # organisations and agencies
    "organisation.created": EventType(_l("Organisation created"), P),
    "organisation.registered": EventType(_l("Organisation registered"), P),
    "agency.profile_updated": EventType(_l("Agency profile updated"), P),
    "agency.independence_declared": EventType(_l("Independence declaration signed"), P),
    "agency.practitioner_added": EventType(_l("Practitioner added"), P),
    "agency.practitioner_removed": EventType(_l("Practitioner removed"), P),
    "agency.qualification_added": EventType(_l("Qualification added"), P),
    "agency.qualification_updated": EventType(_l("Qualification updated"), P),
    "agency.qualification_removed": EventType(_l("Qualification removed"), P),
    "listing.created": EventType(_l("Service listing created"), P),
    "listing.commitment_changed": EventType(_l("Service commitments changed"), P),
    # catalogue and calendar
    "approval_item.created": EventType(_l("Approval item added to the catalogue"), P),
    "approval_item.updated": EventType(_l("Approval item changed"), P),
    "approval_item.imported": EventType(_l("Approval items imported"), P),
    "service_category.created": EventType(_l("Service category added"), P),
    "service_category.updated": EventType(_l("Service category changed"), P),
    "qualification_type.created": EventType(_l("Qualification type added"), P),
    "qualification_type.updated": EventType(_l("Qualification type changed"), P),
    "service_item.created": EventType(_l("Service item added to the catalogue"), P),
    "service_item.updated": EventType(_l("Service item changed"), P),
    "service_item.imported": EventType(_l("Service items imported"), P),
    "calendar.seeded": EventType(_l("Working-day calendar loaded"), P),
    "calendar.year_imported": EventType(_l("Working-day calendar year imported"), P),
    "search_synonym.created": EventType(_l("Search synonym added"), P),
    "search_synonym.updated": EventType(_l("Search synonym changed"), P),
    "search_synonym.deleted": EventType(_l("Search synonym removed"), P),
    # approval cases and purchase requests
    "approval_case.created": EventType(_l("Approval case opened"), P),
    "approval_case.result_attached": EventType(
        _l("Service result attached to the approval case"), P
    ),
    "purchase_request.created": EventType(_l("Announcement drafted"), R),
    "purchase_request.updated": EventType(_l("Announcement draft changed"), R),
    "purchase_request.exclusion_added": EventType(
        _l("Agency excluded for a conflict of interest"), R
    ),
    "purchase_request.exclusion_removed": EventType(_l("Exclusion of an agency lifted"), R),
    "purchase_request.republished": EventType(_l("Announcement re-published as a new round"), R),
    "purchase_request.evaluated": EventType(_l("Bids evaluated"), R),
    "purchase_request.award_passed": EventType(_l("Award passed to the next bidder"), R),
    "purchase_request.award_finalised": EventType(_l("Award final (objection period over)"), R),
    # sealed bids
    "bid.submitted": EventType(_l("Sealed bid submitted"), B),
    "bid.revised": EventType(_l("Sealed bid revised"), B),
    "bid.revealed": EventType(_l("Sealed bid opened"), B),
    "bid.abnormal_confirmed": EventType(_l("Abnormally low price accepted"), B),
    "bid.abnormal_rejected": EventType(_l("Abnormally low price rejected"), B),
    # contracts and delivery
    "contract.drafted": EventType(_l("Contract drafted"), P),
    "contract.changed": EventType(_l("Contract text changed"), P),
    "contract.signed": EventType(_l("Contract signed by a party"), P),
    "contract.agency_blacklisted": EventType(_l("Contract agency blacklisted"), P),
    "contract_template.saved": EventType(_l("Contract template saved"), P),
    "contract_template.removed": EventType(_l("Contract template removed"), P),
    "contract_termination.proposed": EventType(_l("Termination proposed"), P),
    "contract_termination.declared": EventType(_l("Termination declared"), P),
    "delivery.opened": EventType(_l("Service started"), P),
    "delivery.due_date_changed": EventType(_l("Due date changed"), P),
    "delivery.overdue": EventType(_l("Service overdue"), P),
    "delivery.stopped": EventType(_l("Service stopped"), P),
    "delivery_extension.proposed": EventType(_l("Later due date proposed"), P),
    # payments
    "payment.created": EventType(_l("Payment opened"), P),
    "payment.transfer_requested": EventType(
        _l("Service accepted: transfer to the agency requested"), P
    ),
    "payment.offline_refund_due": EventType(
        _l("Contract ended: refund to settle between the parties"), P
    ),
    "payment.refund_created": EventType(_l("Refund sent to Stripe"), P),
    "payment.partially_refunded": EventType(_l("Part of the amount refunded at Stripe"), P),
    "payment.transfer_reversed": EventType(_l("Transfer to the agency reversed"), P),
    "payment.amount_mismatch": EventType(_l("Amount paid differs from the contract price"), X),
    "payment.chargeback_opened": EventType(_l("Chargeback opened by the card holder's bank"), X),
    "payment.chargeback_updated": EventType(_l("Chargeback status changed"), X),
    # ratings and credit
    "rating_window.opened": EventType(_l("Rating window opened"), P),
    "rating_window.revealed": EventType(_l("Ratings revealed"), P),
    "rating.submitted": EventType(_l("Rating submitted"), P),
    "rating.replied": EventType(_l("Reply to a rating"), P),
    "rating.comment_hidden": EventType(_l("Rating comment hidden"), P),
    "rating.reply_hidden": EventType(_l("Reply to a rating hidden"), P),
    "credit.input_recorded": EventType(_l("Credit record added"), P),
    "credit.input_expiry": EventType(_l("Credit record expired"), P),
    "credit.input_reversal": EventType(_l("Credit record reversed"), P),
    "credit.recomputed": EventType(_l("Credit score recomputed"), P),
    # complaints, oversight, sanctions
    "objection.drafted": EventType(_l("Objection drafted"), X),
    "complaint.submitted": EventType(_l("Complaint filed"), P),
    "complaint.evidence_added": EventType(_l("Evidence added to a complaint"), P),
    "complaint.upheld_against_enterprise": EventType(
        _l("Complaint upheld against the enterprise"), P
    ),
    "complaint_route.set": EventType(_l("Complaint route set"), P),
    "complaint_route.cleared": EventType(_l("Complaint route cleared"), P),
    "independence_flag.raised": EventType(_l("Independence flag raised"), P),
    "independence_flag.responded": EventType(_l("Agency answered an independence flag"), P),
    "independence_flag.sanction_proposed": EventType(
        _l("Sanction proposed on an independence flag"), P
    ),
    "inspection_plan.created": EventType(_l("Inspection plan created"), P),
    "inspection_plan.updated": EventType(_l("Inspection plan changed"), P),
    "sanction_case.proposed": EventType(_l("Sanction proposed"), P),
    "sanction_case.responded": EventType(_l("Agency answered a sanction notice"), P),
    "sanction_case.repaired": EventType(_l("Credit repaired"), P),
    "sanction.exit_started": EventType(_l("Market exit started (blacklist in force)"), P),
    "sanction_repair.requested": EventType(_l("Credit repair requested"), P),
}

# Friendlier labels for some transitions than "<subject>: <status>".
TRANSITION_LABELS: dict[str, object] = {
    "purchase_request.published": _l("Announcement published"),
    "purchase_request.bidding_closed": _l("Bidding closed"),
    "purchase_request.awarded": _l("Result announced"),
    "purchase_request.failed": _l("Procurement failed"),
    "purchase_request.cancelled": _l("Announcement cancelled"),
    "bid.withdrawn": _l("Sealed bid withdrawn"),
    "bid.won": _l("Bid won"),
    "bid.lost": _l("Bid not selected"),
    "bid.rejected": _l("Bid rejected"),
    "contract.in_force": _l("Contract signed by both parties"),
    "payment.pending": _l("Online checkout started"),
    "payment.paid": _l("Paid; held by the platform"),
    "payment.unpaid": _l("Online checkout expired"),
    "payment.transferred": _l("Transferred to the agency"),
    "payment.refunding": _l("Refund started"),
    "payment.refunded": _l("Refunded"),
    "payment.recorded": _l("Bank transfer recorded"),
    "payment.confirmed": _l("Receipt confirmed"),
    "payment.disputed": _l("Bank transfer disputed"),
    "payment.cancelled": _l("Payment cancelled"),
}

# Public facts: the chain head is signed in the same transaction as any of these, so a result,
# a signed contract or a sanction can never be removed or rewritten without breaking a checkpoint.
PUBLIC_FACTS = frozenset(
    {
        "purchase_request.published",
        "purchase_request.awarded",
        "purchase_request.award_passed",
        "purchase_request.award_finalised",
        "purchase_request.failed",
        "purchase_request.cancelled",
        "contract.in_force",
        "contract.terminated",
        "contract.completed",
        "sanction_case.decided",
        "sanction_case.upheld",
        "sanction_case.shortened",
        "sanction_case.revoked",
        "sanction_case.repaired",
        "sanction.exit_started",
        "complaint.upheld",
        "complaint.dismissed",
        "inspection_plan.drawn",
        "inspection_plan.published",
        "rating_window.revealed",
    }
)

# Transitions of these machines get this visibility; every other machine's are public.
TRANSITION_VISIBILITY = {"purchase_request": R, "bid": B, "objection": P}
PRIVATE_TRANSITIONS = {"objection.draft"}


@dataclass(frozen=True)
class _TransitionLabel:
    subject: object
    status: object

    def __str__(self) -> str:
        return _("%(subject)s: %(status)s", subject=self.subject, status=self.status)


def _machines():
    """Every lifecycle's state machine (imported lazily: the domains import the audit chain)."""
    from marketplace.agencies.states import LISTING_MACHINE
    from marketplace.complaints.states import COMPLAINT_MACHINE, OBJECTION_MACHINE
    from marketplace.contracts.states import CONTRACT_MACHINE, TERMINATION_MACHINE
    from marketplace.delivery.states import DELIVERY_MACHINE, EXTENSION_MACHINE
    from marketplace.independence.states import FLAG_MACHINE
    from marketplace.inspections.states import INSPECTION_MACHINE, PLAN_MACHINE
    from marketplace.payments.states import PAYMENT_MACHINE
    from marketplace.procurement.states import BID_MACHINE, CASE_MACHINE, REQUEST_MACHINE
    from marketplace.ratings.states import RATING_MACHINE
    from marketplace.sanctions.states import REPAIR_MACHINE, SANCTION_MACHINE

    return [
        LISTING_MACHINE,
        COMPLAINT_MACHINE,
        OBJECTION_MACHINE,
        CONTRACT_MACHINE,
        TERMINATION_MACHINE,
        DELIVERY_MACHINE,
        EXTENSION_MACHINE,
        FLAG_MACHINE,
        INSPECTION_MACHINE,
        PLAN_MACHINE,
        PAYMENT_MACHINE,
        BID_MACHINE,
        CASE_MACHINE,
        REQUEST_MACHINE,
        RATING_MACHINE,
        REPAIR_MACHINE,
        SANCTION_MACHINE,
    ]


# The subject (the machine's audit_type) of each transition family.
MACHINE_SUBJECTS = {
    "listing": _l("Service listing"),
    "complaint": _l("Complaint"),
    "objection": _l("Objection"),
    "contract": _l("Contract"),
    "contract_termination": _l("Contract termination"),
    "delivery": _l("Service result"),
    "delivery_extension": _l("Due-date extension"),
    "independence_flag": _l("Independence flag"),
    "inspection": _l("Inspection"),
    "inspection_plan": _l("Inspection plan"),
    "payment": _l("Payment"),
    "bid": _l("Bid"),
    "approval_case": _l("Approval case"),
    "purchase_request": _l("Announcement"),
    "rating": _l("Rating"),
    "sanction_repair": _l("Credit repair request"),
    "sanction_case": _l("Sanction case"),
}


@lru_cache(maxsize=1)
def registry() -> dict[str, EventType]:
    """Every known event type: the explicit ones and every state-machine transition."""
    types = dict(EVENTS)
    for machine in _machines():
        subject = MACHINE_SUBJECTS[machine.audit_type]
        for status in machine.status_enum:
            action = f"{machine.audit_type}.{status}"
            if action in types:
                continue
            label = TRANSITION_LABELS.get(action) or _TransitionLabel(subject, status.label)
            visibility = TRANSITION_VISIBILITY.get(machine.audit_type, P)
            if action in PRIVATE_TRANSITIONS:
                visibility = X
            types[action] = EventType(label, visibility)
    return types


def event_label(action: str) -> str:
    """The translated label of an event type (the raw type only for an unknown one)."""
    entry = registry().get(action)
    return str(entry.label) if entry else action


def visibility_of(action: str) -> Visibility:
    """The visibility policy of an event type; unknown types are private."""
    entry = registry().get(action)
    return entry.visibility if entry else Visibility.PRIVATE


def _actions(visibility: Visibility) -> list[str]:
    return sorted(a for a, e in registry().items() if e.visibility is visibility)


def public_condition(now: datetime):
    """The SQL condition selecting the audit events the public may see at ``now``."""
    from marketplace.audit.models import AuditEvent
    from marketplace.procurement.models import Bid, PurchaseRequest

    # Published at some point: a draft cancelled before publication stays its owner's business.
    published = sa.select(sa.cast(PurchaseRequest.id, sa.String)).where(PurchaseRequest.is_public)
    closed_bids = (
        sa.select(sa.cast(Bid.id, sa.String))
        .join(PurchaseRequest, Bid.request_id == PurchaseRequest.id)
        .where(PurchaseRequest.bidding_deadline <= now)
    )
    return sa.or_(
        AuditEvent.action.in_(_actions(P)),
        sa.and_(
            AuditEvent.action.in_(_actions(R)),
            AuditEvent.object_type == "purchase_requests",
            AuditEvent.object_id.in_(published),
        ),
        sa.and_(
            AuditEvent.action.in_(_actions(B)),
            AuditEvent.object_type == "bids",
            AuditEvent.object_id.in_(closed_bids),
        ),
    )


# --- subjects: the object an event is about, by its translated name and public number ----------


def _model(path: str):
    module, name = path.split(":")
    return getattr(__import__(module, fromlist=[name]), name)


def _get(path: str, ident):
    from marketplace.extensions import db

    return db.session.get(_model(path), ident) if ident is not None else None


def _org_name(org_id) -> str:
    org = _get("marketplace.accounts.models:Organisation", org_id)
    return org.name if org else ""


def _contract_no(contract_id) -> str:
    contract = _get("marketplace.contracts.models:Contract", contract_id)
    return contract.contract_no if contract else ""


@dataclass(frozen=True)
class Subject:
    """How the object of an event is named publicly: a label and, optionally, its public number."""

    label: object
    model: str | None = None
    number: object = None  # callable(obj) -> str
    # Relationships ``number`` reads ("contract", "delivery.contract"): loaded for a whole page of
    # events in one statement each, so naming 50 events does not cost 50 lookups.
    preload: tuple[str, ...] = ()


SUBJECTS: dict[str, Subject] = {
    "users": Subject(_l("User account")),
    "api_tokens": Subject(_l("API token")),
    "webhook_endpoints": Subject(_l("Webhook endpoint")),
    "webhook_deliveries": Subject(_l("Webhook delivery")),
    "payment_accounts": Subject(_l("Payout account")),
    "organisations": Subject(
        _l("Organisation"), "marketplace.accounts.models:Organisation", lambda o: o.name
    ),
    "agency_listings": Subject(
        _l("Service listing"),
        "marketplace.agencies.models:Listing",
        lambda o: f"{o.organisation.name} · {o.service_item.name}",
        ("organisation", "service_item"),
    ),
    "approval_items": Subject(
        _l("Approval item"),
        "marketplace.catalog.models:ApprovalItem",
        lambda o: f"{o.code} {o.name}",
    ),
    "service_items": Subject(
        _l("Service item"), "marketplace.catalog.models:ServiceItem", lambda o: f"{o.code} {o.name}"
    ),
    "service_categories": Subject(
        _l("Service category"), "marketplace.catalog.models:ServiceCategory", lambda o: o.name
    ),
    "qualification_types": Subject(
        _l("Qualification type"), "marketplace.catalog.models:QualificationType", lambda o: o.name
    ),
    "search_synonyms": Subject(
        _l("Search synonym"), "marketplace.search.models:SearchSynonym", lambda o: o.term
    ),
    "calendar": Subject(_l("Working-day calendar")),
    "calendar_year": Subject(_l("Working-day calendar")),
    # Approval cases belong to the applicant and the department: no public number.
    "approval_cases": Subject(_l("Approval case")),
    "purchase_requests": Subject(
        _l("Announcement"), "marketplace.procurement.models:PurchaseRequest", lambda o: o.reference
    ),
    "bids": Subject(
        _l("Bid"),
        "marketplace.procurement.models:Bid",
        lambda o: _("on %(ref)s", ref=o.request.reference),
        ("request",),
    ),
    "contracts": Subject(
        _l("Contract"), "marketplace.contracts.models:Contract", lambda o: o.contract_no
    ),
    "contract_templates": Subject(
        _l("Contract template"),
        "marketplace.contracts.models:ContractTemplate",
        lambda o: o.service_item.name,
        ("service_item",),
    ),
    "contract_terminations": Subject(
        _l("Contract termination"),
        "marketplace.contracts.models:ContractTermination",
        lambda o: o.contract.contract_no,
        ("contract",),
    ),
    "deliveries": Subject(
        _l("Service result"),
        "marketplace.delivery.models:Delivery",
        lambda o: o.contract.contract_no,
        ("contract",),
    ),
    "delivery_extensions": Subject(
        _l("Due-date extension"),
        "marketplace.delivery.models:DeliveryExtension",
        lambda o: o.delivery.contract.contract_no,
        ("delivery.contract",),
    ),
    "payments": Subject(
        _l("Payment"), "marketplace.payments.models:Payment", lambda o: _contract_no(o.contract_id),
        ("contract",),
    ),
    "rating_windows": Subject(
        _l("Ratings"), "marketplace.ratings.models:RatingWindow", lambda o: o.contract.contract_no,
        ("contract",),
    ),
    "ratings": Subject(
        _l("Rating"), "marketplace.ratings.models:Rating", lambda o: o.contract.contract_no,
        ("contract",),
    ),
    "credit_inputs": Subject(
        _l("Credit record"),
        "marketplace.credit.models:CreditInput",
        lambda o: _org_name(o.organisation_id),
    ),
    "credit_scores": Subject(
        _l("Credit score"), "marketplace.accounts.models:Organisation", lambda o: o.name
    ),
    "objections": Subject(
        _l("Objection"), "marketplace.complaints.models:Objection", lambda o: o.reference
    ),
    "complaints": Subject(
        _l("Complaint"), "marketplace.complaints.models:Complaint", lambda o: o.reference
    ),
    "complaint_routes": Subject(_l("Complaint route")),
    "independence_flags": Subject(
        _l("Independence flag"),
        "marketplace.independence.models:IndependenceFlag",
        lambda o: o.reference,
    ),
    "inspection_plans": Subject(
        _l("Inspection plan"),
        "marketplace.inspections.models:InspectionPlan",
        lambda o: o.reference,
    ),
    "inspections": Subject(
        _l("Inspection"),
        "marketplace.inspections.models:Inspection",
        lambda o: _get("marketplace.inspections.models:InspectionPlan", o.plan_id).reference,
        ("plan",),
    ),
    "sanction_cases": Subject(
        _l("Sanction case"), "marketplace.sanctions.models:SanctionCase", lambda o: o.reference
    ),
    "sanction_repair_requests": Subject(
        _l("Credit repair request"),
        "marketplace.sanctions.models:RepairRequest",
        lambda o: o.case.reference,
        ("case",),
    ),
}


def subject_label(object_type: str, object_id: str) -> str:
    """The object of an event as the public sees it, e.g. "采购公告 CG000012-1"."""
    spec = SUBJECTS.get(object_type)
    if spec is None:
        return _("Record")
    label = str(spec.label)
    if spec.model is None or not (str(object_id).isascii() and str(object_id).isdigit()):
        return label
    obj = _get(spec.model, int(object_id))
    if obj is None:
        return label
    return f"{label} {spec.number(obj)}"


def actor_name(event) -> str:
    """Who did it, by name and organisation ("钱经理（某某公司）"), or the platform."""
    if event.actor_id is not None:
        user = _get("marketplace.accounts.models:User", event.actor_id)
        if user is not None:
            org = user.organisation
            return _("%(name)s (%(org)s)", name=user.name, org=org.name) if org else user.name
    if event.actor_label == "stripe":
        return "Stripe"
    if event.actor_label.startswith("api-token:"):
        return _("API client")
    if event.actor_label.startswith("sanction "):
        return _("Sanction %(ref)s", ref=event.actor_label.split(" ", 1)[1])
    return _("Platform")


@dataclass(frozen=True)
class PublicEvent:
    """An event as the public sees it."""

    seq: int
    created_at: datetime
    action: str
    label: str
    object_type: str
    object_id: str
    subject: str
    prev_hash: str
    hash: str


def _relationship_loader(model, path: str):
    """``selectinload(Model.a).selectinload(A.b)`` for ``"a.b"``."""
    from sqlalchemy.orm import selectinload

    loader, current = None, model
    for name in path.split("."):
        attr = sa.inspect(current).relationships[name]
        loader = selectinload(getattr(current, name)) if loader is None else loader.selectinload(
            getattr(current, name))
        current = attr.mapper.class_
    return loader


def preload_subjects(events) -> list:
    """Load the objects ``events`` name, one statement per kind of object (and per relationship
    its number reads); ``subject_label`` then finds them in the session without a lookup each.
    The caller keeps the returned list while it names the events (the session holds objects weakly)."""
    from marketplace.extensions import db

    loaded: list = []
    wanted: dict[str, set[int]] = {}
    for ev in events:
        spec = SUBJECTS.get(ev.object_type)
        text = str(ev.object_id)
        if spec is not None and spec.model is not None and text.isascii() and text.isdigit() and len(text) < 19:
            wanted.setdefault(ev.object_type, set()).add(int(text))
    for object_type, ids in wanted.items():
        spec = SUBJECTS[object_type]
        model = _model(spec.model)
        stmt = sa.select(model).where(model.id.in_(sorted(ids)))
        stmt = stmt.options(*(_relationship_loader(model, path) for path in spec.preload))
        loaded.extend(db.session.execute(stmt).scalars().all())
    return loaded


def describe(events) -> list[PublicEvent]:
    """The public view of ``events``: translated labels and subjects, no payload, no actor."""
    events = list(events)
    loaded = preload_subjects(events)  # noqa: F841 - kept alive while the events are named
    return [
        PublicEvent(
            seq=ev.seq,
            created_at=ev.created_at,
            action=ev.action,
            label=event_label(ev.action),
            object_type=ev.object_type,
            object_id=ev.object_id,
            subject=subject_label(ev.object_type, ev.object_id),
            prev_hash=ev.prev_hash,
            hash=ev.hash,
        )
        for ev in events
    ]
