"""Procurement rules: the package's public façade, one import for every caller.

Services flush and never commit; the caller (a view, the job, the CLI) commits once. Every
status change goes through the state machines in ``states.py``, which guard against races with a
conditional UPDATE and write the audit event.

Sealing: before the deadline no query outside the owner's own pages reads a bid, and the audit
trail of a bid holds only a SHA-256 commitment over its terms and a random nonce; the terms and
the nonce are revealed in the audit trail when bidding closes, so anyone can check the commitment.

The rules live in modules named after their concept (each imports only the ones above it here):

- ``_common``: the day in China, the public record's language, ids, the row lock, the owner check;
- ``events``: webhook push of case and request events, the search index queue;
- ``deadlines``: the earliest and latest bidding deadline, the end of the objection period;
- ``cases``: approval cases, who sees them, the case form's choices;
- ``eligibility``: who may bid on a request, and whether an offer keeps to the rules;
- ``requests``: drafting, exclusions, publishing, cancelling, closing and re-publishing requests;
- ``bidding``: sealed bids (submit, revise, withdraw) and a blacklisted agency's open bids;
- ``evaluation``: closing bidding, the re-check and the ranking by the method (``selection``);
- ``award``: abnormal prices, the award, passing it on, finality, the job's time-driven steps;
- ``announcements``: the public list and its filters, results, award history, public JSON;
- ``dashboards``: what an enterprise or an agency must do next, their lists.

``db`` and ``DomainError`` stay reachable here for the callers that used them through this module.
"""

from __future__ import annotations

from marketplace.core.errors import DomainError
from marketplace.extensions import db
from marketplace.procurement._common import (
    MAX_ID,
    SHANGHAI,
    SYSTEM,
    _config,
    _norm_code,
    china_date,
    china_end_of_day,
    china_local_to_utc,
    get_by_id,
    record_text,
)
from marketplace.procurement.announcements import (
    AnnouncementFilters,
    announcement_filter_items,
    announcement_regions,
    award_history,
    get_request_for,
    public_requests,
    public_requests_query,
    public_result,
    result_is_public,
    result_visible_to,
    revealed_bids,
)
from marketplace.procurement.award import (
    advance_request,
    award_is_final,
    award_request,
    decide_abnormal_bid,
    decline_award,
    due_request_ids,
    finalise_award,
    pass_award_to_next,
    winning_bid,
)
from marketplace.procurement.bidding import (
    live_bid,
    place_bid,
    reject_open_bids,
    revise_bid,
    seal_commitment,
    submit_bid,
    withdraw_bid,
)
from marketplace.procurement.cases import (
    PROJECT_CODE,
    approval_item_choices,
    can_view_case,
    cases_for,
    cases_query,
    check_project_code,
    create_approval_case,
    department_choices,
    get_case_for,
    set_case_status,
)
from marketplace.procurement.dashboards import (
    Task,
    agency_bids,
    agency_tasks,
    enterprise_requests,
    enterprise_tasks,
    latest_bid_of,
    open_opportunities,
)
from marketplace.procurement.deadlines import (
    DEFAULT_DEADLINE_TIME,
    MAX_BIDDING_CALENDAR_DAYS,
    check_deadline,
    default_deadline,
    earliest_deadline_day,
    objection_deadline_for,
)
from marketplace.procurement.eligibility import (
    active_listing,
    bid_problems,
    can_bid,
    is_related_party,
    listed_agencies,
)
from marketplace.procurement.evaluation import (
    close_bidding,
    pending_decisions,
    selection_context,
)
from marketplace.procurement.events import (
    index_announcement,
    request_event,
)
from marketplace.procurement.requests import (
    EXCLUSIONARY,
    PHONE,
    RequestInput,
    add_exclusion,
    cancel_request,
    close_request,
    create_request,
    next_round_of,
    publish_request,
    remove_exclusion,
    republish_request,
    rounds_of,
    update_request,
)

__all__ = [
    "DomainError",
    "db",
    "MAX_ID",
    "SHANGHAI",
    "SYSTEM",
    "_config",
    "_norm_code",
    "china_date",
    "china_end_of_day",
    "china_local_to_utc",
    "get_by_id",
    "record_text",
    "index_announcement",
    "request_event",
    "DEFAULT_DEADLINE_TIME",
    "MAX_BIDDING_CALENDAR_DAYS",
    "check_deadline",
    "default_deadline",
    "earliest_deadline_day",
    "objection_deadline_for",
    "PROJECT_CODE",
    "approval_item_choices",
    "can_view_case",
    "cases_for",
    "cases_query",
    "check_project_code",
    "create_approval_case",
    "department_choices",
    "get_case_for",
    "set_case_status",
    "active_listing",
    "bid_problems",
    "can_bid",
    "is_related_party",
    "listed_agencies",
    "EXCLUSIONARY",
    "PHONE",
    "RequestInput",
    "add_exclusion",
    "cancel_request",
    "close_request",
    "create_request",
    "next_round_of",
    "publish_request",
    "remove_exclusion",
    "republish_request",
    "rounds_of",
    "update_request",
    "live_bid",
    "place_bid",
    "reject_open_bids",
    "revise_bid",
    "seal_commitment",
    "submit_bid",
    "withdraw_bid",
    "close_bidding",
    "pending_decisions",
    "selection_context",
    "advance_request",
    "award_is_final",
    "award_request",
    "decide_abnormal_bid",
    "decline_award",
    "due_request_ids",
    "finalise_award",
    "pass_award_to_next",
    "winning_bid",
    "AnnouncementFilters",
    "announcement_filter_items",
    "announcement_regions",
    "award_history",
    "get_request_for",
    "public_requests",
    "public_requests_query",
    "public_result",
    "result_is_public",
    "result_visible_to",
    "revealed_bids",
    "Task",
    "agency_bids",
    "agency_tasks",
    "enterprise_requests",
    "enterprise_tasks",
    "latest_bid_of",
    "open_opportunities",
]
