"""Endpoints for an enterprise's own systems: its purchase requests, bids, awards and delivery reviews.

A token acts for its enterprise as the enterprise's staff would (``TokenActor``), through the same
services as the site's pages: ``create_request``, ``update_request``, ``publish_request``,
``cancel_request``, ``decide_abnormal_bid``, ``pass_award_to_next``, ``accept_delivery``,
``request_revision``, ``decide_extension``. A request of another organisation is not found (404),
as on the site's own-request pages; a refusal that names no field is about the record's state, not
the input, and answers 409 with the service's message.

Contracts are signed by a person on the site (the signer's password is checked), never by token.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime

import marshmallow as ma
import sqlalchemy as sa
from flask import g, url_for
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from marketplace.api.auth import token_required
from marketplace.api.common import ID, SECURITY, error_docs, multiline, plain, token_actor
from marketplace.api.contracts_api import PartyDeliveryExtensionSchema
from marketplace.api.pagination import CursorArgs, page
from marketplace.api.public import CodedRefSchema, RefSchema
from marketplace.api.schemas import StrictSchema, page_schema
from marketplace.catalog.models import ServiceItem
from marketplace.contracts import services as contracts
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, InvalidTransition, NotFound
from marketplace.core.money import MAX_FEN
from marketplace.core.text import MAX_DB_INT
from marketplace.delivery import services as delivery
from marketplace.delivery.models import REASON_MAX as DELIVERY_REASON_MAX
from marketplace.extensions import db
from marketplace.procurement import services as procurement
from marketplace.procurement.models import (
    CONTENT_MAX,
    PERSON_MAX,
    PHONE_MAX,
    REASON_MAX,
    SCALE_MAX,
    TITLE_MAX,
    Bid,
    BidStatus,
    PurchaseRequest,
    RequestStatus,
    SelectionMethod,
)

enterprise_bp = Blueprint("api_enterprise", __name__,
                          description="An enterprise's own purchase requests, bids, awards and delivery reviews")

# The services name the form's fields; the API's body names amounts in fen.
_BODY_FIELD = {"budget_ceiling": "budget_ceiling_fen", "quote_min": "quote_min_fen", "quote_max": "quote_max_fen"}


def _errors(*codes):
    return error_docs(enterprise_bp, *codes)


@contextmanager
def _service():
    """Run a service call: a refusal naming no field is a state conflict (409); fields use the body's names."""
    try:
        yield
    except DomainError as exc:
        if type(exc) is not DomainError:  # already says what it is (403, 404, 409, a provider's error)
            raise
        if exc.field is None:
            raise InvalidTransition(exc.message) from exc
        if exc.field in _BODY_FIELD:
            raise DomainError(exc.message, field=_BODY_FIELD[exc.field]) from exc
        raise


def _own_request(actor, request_id) -> PurchaseRequest:
    """The token's organisation's own request, as the site's own-request pages load it.

    Raises:
        NotFound: no such request, or another organisation's.
    """
    req = procurement.get_by_id(PurchaseRequest, request_id)
    if req.enterprise_id != actor.organisation_id:
        raise NotFound(_l("This page does not exist."))
    return req


# --- input checks (shape only; the services hold the rules) --------------------------------------


def _plausible_moment(value: datetime):
    if not 2000 <= value.year <= 2100:
        raise ma.ValidationError(str(_l("Enter a date and time between the years 2000 and 2100.")))


def _text(max_len: int, *, lines: bool = False, **kwargs):
    return ma.fields.String(validate=[ma.validate.Length(max=max_len), multiline if lines else plain],
                            **kwargs)


def _fen(**kwargs):
    return ma.fields.Integer(strict=True, allow_none=True, validate=ma.validate.Range(min=0, max=MAX_FEN),
                             metadata={"description": "in fen (分); 100 fen = ¥1"}, **kwargs)


def _db_id(**kwargs):
    return ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1, max=MAX_DB_INT), **kwargs)


def _weight():
    return ma.fields.Integer(strict=True, allow_none=True, validate=ma.validate.Range(min=0, max=100),
                             metadata={"description": "percent (comprehensive scoring only; the three add up to 100)"})


class RequestFieldsSchema(StrictSchema):
    """What the enterprise enters for a purchase request (the site's request form)."""

    title = _text(TITLE_MAX)
    content = _text(CONTENT_MAX, lines=True, metadata={"description": "scope, deliverables, requirements"})
    scale = _text(SCALE_MAX)
    selection_method = ma.fields.String(validate=ma.validate.OneOf([m.value for m in SelectionMethod]))
    is_budgeted = ma.fields.Boolean(metadata={"description": "true: a budget ceiling; false: a quote range"})
    budget_ceiling_fen = _fen()
    quote_min_fen = _fen()
    quote_max_fen = _fen()
    qualification_type_ids = ma.fields.List(_db_id(), validate=ma.validate.Length(max=50),
                                            metadata={"description": "only those the catalogue lists for the "
                                                                     "service item"})
    direct_agency_id = _db_id(allow_none=True, metadata={"description": "direct selection: the agency chosen"})
    direct_reason = _text(REASON_MAX, lines=True,
                          metadata={"description": "direct selection: the public reason for the choice"})
    weight_price = _weight()
    weight_time = _weight()
    weight_credit = _weight()
    bidding_deadline = ma.fields.DateTime(
        validate=_plausible_moment,
        metadata={"description": "ISO 8601; without an offset it is Beijing time (as on the form)",
                  "example": "2026-12-18T17:00:00+08:00"},
    )
    contact_name = _text(PERSON_MAX)
    contact_phone = _text(PHONE_MAX, metadata={"example": "0871-66000000"})
    complaint_phone = _text(PHONE_MAX, metadata={"example": "0871-12345"})


class RequestCreateSchema(RequestFieldsSchema):
    approval_case_id = _db_id(required=True, metadata={"description": "one of the enterprise's open cases"})
    service_item_id = _db_id(required=True, metadata={"description": "a service item the case needs"})
    title = _text(TITLE_MAX, required=True)
    content = _text(CONTENT_MAX, lines=True, required=True)
    contact_name = _text(PERSON_MAX, required=True)
    contact_phone = _text(PHONE_MAX, required=True)
    complaint_phone = _text(PHONE_MAX, required=True)


class PublishSchema(StrictSchema):
    bidding_deadline = ma.fields.DateTime(
        validate=_plausible_moment,
        metadata={"description": "optional: move the draft's deadline before publishing (ISO 8601; without an "
                                 "offset it is Beijing time)"},
    )


class ReasonSchema(StrictSchema):
    reason = _text(REASON_MAX, lines=True, required=True, metadata={"description": "public, on the record"})


class DecisionSchema(StrictSchema):
    decision = ma.fields.String(required=True, validate=ma.validate.OneOf(["confirm", "reject"]))
    reason = _text(REASON_MAX, lines=True, required=True, metadata={"description": "public, on the record"})


class AcceptSchema(StrictSchema):
    version = _db_id(required=True, metadata={"description": "the version reviewed; a newer one is a 409"})


class RevisionSchema(AcceptSchema):
    reason = _text(DELIVERY_REASON_MAX, lines=True, required=True)


class ExtensionDecisionSchema(StrictSchema):
    agree = ma.fields.Boolean(required=True, metadata={"description": "false declines (or withdraws your own)"})
    note = _text(DELIVERY_REASON_MAX, lines=True, load_default="")


class MyRequestArgs(CursorArgs):
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf([s.value for s in RequestStatus]))


def _deadline(value: datetime) -> datetime:
    if value.tzinfo is None:
        return procurement.china_local_to_utc(value)
    return value.astimezone(UTC)


def _request_input(data: dict, base: PurchaseRequest | None) -> procurement.RequestInput:
    """The form's RequestInput: a draft's current values (or the form's defaults), overlaid with ``data``."""
    if base is None:
        values = {"scale": "", "is_budgeted": True, "budget_ceiling_fen": None, "quote_min_fen": None,
                  "quote_max_fen": None, "qualification_type_ids": (), "direct_agency_id": None,
                  "direct_reason": "", "weight_price": None, "weight_time": None, "weight_credit": None,
                  "selection_method": SelectionMethod.LOWEST_PRICE.value,
                  "bidding_deadline": procurement.default_deadline(utcnow())}
    else:
        values = {name: getattr(base, name) for name in (
            "title", "content", "scale", "is_budgeted", "budget_ceiling_fen", "quote_min_fen", "quote_max_fen",
            "direct_agency_id", "direct_reason", "weight_price", "weight_time", "weight_credit",
            "bidding_deadline", "contact_name", "contact_phone", "complaint_phone")}
        values["selection_method"] = base.selection_method.value
        values["qualification_type_ids"] = tuple(q.id for q in base.required_qualifications)
    for name, value in data.items():
        if name == "bidding_deadline":
            value = _deadline(value)
        elif name == "qualification_type_ids":
            value = tuple(value)
        values[name] = value
    return procurement.RequestInput(**values)


# --- shapes ------------------------------------------------------------------------------------


class MyRequestSchema(ma.Schema):
    id = ma.fields.Integer()
    reference = ma.fields.String()
    round = ma.fields.Integer(attribute="round_number")
    approval_case_id = ma.fields.Integer()
    service_item = ma.fields.Nested(CodedRefSchema)
    title = ma.fields.String()
    content = ma.fields.String()
    scale = ma.fields.String()
    status = ma.fields.Function(lambda r: r.status.value)
    selection_method = ma.fields.Function(lambda r: r.selection_method.value)
    is_budgeted = ma.fields.Boolean()
    budget_ceiling_fen = ma.fields.Integer(allow_none=True)
    quote_min_fen = ma.fields.Integer(allow_none=True)
    quote_max_fen = ma.fields.Integer(allow_none=True)
    required_qualifications = ma.fields.List(ma.fields.Nested(RefSchema))
    direct_agency = ma.fields.Nested(RefSchema, allow_none=True)
    direct_reason = ma.fields.String()
    weight_price = ma.fields.Integer(allow_none=True)
    weight_time = ma.fields.Integer(allow_none=True)
    weight_credit = ma.fields.Integer(allow_none=True)
    bidding_deadline = ma.fields.DateTime()
    contact_name = ma.fields.String()
    contact_phone = ma.fields.String()
    complaint_phone = ma.fields.String()
    published_at = ma.fields.DateTime(allow_none=True)
    closed_at = ma.fields.DateTime(allow_none=True)
    awarded_org = ma.fields.Nested(RefSchema, allow_none=True, data_key="awarded_agency")
    awarded_price_fen = ma.fields.Integer(allow_none=True)
    awarded_days = ma.fields.Integer(allow_none=True)
    objection_deadline = ma.fields.DateTime(allow_none=True)
    award_final = ma.fields.Function(procurement.award_is_final)
    cancel_reason = ma.fields.String()
    failure_reason = ma.fields.String()
    previous_round_id = ma.fields.Integer(allow_none=True)
    contract_id = ma.fields.Function(
        lambda r: getattr(contracts.contract_for_request(r), "id", None), allow_none=True,
        metadata={"description": "the request's newest contract, once drafted"},
    )
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
    web_url = ma.fields.Function(lambda r: url_for("procurement.announcement", request_id=r.id, _external=True),
                                 metadata={"description": "the request's page on the platform"})


class MyBidSchema(ma.Schema):
    id = ma.fields.Integer()
    agency = ma.fields.Nested(RefSchema)
    rank = ma.fields.Integer(allow_none=True, metadata={"description": "null: not in the ranking"})
    price_fen = ma.fields.Integer(allow_none=True, metadata={"description": "only for ranked bids, as on the "
                                                                             "result page"})
    days = ma.fields.Integer(allow_none=True)
    final_submitted_at = ma.fields.DateTime(allow_none=True)
    status = ma.fields.String()
    abnormal = ma.fields.Boolean(metadata={"description": "flagged as abnormally low"})
    awaiting_decision = ma.fields.Boolean(metadata={"description": "the enterprise must confirm or reject it"})
    abnormal_decision = ma.fields.String(allow_none=True)
    decision_reason = ma.fields.String(allow_none=True)
    rejection_reason = ma.fields.String(allow_none=True)


class MyBidsSchema(ma.Schema):
    request_id = ma.fields.Integer()
    status = ma.fields.String()
    sealed = ma.fields.Boolean(metadata={"description": "true: bids are sealed; nobody, the enterprise included, "
                                                        "sees how many there are or what they contain"})
    bidding_deadline = ma.fields.DateTime()
    closed_at = ma.fields.DateTime(allow_none=True)
    valid_bids = ma.fields.Integer(allow_none=True)
    minimum_valid_bids = ma.fields.Integer(allow_none=True)
    bids = ma.fields.List(ma.fields.Nested(MyBidSchema))
    result_url = ma.fields.String(allow_none=True, metadata={"description": "the result page, once visible"})


class DeliveryReviewSchema(ma.Schema):
    contract_id = ma.fields.Integer()
    status = ma.fields.Function(lambda d: d.status.value)
    original_due_date = ma.fields.Date()
    due_date = ma.fields.Date()
    clock_paused = ma.fields.Function(lambda d: d.paused_since is not None)
    latest_version = ma.fields.Function(lambda d: d.latest.version if d.latest else None, allow_none=True)
    revision_reason = ma.fields.Function(lambda d: (d.latest.revision_reason or None) if d.latest else None,
                                         allow_none=True)
    accepted_version = ma.fields.Integer(allow_none=True)
    accepted_at = ma.fields.DateTime(allow_none=True)
    overrun_days = ma.fields.Integer(allow_none=True)
    extensions = ma.fields.List(ma.fields.Nested(PartyDeliveryExtensionSchema))
    web_url = ma.fields.Function(lambda d: url_for("delivery.detail", contract_id=d.contract_id, _external=True))


class ExtensionDecisionResultSchema(ma.Schema):
    extension = ma.fields.Nested(PartyDeliveryExtensionSchema)
    delivery = ma.fields.Nested(DeliveryReviewSchema)


# --- purchase requests -------------------------------------------------------------------------


@enterprise_bp.route("/my/requests")
class MyRequests(MethodView):
    @enterprise_bp.doc(security=SECURITY)
    @enterprise_bp.arguments(MyRequestArgs, location="query")
    @enterprise_bp.response(200, page_schema(MyRequestSchema, "MyRequestPage"))
    @_errors(400, 401, 403)
    @token_required("requests:read")
    def get(self, args):
        """The organisation's own purchase requests, drafts included, newest id first."""
        stmt = sa.select(PurchaseRequest).where(PurchaseRequest.enterprise_id == g.api_org.id)
        if args["status"]:
            stmt = stmt.where(PurchaseRequest.status == RequestStatus(args["status"]))
        items, cursor = page(stmt, PurchaseRequest.id, args, descending=True)
        return {"items": items, "next_cursor": cursor}


@enterprise_bp.route(f"/my/requests/<{ID}:request_id>")
class MyRequest(MethodView):
    @enterprise_bp.doc(security=SECURITY)
    @enterprise_bp.response(200, MyRequestSchema)
    @_errors(401, 403, 404)
    @token_required("requests:read")
    def get(self, request_id):
        """One of the organisation's own requests."""
        return _own_request(token_actor(), request_id)


def _bid_rows(req: PurchaseRequest) -> list[dict]:
    """What the result page lists: the ranking with its prices, then the bids found invalid (no price)."""
    outcome = req.outcome or {}
    ranking = outcome.get("ranking", [])
    bids = procurement.revealed_bids(req)
    pending = ({b.id for b in procurement.pending_decisions(req)}
               if req.status is RequestStatus.BIDDING_CLOSED else set())
    ranked = {e["bid_id"] for e in ranking}
    rows = []
    for entry in ranking:
        bid = bids.get(entry["bid_id"])
        rows.append({
            "id": entry["bid_id"], "agency": {"id": entry["agency_id"], "name": entry["agency_name"]},
            "rank": entry["rank"], "price_fen": entry["price_fen"], "days": entry["days"],
            "final_submitted_at": datetime.fromisoformat(entry["final_submitted_at"]),
            "status": bid.status.value if bid else None, "abnormal": bool(entry.get("abnormal")),
            "awaiting_decision": entry["bid_id"] in pending,
            "abnormal_decision": bid.abnormal_decision.value if bid and bid.abnormal_decision else None,
            "decision_reason": (bid.decision_reason or None) if bid else None,
            "rejection_reason": (bid.rejection_reason or None) if bid and bid.status is BidStatus.REJECTED else None,
        })
    for bid in bids.values():
        if bid.status is BidStatus.REJECTED and bid.id not in ranked:
            rows.append({"id": bid.id, "agency": bid.agency, "rank": None, "price_fen": None, "days": None,
                         "final_submitted_at": None, "status": bid.status.value, "abnormal": False,
                         "awaiting_decision": False, "abnormal_decision": None, "decision_reason": None,
                         "rejection_reason": bid.rejection_reason or None})
    return rows


@enterprise_bp.route(f"/my/requests/<{ID}:request_id>/bids")
class MyRequestBids(MethodView):
    @enterprise_bp.doc(security=SECURITY)
    @enterprise_bp.response(200, MyBidsSchema)
    @_errors(401, 403, 404)
    @token_required("requests:read")
    def get(self, request_id):
        """The bids as the request's own pages show them: sealed (no count, no content) until bidding closes;
        then the ranking with prices, abnormally low prices awaiting a decision, and the bids found invalid."""
        actor = token_actor()
        req = _own_request(actor, request_id)
        visible = procurement.result_visible_to(req, actor)
        outcome = (req.outcome or {}) if visible else {}
        return {
            "request_id": req.id, "status": req.status.value, "sealed": not visible,
            "bidding_deadline": req.bidding_deadline, "closed_at": req.closed_at if visible else None,
            "valid_bids": outcome.get("valid_bids"), "minimum_valid_bids": outcome.get("minimum"),
            "bids": _bid_rows(req) if visible else [],
            "result_url": url_for("procurement.result", request_id=req.id, _external=True) if visible else None,
        }


@enterprise_bp.route("/requests")
class Requests(MethodView):
    @enterprise_bp.doc(security=SECURITY)
    @enterprise_bp.arguments(RequestCreateSchema)
    @enterprise_bp.response(201, MyRequestSchema)
    @_errors(400, 401, 403, 409)
    @token_required("requests:write")
    def post(self, data):
        """Draft a purchase request for one service item of one of the enterprise's open approval cases.

        For direct selection, name the agency (``direct_agency_id``) and the public reason
        (``direct_reason``): that is how the enterprise picks the agency on the site.
        """
        actor = token_actor()
        case_id, item_id = data.pop("approval_case_id"), data.pop("service_item_id")
        try:
            case = procurement.get_case_for(actor, case_id)
        except NotFound as exc:
            raise DomainError(_l("No approval case of your organisation has this id."),
                              field="approval_case_id") from exc
        item = db.session.get(ServiceItem, item_id)
        if item is None or item not in case.service_items:
            raise DomainError(_l("This service is not among the services the approval case needs."),
                              field="service_item_id")
        with _service():
            req = procurement.create_request(case, item, _request_input(data, None), actor=actor)
        db.session.commit()
        return req


@enterprise_bp.route(f"/requests/<{ID}:request_id>")
class RequestView(MethodView):
    @enterprise_bp.doc(security=SECURITY)
    @enterprise_bp.arguments(RequestFieldsSchema)
    @enterprise_bp.response(200, MyRequestSchema)
    @_errors(400, 401, 403, 404, 409)
    @token_required("requests:write")
    def patch(self, data, request_id):
        """Change a draft: the fields sent replace the draft's, the others stay."""
        actor = token_actor()
        req = _own_request(actor, request_id)
        with _service():
            procurement.update_request(req, _request_input(data, req), actor=actor)
        db.session.commit()
        return req


@enterprise_bp.route(f"/requests/<{ID}:request_id>/publish")
class PublishRequest(MethodView):
    @enterprise_bp.doc(security=SECURITY)
    @enterprise_bp.arguments(PublishSchema)
    @enterprise_bp.response(200, MyRequestSchema)
    @_errors(400, 401, 403, 404, 409)
    @token_required("requests:write")
    def post(self, data, request_id):
        """Publish a draft: bidding opens until its deadline (optionally moved first, as on the edit form)."""
        actor = token_actor()
        req = _own_request(actor, request_id)
        with _service():
            if "bidding_deadline" in data:
                procurement.update_request(req, _request_input(data, req), actor=actor)
            procurement.publish_request(req, actor=actor)
        db.session.commit()
        return req


@enterprise_bp.route(f"/requests/<{ID}:request_id>/cancel")
class CancelRequest(MethodView):
    @enterprise_bp.doc(security=SECURITY)
    @enterprise_bp.arguments(ReasonSchema)
    @enterprise_bp.response(200, MyRequestSchema)
    @_errors(400, 401, 403, 404, 409)
    @token_required("requests:write")
    def post(self, data, request_id):
        """Cancel the request with a public reason (before a contract exists); a draft cancelled
        unpublished stays private (it never appears in the public lists)."""
        actor = token_actor()
        req = _own_request(actor, request_id)
        with _service():
            procurement.cancel_request(req, data["reason"], actor=actor)
        db.session.commit()
        return req


@enterprise_bp.route(f"/requests/<{ID}:request_id>/bids/<{ID}:bid_id>/decision")
class AbnormalBidDecision(MethodView):
    @enterprise_bp.doc(security=SECURITY)
    @enterprise_bp.arguments(DecisionSchema)
    @enterprise_bp.response(200, MyRequestSchema)
    @_errors(400, 401, 403, 404, 409)
    @token_required("requests:write")
    def post(self, data, request_id, bid_id):
        """Confirm or reject an abnormally low price, with a public reason; the award follows once none is left."""
        actor = token_actor()
        req = _own_request(actor, request_id)
        bid = procurement.get_by_id(Bid, bid_id)
        if bid.request_id != req.id:
            raise NotFound(_l("This page does not exist."))
        with _service():
            procurement.decide_abnormal_bid(req, bid, confirm=data["decision"] == "confirm",
                                            reason=data["reason"], actor=actor)
        db.session.commit()
        return req


@enterprise_bp.route(f"/requests/<{ID}:request_id>/pass-award")
class PassAward(MethodView):
    @enterprise_bp.doc(security=SECURITY)
    @enterprise_bp.arguments(ReasonSchema)
    @enterprise_bp.response(200, MyRequestSchema)
    @_errors(400, 401, 403, 404, 409)
    @token_required("requests:write")
    def post(self, data, request_id):
        """The winner refuses to sign or is ineligible: the award passes to the next in the ranking (reason public)."""
        actor = token_actor()
        req = _own_request(actor, request_id)
        with _service():
            procurement.pass_award_to_next(req, data["reason"], actor)
        db.session.commit()
        return req


# --- delivery review -----------------------------------------------------------------------------


def _delivery_for(actor, contract_id):
    """The contract's delivery, for a party that may see it.

    Raises:
        NotFound: no such contract in force (or after), or not visible to the token's organisation.
        InvalidTransition: the work has not started, so there is nothing to decide on.
    """
    contract = delivery.get_contract_for(actor, contract_id)
    found = delivery.delivery_of(contract)
    if found is None:
        raise InvalidTransition(_l("There is no submitted result to decide on."))
    return found


@enterprise_bp.route(f"/contracts/<{ID}:contract_id>/delivery/accept")
class AcceptDelivery(MethodView):
    @enterprise_bp.doc(security=SECURITY)
    @enterprise_bp.arguments(AcceptSchema)
    @enterprise_bp.response(200, DeliveryReviewSchema)
    @_errors(400, 401, 403, 404, 409)
    @token_required("delivery:review")
    def post(self, data, contract_id):
        """Accept the submitted version (验收): the contract completes and the result is attached to the case."""
        actor = token_actor()
        found = _delivery_for(actor, contract_id)
        with _service():
            delivery.accept_delivery(found, version=data["version"], actor=actor)
        db.session.commit()
        return found


@enterprise_bp.route(f"/contracts/<{ID}:contract_id>/delivery/revision")
class RequestRevision(MethodView):
    @enterprise_bp.doc(security=SECURITY)
    @enterprise_bp.arguments(RevisionSchema)
    @enterprise_bp.response(200, DeliveryReviewSchema)
    @_errors(400, 401, 403, 404, 409)
    @token_required("delivery:review")
    def post(self, data, contract_id):
        """Send the submitted version back with what needs to be revised."""
        actor = token_actor()
        found = _delivery_for(actor, contract_id)
        with _service():
            delivery.request_revision(found, reason=data["reason"], version=data["version"], actor=actor)
        db.session.commit()
        return found


@enterprise_bp.route(f"/contracts/<{ID}:contract_id>/delivery/extensions/<{ID}:ext_id>/decision")
class ExtensionDecision(MethodView):
    @enterprise_bp.doc(security=SECURITY)
    @enterprise_bp.arguments(ExtensionDecisionSchema)
    @enterprise_bp.response(200, ExtensionDecisionResultSchema)
    @_errors(400, 401, 403, 404, 409)
    @token_required("delivery:review")
    def post(self, data, contract_id, ext_id):
        """Agree to the agency's proposed due date (it moves) or decline it (it stays)."""
        actor = token_actor()
        contract = delivery.get_contract_for(actor, contract_id)
        found = delivery.delivery_of(contract)
        if found is None:
            raise NotFound(_l("This page does not exist."))
        ext = delivery.get_extension(found, ext_id)
        with _service():
            delivery.decide_extension(ext, agree=data["agree"], note=data["note"], actor=actor)
        db.session.commit()
        return {"extension": ext, "delivery": found}


BLUEPRINTS = [(enterprise_bp, "/")]
