"""Agency rules: profile, qualifications, independence, listings and their commitments.

This module is the package's public façade: callers (views, API, CLI, other domains, tests)
import ``marketplace.agencies.services``; the rules live in concept modules re-exported here:

- ``permissions``: who may act and who may see (``check_agency_actor``, ``get_agency``,
  ``get_own``, ``can_view_scan``, ``can_view_listing``);
- ``profile``: the profile and the regions served, the independence declaration, practitioners;
- ``qualifications``: certificates and their scans, expiring ones, the agency's upload quota;
- ``listings``: listings and their versioned commitments, publishing and withdrawing, the exit
  of a blacklisted agency (清退, connected to the sanctions signal);
- ``directory``: the public fee lists, offer statistics, the agency directory, listings shown.

``eligibility`` says when a listing shows, ``visibility`` keeps the public lists' projection.
Only an agency's own staff change its data. Every change writes an audit event; services flush
and never commit.
"""

from __future__ import annotations

from marketplace.agencies import eligibility  # noqa: F401 - callers read eligibility.today() through here
from marketplace.agencies.directory import (  # noqa: F401
    OFFER_SORTS,
    AgencyCard,
    _OfferPagination,
    _projected_offers,
    _version_join,
    agency_cards,
    agency_directory,
    agency_directory_query,
    offer_stats,
    public_listings_query,
    public_offers,
    visible_listings,
)
from marketplace.agencies.listings import (  # noqa: F401
    Commitment,
    OwnListing,
    _check_fen,
    _on_blacklist_in_force,
    _terms_payload,
    _version_from,
    check_commitment,
    commitment_at,
    create_listing,
    get_listing,
    listable_items,
    listing_history,
    own_listings,
    publish_listing,
    publishing_problems,
    update_commitment,
    withdraw_all_listings,
    withdraw_listing,
)
from marketplace.agencies.permissions import (  # noqa: F401
    can_view_listing,
    can_view_scan,
    check_agency_actor,
    get_agency,
    get_own,
)
from marketplace.agencies.profile import (  # noqa: F401
    DECLARATION_TEXT,
    REGION_SPLIT,
    add_practitioner,
    clean_region_arg,
    covering_region_codes,
    current_declaration,
    declaration_statement,
    get_profile,
    list_practitioners,
    parse_region_codes,
    region_filter_choices,
    remove_practitioner,
    serves_region_sql,
    service_region_codes,
    sign_declaration,
    update_profile,
)
from marketplace.agencies.qualifications import (  # noqa: F401
    MAX_YEAR,
    MIN_YEAR,
    SCAN_PURPOSE,
    _check_certificate_free,
    _check_dates,
    _qualification_values,
    _scan_payload,
    _store_scan,
    add_qualification,
    expiring_qualifications,
    list_qualifications,
    remove_qualification,
    storage_usage,
    update_qualification,
)
