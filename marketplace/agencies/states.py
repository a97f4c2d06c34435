"""The listing lifecycle: draft → published ⇄ withdrawn.

Whether a published listing is *shown* is not a status: ``eligibility.listing_visible_sql``
computes it each day from qualifications and sanctions, so a lapse needs nobody to act.
"""

from __future__ import annotations

from marketplace.agencies.models import ListingStatus
from marketplace.core.states import StateMachine

TRANSITIONS = {
    ListingStatus.DRAFT: {ListingStatus.PUBLISHED, ListingStatus.WITHDRAWN},
    ListingStatus.PUBLISHED: {ListingStatus.WITHDRAWN},
    ListingStatus.WITHDRAWN: {ListingStatus.PUBLISHED},
}

LISTING_MACHINE = StateMachine(ListingStatus, TRANSITIONS, audit_type="listing")
