"""Endpoints of the foundation: the caller's organisation, the working-day calendar, the audit chain."""

from __future__ import annotations

import json
from datetime import date

import marshmallow as ma
import sqlalchemy as sa
from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from marketplace.api.auth import token_grants, token_required
from marketplace.api.pagination import CursorArgs, page
from marketplace.api.schemas import ErrorSchema, page_schema
from marketplace.audit.models import AuditCheckpoint, AuditEvent
from marketplace.audit.registry import describe
from marketplace.audit.services import public_events_query
from marketplace.core import keys
from marketplace.workdays import services as workdays

meta_bp = Blueprint("api_meta", __name__, description="The calling organisation")
calendar_bp = Blueprint("api_calendar", __name__, description="The official working-day calendar")
audit_bp = Blueprint("api_audit", __name__, description="The public, hash-chained audit trail")


class OrganisationSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    name = ma.fields.String()
    uscc = ma.fields.String()
    region_code = ma.fields.String()


class MeSchema(ma.Schema):
    organisation = ma.fields.Nested(OrganisationSchema)
    scopes = ma.fields.List(ma.fields.String())


@meta_bp.route("/me")
class Me(MethodView):
    @meta_bp.doc(security=[{"bearerAuth": []}])
    @meta_bp.response(200, MeSchema)
    @meta_bp.alt_response(401, schema=ErrorSchema, description="No valid token")
    @meta_bp.alt_response(403, schema=ErrorSchema, description="The token lacks the scope")
    @token_required("org:read")
    def get(self):
        """The organisation the token belongs to, and the token's scopes."""
        org = g.api_org
        return {"organisation": {"id": org.id, "kind": str(org.kind), "name": org.name, "uscc": org.uscc,
                                 "region_code": org.region_code},
                "scopes": sorted(g.api_token.scope_set)}


class DueDateArgs(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    start = ma.fields.Date(required=True, metadata={"example": "2026-09-30"})
    days = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0, max=workdays.MAX_WORKING_DAYS))

    @ma.validates("start")
    def _range(self, value, **kwargs):
        if not date(1990, 1, 1) <= value <= date(2190, 12, 31):
            raise ma.ValidationError("out of range")


class DueDateSchema(ma.Schema):
    start = ma.fields.Date()
    working_days = ma.fields.Integer()
    due_date = ma.fields.Date()
    provisional = ma.fields.Boolean(metadata={"description": "true when a year touched has no official schedule yet"})


@calendar_bp.route("/due-date")
class DueDate(MethodView):
    @calendar_bp.arguments(DueDateArgs, location="query")
    @calendar_bp.response(200, DueDateSchema)
    def get(self, args):
        """The n-th working day after a date (the start day does not count)."""
        result = workdays.add_working_days_detail(args["start"], args["days"])
        return {"start": args["start"], "working_days": args["days"], "due_date": result.day,
                "provisional": result.provisional}


class DaySchema(ma.Schema):
    date = ma.fields.Date()
    is_working_day = ma.fields.Boolean()
    name = ma.fields.String()


class YearSchema(ma.Schema):
    year = ma.fields.Integer()
    provisional = ma.fields.Boolean()
    days = ma.fields.List(ma.fields.Nested(DaySchema))


@calendar_bp.route("/years/<int(signed=True):year>")
class CalendarYearView(MethodView):
    @calendar_bp.response(200, YearSchema)
    @calendar_bp.alt_response(404, schema=ErrorSchema, description="Year out of range")
    def get(self, year):
        """The holidays and adjusted working days of a year."""
        if not 1990 <= year <= 2200:
            from flask_smorest import abort

            abort(404, message="no such year")
        days, provisional = workdays.year_days(year)
        return {"year": year, "provisional": provisional,
                "days": [{"date": d.day, "is_working_day": d.is_working, "name": d.name} for d in days]}


class EventSchema(ma.Schema):
    seq = ma.fields.Integer()
    created_at = ma.fields.DateTime()
    action = ma.fields.String()
    label = ma.fields.String(metadata={"description": "The translated name of the event type"})
    object_type = ma.fields.String()
    object_id = ma.fields.String()
    subject = ma.fields.String(metadata={"description": "The object by its translated name and public number"})
    prev_hash = ma.fields.String()
    hash = ma.fields.String()
    actor_label = ma.fields.String(metadata={"description": "Only with the audit:read scope"})
    payload = ma.fields.Raw(metadata={"description": "Only with the audit:read scope"})


EventPage = page_schema(EventSchema, "EventPage")


@audit_bp.route("/events")
class Events(MethodView):
    @audit_bp.arguments(CursorArgs, location="query")
    @audit_bp.response(200, EventPage)
    @audit_bp.alt_response(400, schema=ErrorSchema, description="Malformed cursor")
    @audit_bp.alt_response(401, schema=ErrorSchema, description="A token was presented but is not valid")
    @audit_bp.doc(security=[{}, {"bearerAuth": []}])
    def get(self, args):
        """The audit trail, newest first.

        Without a token: the public view (no sign-ins or other account events, sealed bids only
        once bidding has closed, no payloads). A token with the ``audit:read`` scope (regulators)
        gets every event with its actor and payload, enough to recompute every hash.
        """
        if token_grants("audit:read"):
            items, cursor = page(sa.select(AuditEvent), AuditEvent.seq, args, descending=True)
            rows = [dict(vars(view), actor_label=ev.actor_label, payload=json.loads(ev.payload or "{}"))
                    for ev, view in zip(items, describe(items), strict=True)]
            return {"items": rows, "next_cursor": cursor}
        items, cursor = page(public_events_query(), AuditEvent.seq, args, descending=True)
        return {"items": describe(items), "next_cursor": cursor}


class CheckpointSchema(ma.Schema):
    seq = ma.fields.Integer()
    head_hash = ma.fields.String()
    signature = ma.fields.String()
    key_id = ma.fields.String()
    created_at = ma.fields.DateTime()


class CheckpointsSchema(ma.Schema):
    public_key = ma.fields.String()
    key_id = ma.fields.String()
    checkpoints = ma.fields.List(ma.fields.Nested(CheckpointSchema))


@audit_bp.route("/checkpoints")
class Checkpoints(MethodView):
    @audit_bp.response(200, CheckpointsSchema)
    def get(self):
        """Every signed checkpoint, with the platform public key that verifies them."""
        from marketplace.extensions import db

        rows = db.session.execute(sa.select(AuditCheckpoint).order_by(AuditCheckpoint.seq)).scalars().all()
        return {"public_key": keys.public_key_pem(), "key_id": keys.key_id(), "checkpoints": rows}


BLUEPRINTS = [(meta_bp, "/"), (calendar_bp, "/calendar"), (audit_bp, "/audit")]

# The public read endpoints (catalogue, agencies, listings, announcements, contracts, credit,
# blacklist) live in their own module; imported here so the list stays the one place to look.
from marketplace.api.public import BLUEPRINTS as _PUBLIC_BLUEPRINTS  # noqa: E402

BLUEPRINTS += _PUBLIC_BLUEPRINTS

# The approval systems' endpoints (cases, their results, request status).
from marketplace.api.cases import BLUEPRINTS as _CASES_BLUEPRINTS  # noqa: E402

BLUEPRINTS += _CASES_BLUEPRINTS

# An enterprise's own purchase requests, bids, awards and delivery reviews.
from marketplace.api.enterprise import BLUEPRINTS as _ENTERPRISE_BLUEPRINTS  # noqa: E402

BLUEPRINTS += _ENTERPRISE_BLUEPRINTS

# An agency's own listings and bids.
from marketplace.api.agency import BLUEPRINTS as _AGENCY_BLUEPRINTS  # noqa: E402

BLUEPRINTS += _AGENCY_BLUEPRINTS

# Contracts and their delivery, for the parties.
from marketplace.api.contracts_api import BLUEPRINTS as _CONTRACTS_BLUEPRINTS  # noqa: E402

BLUEPRINTS += _CONTRACTS_BLUEPRINTS
