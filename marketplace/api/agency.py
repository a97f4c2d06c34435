"""Endpoints for an agency's own systems: its listings (the three commitments) and its bids.

A token of an agency acts as the agency's own staff would (``TokenActor``). Every rule is the
domain services' own (``create_listing``, ``update_commitment``, ``publish_listing``,
``withdraw_listing``, ``submit_bid``, ``revise_bid``, ``withdraw_bid``); this module only turns
JSON into their arguments. A sealed bid's price is shown here to the bidding agency alone: every
bid endpoint answers 404 to any other organisation.

The agency delivers its result and proposes later due dates through ``contracts_api`` (the
version records the token that delivered it).
"""

from __future__ import annotations

import marshmallow as ma
from flask import g, url_for
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from marketplace.agencies import eligibility
from marketplace.agencies import services as agencies
from marketplace.agencies.models import (
    CHANGE_NOTE_MAX,
    FEE_BASIS_MAX,
    MAX_DISCOUNT_BP,
    MAX_TIME_LIMIT_DAYS,
    STANDARD_MAX,
    FeeKind,
    Listing,
)
from marketplace.api.auth import token_required
from marketplace.api.common import ID, SECURITY, error_docs, multiline, plain, token_actor
from marketplace.api.public import CodedRefSchema, ListingSchema, RefSchema
from marketplace.api.schemas import StrictSchema
from marketplace.catalog import services as catalog
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, InvalidTransition, NotFound
from marketplace.core.money import MAX_FEN
from marketplace.core.text import MAX_DB_INT
from marketplace.extensions import db
from marketplace.procurement import services as procurement
from marketplace.procurement.models import MAX_BID_DAYS, Bid, BidStatus

agency_bp = Blueprint("api_agency", __name__,
                      description="An agency's own listings and bids (tokens of intermediary agencies)")


def _errors(*codes):
    return error_docs(agency_bp, *codes)


# Names the services give their fields (after the site's form) → the names of this API's fields.
_FIELDS = {"fee_amount": "fee_fen", "fee_min": "fee_min_fen", "fee_max": "fee_max_fen",
           "discount_percent": "discount_bp", "price": "price_fen"}


def _renamed(exc: DomainError) -> DomainError:
    exc.field = _FIELDS.get(exc.field, exc.field)
    return exc


def _conflict(exc: DomainError, wrong_state: bool) -> DomainError:
    """A refusal because the record's status moved on is a conflict (409), not bad input."""
    if wrong_state and type(exc) is DomainError:
        return InvalidTransition(exc.message, field=exc.field)
    return exc


# --- listings ----------------------------------------------------------------------------------


class AgencyListingSchema(ListingSchema):
    status = ma.fields.Function(lambda row: row.status.value, metadata={"description": "draft, published, withdrawn"})
    visible = ma.fields.Boolean(metadata={"description": "shown on the market today (published, qualified, "
                                                         "compliant, not sanctioned)"})
    problems = ma.fields.List(ma.fields.String(), metadata={"description": "why it cannot be published or "
                                                                            "shown today"})
    change_note = ma.fields.String(attribute="current.change_note")
    web_url = ma.fields.String(metadata={"description": "the listing's page for the agency on the site"})


class _OwnRow:
    """A listing as its agency sees it: the listing's own fields, and whether it shows today."""

    def __init__(self, listing: Listing, visible: bool):
        self.listing = listing
        self.visible = visible
        self.problems = agencies.publishing_problems(listing)
        self.web_url = url_for("agencies.my_listing", listing_id=listing.id, _external=True)

    def __getattr__(self, name):
        return getattr(self.listing, name)


def _own(listing: Listing, visible: bool | None = None) -> _OwnRow:
    listing = agencies.get_listing(listing.id)
    return _OwnRow(listing, eligibility.is_listing_visible(listing) if visible is None else visible)


class AgencyCommitmentFields(StrictSchema):
    fee_fen = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=0, max=MAX_FEN),
                                metadata={"description": "fee_kind fixed: the fee in fen (分)"})
    fee_min_fen = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=0, max=MAX_FEN),
                                    metadata={"description": "fee_kind range: the lowest fee in fen"})
    fee_max_fen = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=0, max=MAX_FEN),
                                    metadata={"description": "fee_kind range: the highest fee in fen"})
    discount_bp = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=0, max=MAX_DISCOUNT_BP),
                                    metadata={"description": "fee_kind discount: basis points below the "
                                                             "government standard (1550 = 15.5 %)"})
    fee_basis = ma.fields.String(validate=[ma.validate.Length(min=1, max=FEE_BASIS_MAX), multiline])
    time_limit_days = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1, max=MAX_TIME_LIMIT_DAYS),
                                        metadata={"description": "committed time limit in working days"})
    service_standard = ma.fields.String(validate=[ma.validate.Length(min=1, max=STANDARD_MAX), multiline])
    change_note = ma.fields.String(validate=[ma.validate.Length(max=CHANGE_NOTE_MAX), plain])


class AgencyListingCreateSchema(AgencyCommitmentFields):
    service_item_id = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=1, max=MAX_DB_INT))
    fee_kind = ma.fields.String(required=True, validate=ma.validate.OneOf([k.value for k in FeeKind]))
    fee_basis = ma.fields.String(required=True, validate=[ma.validate.Length(min=1, max=FEE_BASIS_MAX), multiline])
    time_limit_days = ma.fields.Integer(required=True, strict=True,
                                        validate=ma.validate.Range(min=1, max=MAX_TIME_LIMIT_DAYS))
    service_standard = ma.fields.String(required=True,
                                        validate=[ma.validate.Length(min=1, max=STANDARD_MAX), multiline])


class AgencyListingUpdateSchema(AgencyCommitmentFields):
    expected_version = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=1, max=MAX_DB_INT),
                                         metadata={"description": "the listing version the change is based on"})
    fee_kind = ma.fields.String(validate=ma.validate.OneOf([k.value for k in FeeKind]))


class AgencyListingWithdrawSchema(StrictSchema):
    reason = ma.fields.String(load_default="", validate=[ma.validate.Length(max=CHANGE_NOTE_MAX), plain])


class AgencyListingsSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AgencyListingSchema))


_AMOUNTS = {FeeKind.FIXED: ("fee_fen",), FeeKind.RANGE: ("fee_min_fen", "fee_max_fen"),
            FeeKind.DISCOUNT: ("discount_bp",)}


def _commitment(data: dict, base=None) -> agencies.Commitment:
    """The commitments to save: ``data`` over the current version ``base`` (a PATCH), or alone."""
    kind = FeeKind(data["fee_kind"]) if "fee_kind" in data else base.fee_kind
    for fields in _AMOUNTS.values():
        for name in fields:
            if name in data and name not in _AMOUNTS[kind]:
                raise DomainError(_l("This amount does not apply to the fee kind “%(kind)s”.", kind=kind.label),
                                  field=name)
    same = base is not None and base.fee_kind is kind
    current = {
        "fee_fen": base.fee_min_fen if same else None, "fee_min_fen": base.fee_min_fen if same else None,
        "fee_max_fen": base.fee_max_fen if same else None, "discount_bp": base.discount_bp if same else None,
    }
    amount = {name: data.get(name, current[name]) for name in current}

    def keep(name):
        return data[name] if name in data else getattr(base, name, "")

    return agencies.Commitment(
        fee_kind=kind,
        fee_min_fen=amount["fee_fen"] if kind is FeeKind.FIXED else amount["fee_min_fen"],
        fee_max_fen=amount["fee_fen"] if kind is FeeKind.FIXED else amount["fee_max_fen"],
        discount_bp=amount["discount_bp"],
        fee_basis=keep("fee_basis"), time_limit_days=keep("time_limit_days"),
        service_standard=keep("service_standard"), change_note=data.get("change_note", ""),
    )


def _own_listing(listing_id: int) -> Listing:
    found = agencies.get_listing(listing_id)
    if found.organisation_id != g.api_org.id:
        raise NotFound(_l("This listing does not exist."))
    return found


@agency_bp.route("/my/listings")
class MyListings(MethodView):
    @agency_bp.doc(security=SECURITY)
    @agency_bp.response(200, AgencyListingsSchema)
    @_errors(401, 403)
    @token_required("listings:write")
    def get(self):
        """The agency's listings with their status, whether each is shown today and why not."""
        rows = agencies.own_listings(g.api_org.id)
        return {"items": [_own(r.listing, r.visible) for r in rows]}


@agency_bp.route("/listings")
class ListingCreate(MethodView):
    @agency_bp.doc(security=SECURITY)
    @agency_bp.arguments(AgencyListingCreateSchema)
    @agency_bp.response(201, AgencyListingSchema)
    @_errors(400, 401, 403)
    @token_required("listings:write")
    def post(self, data):
        """Offer a service item with the three commitments (fee, time limit, service standard): a draft.

        Publish it with ``POST /listings/{id}/publish``. The amounts depend on ``fee_kind``: ``fee_fen``
        (fixed), ``fee_min_fen`` and ``fee_max_fen`` (range), ``discount_bp`` (discount on the government
        standard).
        """
        try:
            item = catalog.get_service_item(data["service_item_id"])
        except NotFound as exc:
            raise DomainError(exc.message, field="service_item_id") from exc
        try:
            listing = agencies.create_listing(g.api_org, item, _commitment(data), actor=token_actor())
        except DomainError as exc:
            raise _renamed(exc) from None
        db.session.commit()
        return _own(listing)


@agency_bp.route(f"/listings/<{ID}:listing_id>")
class ListingUpdate(MethodView):
    @agency_bp.doc(security=SECURITY)
    @agency_bp.arguments(AgencyListingUpdateSchema)
    @agency_bp.response(200, AgencyListingSchema)
    @_errors(400, 401, 403, 404, 409)
    @token_required("listings:write")
    def patch(self, data, listing_id):
        """Change the commitments: a new version in force from now (the old ones stay on record).

        Fields left out keep their current value; ``expected_version`` is the version the change is
        based on (409 when someone saved another since).
        """
        listing = _own_listing(listing_id)
        expected = data.pop("expected_version")
        try:
            agencies.update_commitment(listing, _commitment(data, listing.current), actor=token_actor(),
                                       expected_version=expected)
        except DomainError as exc:
            raise _renamed(exc) from None
        db.session.commit()
        return _own(listing)


@agency_bp.route(f"/listings/<{ID}:listing_id>/publish")
class ListingPublish(MethodView):
    @agency_bp.doc(security=SECURITY)
    @agency_bp.response(200, AgencyListingSchema)
    @_errors(400, 401, 403, 404, 409)
    @token_required("listings:write")
    def post(self, listing_id):
        """Publish a draft or withdrawn listing (needs the independence declaration and valid qualifications)."""
        listing = _own_listing(listing_id)
        agencies.publish_listing(listing, actor=token_actor())
        db.session.commit()
        return _own(listing)


@agency_bp.route(f"/listings/<{ID}:listing_id>/withdraw")
class ListingWithdraw(MethodView):
    @agency_bp.doc(security=SECURITY)
    @agency_bp.arguments(AgencyListingWithdrawSchema)
    @agency_bp.response(200, AgencyListingSchema)
    @_errors(400, 401, 403, 404, 409)
    @token_required("listings:write")
    def post(self, data, listing_id):
        """Take a listing off the market (it can be published again later)."""
        listing = _own_listing(listing_id)
        agencies.withdraw_listing(listing, actor=token_actor(), reason=data["reason"] or None)
        db.session.commit()
        return _own(listing)


# --- bids --------------------------------------------------------------------------------------


class AgencyBidRequestSchema(ma.Schema):
    id = ma.fields.Integer()
    reference = ma.fields.String()
    title = ma.fields.String()
    status = ma.fields.Function(lambda r: r.status.value)
    service_item = ma.fields.Nested(CodedRefSchema)
    enterprise = ma.fields.Nested(RefSchema)
    bidding_deadline = ma.fields.DateTime()
    result_public = ma.fields.Function(procurement.result_is_public)


class AgencyBidSchema(ma.Schema):
    id = ma.fields.Integer()
    request = ma.fields.Nested(AgencyBidRequestSchema)
    status = ma.fields.Function(lambda b: b.status.value,
                                metadata={"description": "submitted, withdrawn, won, lost, rejected"})
    price_fen = ma.fields.Integer(metadata={"description": "shown to the bidding agency only"})
    days = ma.fields.Integer(metadata={"description": "offered working days"})
    version = ma.fields.Integer(metadata={"description": "bumped by each revision; send it as expected_version"})
    commitment = ma.fields.String(metadata={"description": "SHA-256 sealing the terms (the audit trail's record)"})
    submitted_at = ma.fields.DateTime()
    final_submitted_at = ma.fields.DateTime()
    rejection_reason = ma.fields.String()
    web_url = ma.fields.Function(
        lambda b: url_for("procurement.announcement", request_id=b.request_id, _external=True),
        metadata={"description": "the announcement on the site"})


class AgencyBidsSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AgencyBidSchema))


class AgencyBidSubmitSchema(StrictSchema):
    price_fen = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=1, max=MAX_FEN))
    days = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=1, max=MAX_BID_DAYS))


class AgencyBidReviseSchema(AgencyBidSubmitSchema):
    expected_version = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=1, max=MAX_DB_INT),
                                         metadata={"description": "the bid version the change is based on"})


class AgencyBidWithdrawSchema(StrictSchema):
    pass


def _own_bid(bid_id: int) -> Bid:
    try:
        found = procurement.get_by_id(Bid, bid_id)
    except NotFound:
        found = None
    if found is None or found.agency_id != g.api_org.id:
        raise NotFound(_l("This bid does not exist."))
    return found


@agency_bp.route("/my/bids")
class MyBids(MethodView):
    @agency_bp.doc(security=SECURITY)
    @agency_bp.response(200, AgencyBidsSchema)
    @_errors(401, 403)
    @token_required("bids:write")
    def get(self):
        """The agency's own bids with their prices, newest first (the latest 200, as on the site)."""
        return {"items": procurement.agency_bids(g.api_org.id)}


@agency_bp.route(f"/requests/<{ID}:request_id>/bids")
class BidCreate(MethodView):
    @agency_bp.doc(security=SECURITY)
    @agency_bp.arguments(AgencyBidSubmitSchema)
    @agency_bp.response(201, AgencyBidSchema)
    @_errors(400, 401, 403, 404, 409)
    @token_required("bids:write")
    def post(self, data, request_id):
        """Submit a sealed bid on a published request; nobody else sees its price before the result is public.

        409 when bidding is not open (closed, cancelled, deadline passed) or the agency already has a bid.
        """
        actor = token_actor()
        req = procurement.get_request_for(actor, request_id)
        now = utcnow()
        try:
            bid = procurement.submit_bid(req, org=g.api_org, price_fen=data["price_fen"], days=data["days"],
                                         actor=actor, now=now)
        except DomainError as exc:
            wrong_state = (not req.is_open_for_bids(now)
                           or procurement.live_bid(req.id, g.api_org.id) is not None)
            raise _conflict(_renamed(exc), wrong_state) from None
        db.session.commit()
        return bid


@agency_bp.route(f"/bids/<{ID}:bid_id>")
class BidView(MethodView):
    @agency_bp.doc(security=SECURITY)
    @agency_bp.response(200, AgencyBidSchema)
    @_errors(401, 403, 404)
    @token_required("bids:write")
    def get(self, bid_id):
        """One of the agency's own bids (404 for any other organisation's)."""
        return _own_bid(bid_id)

    @agency_bp.doc(security=SECURITY)
    @agency_bp.arguments(AgencyBidReviseSchema)
    @agency_bp.response(200, AgencyBidSchema)
    @_errors(400, 401, 403, 404, 409)
    @token_required("bids:write")
    def patch(self, data, bid_id):
        """Revise the price and days before the deadline (409 when bidding has closed or the bid changed)."""
        bid = _own_bid(bid_id)
        req = bid.request
        now = utcnow()
        try:
            procurement.revise_bid(bid, price_fen=data["price_fen"], days=data["days"],
                                   expected_version=data["expected_version"], actor=token_actor(), now=now)
        except DomainError as exc:
            wrong_state = not req.is_open_for_bids(now) or bid.status is not BidStatus.SUBMITTED
            raise _conflict(_renamed(exc), wrong_state) from None
        db.session.commit()
        return _own_bid(bid_id)


@agency_bp.route(f"/bids/<{ID}:bid_id>/withdraw")
class BidWithdraw(MethodView):
    @agency_bp.doc(security=SECURITY)
    @agency_bp.arguments(AgencyBidWithdrawSchema)
    @agency_bp.response(200, AgencyBidSchema)
    @_errors(400, 401, 403, 404, 409)
    @token_required("bids:write")
    def post(self, _data, bid_id):
        """Withdraw a bid before the deadline (the agency may bid again while bidding is open)."""
        bid = _own_bid(bid_id)
        req = bid.request
        now = utcnow()
        try:
            procurement.withdraw_bid(bid, actor=token_actor(), now=now)
        except DomainError as exc:
            raise _conflict(exc, not req.is_open_for_bids(now)) from None
        db.session.commit()
        return bid


BLUEPRINTS = [(agency_bp, "/")]
