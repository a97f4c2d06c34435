"""Public read endpoints: what the public pages show, through the same services, as JSON.

No token is needed; the registry rate limits them like every other endpoint. Each list is the
query its public page runs (``*_query`` in the domain's services), re-ordered by id so that the
cursor is stable; nothing here decides on its own what the public may see.
"""

from __future__ import annotations

import marshmallow as ma
from flask import url_for
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from marketplace.accounts.models import Organisation
from marketplace.agencies import services as agencies
from marketplace.agencies.models import Listing
from marketplace.api.common import ID
from marketplace.api.pagination import CursorArgs, page
from marketplace.api.schemas import ErrorSchema, page_schema
from marketplace.catalog import services as catalog
from marketplace.catalog.models import ServiceItem
from marketplace.contracts import services as contracts
from marketplace.contracts.models import Contract
from marketplace.core.errors import NotFound
from marketplace.core.regions import is_valid_region
from marketplace.core.text import MAX_DB_INT
from marketplace.credit import services as credit
from marketplace.credit.formula import current_formula
from marketplace.procurement import services as procurement
from marketplace.procurement.models import PurchaseRequest, RequestStatus, SelectionMethod
from marketplace.sanctions import services as sanctions
from marketplace.sanctions.grounds import ground_title
from marketplace.sanctions.models import SanctionCase

catalog_bp = Blueprint("api_catalog", __name__, description="The catalogue of intermediary services")
agencies_bp = Blueprint("api_agencies", __name__, description="The agency directory")
listings_bp = Blueprint("api_listings", __name__, description="Published listings and their three commitments")
announcements_bp = Blueprint("api_announcements", __name__,
                             description="Purchase announcements and their selection results")
contracts_bp = Blueprint("api_contract_notices", __name__, description="Contract notices (合同公告)")
credit_bp = Blueprint("api_credit", __name__, description="Agencies' credit and the published formula")
sanctions_bp = Blueprint("api_blacklist", __name__, description="The public blacklist and sanctions list")


def _not_found_doc(bp):
    return bp.alt_response(404, schema=ErrorSchema, description="No such public record")


def _bad_cursor_doc(bp):
    return bp.alt_response(400, schema=ErrorSchema, description="Malformed cursor")


def _id_field(**kwargs):
    return ma.fields.Integer(validate=ma.validate.Range(min=1, max=MAX_DB_INT), load_default=None, **kwargs)


def _query_field():
    return ma.fields.String(load_default="", validate=ma.validate.Length(max=100),
                           metadata={"description": "name or code contains (control characters are dropped)"})


def _region_field():
    def valid(value):
        if not is_valid_region(value):
            raise ma.ValidationError(str(_l("Not a region code (six digits starting with a province).")))

    return ma.fields.String(load_default=None, validate=valid, metadata={"example": "530102"})


# --- shared shapes ---------------------------------------------------------------------------


class RefSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()


class CodedRefSchema(RefSchema):
    code = ma.fields.String()


# --- catalogue -------------------------------------------------------------------------------


class ServiceItemSchema(ma.Schema):
    id = ma.fields.Integer()
    code = ma.fields.String()
    name = ma.fields.String()
    category = ma.fields.Nested(CodedRefSchema)
    approval_items = ma.fields.List(ma.fields.Nested(CodedRefSchema))
    qualification_rule = ma.fields.Function(lambda i: i.qualification_rule.value)
    qualification_types = ma.fields.List(ma.fields.Nested(RefSchema))
    statutory_days = ma.fields.Integer(allow_none=True, metadata={"description": "working days"})
    fee_basis = ma.fields.Function(lambda i: i.fee_basis.value)
    fee_document = ma.fields.String()
    deliverable = ma.fields.String()
    description = ma.fields.String()


class ServiceItemArgs(CursorArgs):
    category = _id_field()
    approval_item = _id_field()
    q = _query_field()


@catalog_bp.route("")
class ServiceItems(MethodView):
    @catalog_bp.arguments(ServiceItemArgs, location="query")
    @catalog_bp.response(200, page_schema(ServiceItemSchema, "ServiceItemPage"))
    @_bad_cursor_doc(catalog_bp)
    def get(self, args):
        """The active service items of the catalogue, by id, filtered like the catalogue page."""
        stmt = catalog.service_items_query(category_id=args["category"], approval_item_id=args["approval_item"],
                                           q=args["q"])
        items, cursor = page(stmt.order_by(None), ServiceItem.id, args)
        return {"items": items, "next_cursor": cursor}


@catalog_bp.route(f"/<{ID}:item_id>")
class ServiceItemView(MethodView):
    @catalog_bp.response(200, ServiceItemSchema)
    @_not_found_doc(catalog_bp)
    def get(self, item_id):
        """One active service item."""
        return catalog.get_service_item(item_id)


# --- listings (the three commitments) ---------------------------------------------------------


class ListingSchema(ma.Schema):
    id = ma.fields.Integer()
    agency = ma.fields.Nested(RefSchema, attribute="organisation")
    service_item = ma.fields.Nested(CodedRefSchema)
    version = ma.fields.Integer(attribute="current.version")
    fee_kind = ma.fields.Function(lambda listing: listing.current.fee_kind.value,
                                  metadata={"description": "fixed, range, or discount on the government standard"})
    fee_min_fen = ma.fields.Integer(attribute="current.fee_min_fen", allow_none=True)
    fee_max_fen = ma.fields.Integer(attribute="current.fee_max_fen", allow_none=True)
    discount_bp = ma.fields.Integer(attribute="current.discount_bp", allow_none=True,
                                    metadata={"description": "discount in basis points (fee_kind discount)"})
    fee_basis = ma.fields.String(attribute="current.fee_basis")
    time_limit_days = ma.fields.Integer(attribute="current.time_limit_days",
                                        metadata={"description": "committed time limit in working days"})
    service_standard = ma.fields.String(attribute="current.service_standard")
    valid_from = ma.fields.DateTime(attribute="current.valid_from")


class ListingArgs(CursorArgs):
    service_item = _id_field(metadata={"description": "only listings of this service item"})


@listings_bp.route("")
class Listings(MethodView):
    @listings_bp.arguments(ListingArgs, location="query")
    @listings_bp.response(200, page_schema(ListingSchema, "ListingPage"))
    @_bad_cursor_doc(listings_bp)
    def get(self, args):
        """Listings shown publicly today (qualified, compliant, not sanctioned), by id."""
        stmt = agencies.public_listings_query(service_item_id=args["service_item"])
        items, cursor = page(stmt, Listing.id, args)
        return {"items": items, "next_cursor": cursor}


class ListingVersionSchema(ma.Schema):
    version = ma.fields.Integer()
    valid_from = ma.fields.DateTime()
    fee_kind = ma.fields.Function(lambda v: v.fee_kind.value)
    fee_min_fen = ma.fields.Integer(allow_none=True)
    fee_max_fen = ma.fields.Integer(allow_none=True)
    discount_bp = ma.fields.Integer(allow_none=True)
    time_limit_days = ma.fields.Integer()
    change_note = ma.fields.String()


class ListingDetailSchema(ListingSchema):
    statutory_days = ma.fields.Integer(attribute="service_item.statutory_days", allow_none=True)
    fee_document = ma.fields.String(attribute="service_item.fee_document")
    history = ma.fields.List(ma.fields.Nested(ListingVersionSchema),
                             metadata={"description": "every version of the commitments, newest first"})
    web_url = ma.fields.String(metadata={"description": "the listing's public page"})


class _ListingPage:
    """A listing with what its page adds (the history, the address), for the schema."""

    def __init__(self, listing: Listing, history, web_url: str):
        self._listing, self.history, self.web_url = listing, history, web_url

    def __getattr__(self, name):
        return getattr(self._listing, name)


@listings_bp.route(f"/<{ID}:listing_id>")
class ListingView(MethodView):
    @listings_bp.response(200, ListingDetailSchema)
    @_not_found_doc(listings_bp)
    def get(self, listing_id):
        """One listing shown publicly today, as its page shows it: the commitments in force and their history."""
        listing = agencies.get_listing(listing_id)
        if not agencies.can_view_listing(None, listing):
            raise NotFound(_l("This listing does not exist."))
        return _ListingPage(listing, agencies.listing_history(listing.id),
                            url_for("agencies.listing", listing_id=listing.id, _external=True))


# --- agencies --------------------------------------------------------------------------------


class CreditSummarySchema(ma.Schema):
    score = ma.fields.Float(metadata={"description": "0–100"})
    grade = ma.fields.String(metadata={"example": "A"})
    rating_count = ma.fields.Integer()


class QualificationSchema(ma.Schema):
    name = ma.fields.String()
    level = ma.fields.String()


class AgencyCardSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    uscc = ma.fields.String()
    region_code = ma.fields.String()
    serves_nationwide = ma.fields.Boolean()
    service_regions = ma.fields.List(ma.fields.String())
    valid_qualifications = ma.fields.List(ma.fields.Nested(QualificationSchema))
    offers = ma.fields.List(ma.fields.Nested(RefSchema), metadata={"description": "service items offered today"})
    credit = ma.fields.Nested(CreditSummarySchema, allow_none=True)


class SanctionRefSchema(ma.Schema):
    id = ma.fields.Integer()
    reference = ma.fields.String()
    kind = ma.fields.Function(lambda c: c.kind.value)
    start_date = ma.fields.Date(allow_none=True)
    end_date = ma.fields.Date(allow_none=True)


class DeclarationSchema(ma.Schema):
    signer_name = ma.fields.String()
    signer_position = ma.fields.String()
    signed_at = ma.fields.DateTime()


class CertificateSchema(ma.Schema):
    name = ma.fields.String(attribute="qualification_type.name")
    certificate_no = ma.fields.String()
    level = ma.fields.String()
    issuer = ma.fields.String()
    valid_from = ma.fields.Date()
    valid_to = ma.fields.Date()


class PractitionerSchema(ma.Schema):
    name = ma.fields.String()
    specialty = ma.fields.String()


class AgencySchema(AgencyCardSchema):
    legal_representative = ma.fields.String()
    contact_phone = ma.fields.String()
    introduction = ma.fields.String()
    website = ma.fields.String()
    independence_declaration = ma.fields.Nested(DeclarationSchema, allow_none=True)
    qualifications = ma.fields.List(ma.fields.Nested(CertificateSchema))
    practitioners = ma.fields.List(ma.fields.Nested(PractitionerSchema))
    listings = ma.fields.List(ma.fields.Nested(ListingSchema))
    sanctions_listed = ma.fields.List(ma.fields.Nested(SanctionRefSchema))


class AgencyArgs(CursorArgs):
    q = _query_field()
    region = _region_field()
    category = _id_field()
    service_item = _id_field()


def _card(card, summaries) -> dict:
    org = card.organisation
    return {
        "id": org.id, "name": org.name, "uscc": org.uscc, "region_code": org.region_code,
        "serves_nationwide": card.nationwide, "service_regions": card.regions,
        "valid_qualifications": [{"name": n, "level": lvl} for n, lvl in card.qualifications],
        "offers": [{"id": i, "name": n} for i, n in card.offers],
        "credit": summaries.get(org.id),
    }


@agencies_bp.route("")
class Agencies(MethodView):
    @agencies_bp.arguments(AgencyArgs, location="query")
    @agencies_bp.response(200, page_schema(AgencyCardSchema, "AgencyPage"))
    @_bad_cursor_doc(agencies_bp)
    def get(self, args):
        """The agency directory, by id, filtered like the directory page."""
        stmt = agencies.agency_directory_query(q=args["q"], region=args["region"], category_id=args["category"],
                                               service_item_id=args["service_item"])
        orgs, cursor = page(stmt.order_by(None), Organisation.id, args)
        summaries = credit.credit_for(o.id for o in orgs)
        return {"items": [_card(c, summaries) for c in agencies.agency_cards(orgs)], "next_cursor": cursor}


@agencies_bp.route(f"/<{ID}:org_id>")
class AgencyView(MethodView):
    @agencies_bp.response(200, AgencySchema)
    @_not_found_doc(agencies_bp)
    def get(self, org_id):
        """One agency as its public page shows it: profile, certificates, listings, credit."""
        org = agencies.get_agency(org_id)
        on = agencies.eligibility.today()
        profile = agencies.get_profile(org)
        data = _card(agencies.agency_cards([org], on=on)[0], credit.credit_for([org.id]))
        data.update(
            legal_representative=org.legal_representative, contact_phone=org.contact_phone,
            introduction=profile.introduction, website=profile.website,
            independence_declaration=agencies.current_declaration(org.id),
            qualifications=agencies.list_qualifications(org.id),
            practitioners=agencies.list_practitioners(org.id),
            listings=agencies.visible_listings(org.id, on=on),
            sanctions_listed=sanctions.listed_cases_for(org.id),
        )
        return data


# --- credit ----------------------------------------------------------------------------------


class AgencyCreditSchema(ma.Schema):
    agency = ma.fields.Nested(RefSchema)
    score = ma.fields.Float(allow_none=True, metadata={"description": "null: nothing recorded yet"})
    grade = ma.fields.String(allow_none=True)
    rating_count = ma.fields.Integer()
    formula_version = ma.fields.Integer(allow_none=True)
    overrun_days = ma.fields.Integer()
    complaints = ma.fields.Integer()
    refusals = ma.fields.Integer()
    warnings = ma.fields.Integer()
    suspensions = ma.fields.Integer()
    blacklistings = ma.fields.Integer()
    updated_at = ma.fields.DateTime(allow_none=True)


class ThresholdSchema(ma.Schema):
    grade = ma.fields.String()
    lowest_score = ma.fields.Float()


class FormulaSchema(ma.Schema):
    version = ma.fields.Integer()
    effective_from = ma.fields.Date()
    prior_weight = ma.fields.Float(metadata={"description": "m: average ratings a new agency starts with"})
    market_mean = ma.fields.Float(metadata={"description": "C, on the 0–100 scale"})
    office_multiplier = ma.fields.Float(metadata={"description": "k: an approval office's rating counts k times"})
    overrun_per_day = ma.fields.Float()
    overrun_cap = ma.fields.Float()
    complaint_penalty = ma.fields.Float()
    refusal_penalty = ma.fields.Float()
    sanction_penalties = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Float())
    decay_months = ma.fields.Integer()
    thresholds = ma.fields.List(ma.fields.Nested(ThresholdSchema))
    red_list_min_ratings = ma.fields.Integer()
    changes = ma.fields.String(allow_none=True)


class FormulasSchema(ma.Schema):
    current_version = ma.fields.Integer()
    versions = ma.fields.List(ma.fields.Nested(FormulaSchema))


def _formula(f) -> dict:
    return {
        "version": f.version, "effective_from": f.effective_from, "prior_weight": f.prior_weight,
        "market_mean": f.market_mean, "office_multiplier": f.office_multiplier,
        "overrun_per_day": f.overrun_per_day, "overrun_cap": f.overrun_cap,
        "complaint_penalty": f.complaint_penalty, "refusal_penalty": f.refusal_penalty,
        "sanction_penalties": {level.value: value for level, value in f.sanction_penalties.items()},
        "decay_months": f.decay_months,
        "thresholds": [{"grade": g, "lowest_score": low} for g, low in f.thresholds],
        "red_list_min_ratings": f.red_list_min_ratings,
        "changes": str(f.changes) if f.changes is not None else None,
    }


@credit_bp.route("/formula")
class Formula(MethodView):
    @credit_bp.response(200, FormulasSchema)
    def get(self):
        """Every published version of the credit formula, and which one is in force."""
        return {"current_version": current_formula().version,
                "versions": [_formula(f) for f in credit.published_formulas()]}


@credit_bp.route(f"/agencies/<{ID}:org_id>")
class AgencyCredit(MethodView):
    @credit_bp.response(200, AgencyCreditSchema)
    @_not_found_doc(credit_bp)
    def get(self, org_id):
        """An agency's score, grade and the counts behind them (as its "why this score" page)."""
        org = credit.get_agency(org_id)
        row = credit.score_row(org.id)
        counts = ("rating_count", "overrun_days", "complaints", "refusals", "warnings", "suspensions",
                  "blacklistings")
        data = {"agency": org, **{name: getattr(row, name) if row else 0 for name in counts}}
        data.update(score=row.score if row else None, grade=row.grade if row else None,
                    formula_version=row.formula_version if row else None,
                    updated_at=row.updated_at if row else None)
        return data


# --- announcements and results ---------------------------------------------------------------

PUBLIC_REQUEST_STATUSES = [s.value for s in RequestStatus if s is not RequestStatus.DRAFT]


class AnnouncementArgs(CursorArgs):
    region = _region_field()
    item = _id_field(metadata={"description": "service item id"})
    method = ma.fields.String(load_default=None, validate=ma.validate.OneOf([m.value for m in SelectionMethod]))
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(PUBLIC_REQUEST_STATUSES))


class AnnouncementSchema(ma.Schema):
    id = ma.fields.Integer()
    reference = ma.fields.String()
    round = ma.fields.Integer(attribute="round_number")
    title = ma.fields.String()
    status = ma.fields.Function(lambda r: r.status.value)
    enterprise = ma.fields.Nested(RefSchema)
    service_item = ma.fields.Nested(CodedRefSchema)
    region_code = ma.fields.String()
    selection_method = ma.fields.Function(lambda r: r.selection_method.value)
    is_budgeted = ma.fields.Boolean()
    budget_ceiling_fen = ma.fields.Integer(allow_none=True)
    quote_min_fen = ma.fields.Integer(allow_none=True)
    quote_max_fen = ma.fields.Integer(allow_none=True)
    published_at = ma.fields.DateTime(allow_none=True)
    bidding_deadline = ma.fields.DateTime()
    result_public = ma.fields.Function(procurement.result_is_public)


class AnnouncementDetailSchema(AnnouncementSchema):
    content = ma.fields.String()
    scale = ma.fields.String()
    approval_item = ma.fields.Nested(CodedRefSchema, attribute="approval_case.approval_item")
    department = ma.fields.Nested(RefSchema, attribute="approval_case.department")
    project_name = ma.fields.String(attribute="approval_case.project_name")
    project_code = ma.fields.String(attribute="approval_case.project_code", allow_none=True)
    required_qualifications = ma.fields.List(ma.fields.Nested(RefSchema))
    direct_agency = ma.fields.Nested(RefSchema, allow_none=True)
    direct_reason = ma.fields.String()
    weight_price = ma.fields.Integer(allow_none=True)
    weight_time = ma.fields.Integer(allow_none=True)
    weight_credit = ma.fields.Integer(allow_none=True)
    draw_commitment = ma.fields.String(allow_none=True)
    objection_deadline = ma.fields.DateTime(allow_none=True)
    contact_name = ma.fields.String()
    contact_phone = ma.fields.String()
    complaint_phone = ma.fields.String()
    cancel_reason = ma.fields.String()
    failure_reason = ma.fields.String()
    previous_round_id = ma.fields.Integer(allow_none=True)
    exclusions = ma.fields.Function(
        lambda r: [{"agency": {"id": e.agency_id, "name": e.agency.name}, "reason": e.reason} for e in r.exclusions],
        metadata={"description": "agencies excluded for a conflict of interest"},
    )


class WinnerSchema(ma.Schema):
    agency_id = ma.fields.Integer()
    agency_name = ma.fields.String()
    price_fen = ma.fields.Integer()
    days = ma.fields.Integer()
    awarded_at = ma.fields.String()
    objection_deadline = ma.fields.String(allow_none=True)
    final = ma.fields.Boolean()


class DrawSchema(ma.Schema):
    seed = ma.fields.String(allow_none=True)
    commitment = ma.fields.String(allow_none=True)
    bidders = ma.fields.List(ma.fields.Raw())
    list_hash = ma.fields.String(allow_none=True)
    ranking = ma.fields.List(ma.fields.Dict())


class ResultSchema(ma.Schema):
    request_id = ma.fields.Integer()
    reference = ma.fields.String()
    round = ma.fields.Integer()
    status = ma.fields.String()
    method = ma.fields.String()
    published_at = ma.fields.String(allow_none=True)
    bidding_deadline = ma.fields.String()
    closed_at = ma.fields.String(allow_none=True)
    valid_bids = ma.fields.Integer(allow_none=True)
    minimum_valid_bids = ma.fields.Integer(allow_none=True)
    ranking = ma.fields.List(ma.fields.Dict(), metadata={"description": "winner first, with the revealed bids"})
    details = ma.fields.Dict()
    failure_reason = ma.fields.String(allow_none=True)
    winner = ma.fields.Nested(WinnerSchema)
    draw = ma.fields.Nested(DrawSchema, metadata={"description": "random draw: what anyone needs to re-run it"})


@announcements_bp.route("")
class Announcements(MethodView):
    @announcements_bp.arguments(AnnouncementArgs, location="query")
    @announcements_bp.response(200, page_schema(AnnouncementSchema, "AnnouncementPage"))
    @_bad_cursor_doc(announcements_bp)
    def get(self, args):
        """Published purchase announcements (never drafts), newest id first, filtered like the page."""
        filters = procurement.AnnouncementFilters(
            region=args["region"], service_item_id=args["item"],
            method=SelectionMethod(args["method"]) if args["method"] else None,
            status=RequestStatus(args["status"]) if args["status"] else None,
        )
        stmt = procurement.public_requests_query(filters).order_by(None)
        items, cursor = page(stmt, PurchaseRequest.id, args, descending=True)
        return {"items": items, "next_cursor": cursor}


@announcements_bp.route(f"/<{ID}:request_id>")
class AnnouncementView(MethodView):
    @announcements_bp.response(200, AnnouncementDetailSchema)
    @_not_found_doc(announcements_bp)
    def get(self, request_id):
        """One announcement as its public page shows it (bids stay sealed)."""
        return procurement.get_request_for(None, request_id)


@announcements_bp.route(f"/<{ID}:request_id>/result")
class AnnouncementResult(MethodView):
    @announcements_bp.response(200, ResultSchema)
    @_not_found_doc(announcements_bp)
    def get(self, request_id):
        """The selection result once it is public (after the award or the failure), else 404."""
        return procurement.public_result(procurement.get_request_for(None, request_id))


# --- contract notices ------------------------------------------------------------------------


class ContractNoticeSchema(ma.Schema):
    id = ma.fields.Integer()
    contract_no = ma.fields.String()
    status = ma.fields.Function(lambda c: c.status.value)
    buyer = ma.fields.Nested(RefSchema)
    agency = ma.fields.Nested(RefSchema)
    request_id = ma.fields.Integer()
    service_item = ma.fields.Nested(CodedRefSchema, attribute="request.service_item")
    price_fen = ma.fields.Integer()
    working_days = ma.fields.Integer()
    effective_date = ma.fields.Date(allow_none=True)
    due_date = ma.fields.Date(allow_none=True)
    in_force_at = ma.fields.DateTime(allow_none=True)


@contracts_bp.route("")
class ContractNotices(MethodView):
    @contracts_bp.arguments(CursorArgs, location="query")
    @contracts_bp.response(200, page_schema(ContractNoticeSchema, "ContractNoticePage"))
    @_bad_cursor_doc(contracts_bp)
    def get(self, args):
        """Contracts that came into force (in force, completed or terminated since), newest id first
        (parties, service, price, dates, status; no clauses)."""
        items, cursor = page(contracts.public_notices_query().order_by(None), Contract.id, args, descending=True)
        return {"items": items, "next_cursor": cursor}


# --- blacklist -------------------------------------------------------------------------------


class SanctionAgencySchema(RefSchema):
    uscc = ma.fields.String()


class EvidenceSchema(ma.Schema):
    type = ma.fields.String()
    id = ma.fields.String()
    number = ma.fields.String(metadata={"description": "the record's public number (contract number, "
                                                     "approval case number, reference)"})


class SanctionEntrySchema(ma.Schema):
    id = ma.fields.Integer()
    case = ma.fields.String(metadata={"description": "the case reference"})
    status = ma.fields.String()
    kind = ma.fields.String()
    agency = ma.fields.Nested(SanctionAgencySchema)
    ground = ma.fields.String(metadata={"description": "code of the published ground"})
    ground_title = ma.fields.String()
    start_date = ma.fields.String(allow_none=True)
    end_date = ma.fields.String(allow_none=True, metadata={"description": "null: indefinite"})
    decided_at = ma.fields.String(allow_none=True)
    department = ma.fields.String(allow_none=True, metadata={"description": "the deciding department"})
    evidence = ma.fields.List(ma.fields.Nested(EvidenceSchema))


class BlacklistArgs(CursorArgs):
    q = _query_field()
    kind = ma.fields.String(load_default="blacklist", validate=ma.validate.OneOf(sanctions.LIST_KINDS))


def _entry(case) -> dict:
    return {**sanctions.public_data(case), "ground_title": ground_title(case.ground_code)}


@sanctions_bp.route("")
class Blacklist(MethodView):
    @sanctions_bp.arguments(BlacklistArgs, location="query")
    @sanctions_bp.response(200, page_schema(SanctionEntrySchema, "SanctionPage"))
    @_bad_cursor_doc(sanctions_bp)
    def get(self, args):
        """The public list (blacklist by default; also suspensions, warnings, all), newest id first."""
        stmt = sanctions.public_list_query(q=args["q"], kind=args["kind"]).order_by(None)
        items, cursor = page(stmt, SanctionCase.id, args, descending=True)
        return {"items": [_entry(c) for c in items], "next_cursor": cursor}


@sanctions_bp.route(f"/<{ID}:case_id>")
class BlacklistEntry(MethodView):
    @sanctions_bp.response(200, SanctionEntrySchema)
    @_not_found_doc(sanctions_bp)
    def get(self, case_id):
        """One decided sanction (proposals are never public)."""
        return _entry(sanctions.get_public_case(case_id))


BLUEPRINTS = [
    (catalog_bp, "/services"),
    (agencies_bp, "/agencies"),
    (listings_bp, "/listings"),
    (announcements_bp, "/announcements"),
    (contracts_bp, "/contract-notices"),
    (credit_bp, "/credit"),
    (sanctions_bp, "/blacklist"),
]
