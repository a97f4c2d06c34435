"""Sanctions in the full-text search: a suspended or blacklisted agency's listings leave the results."""

from __future__ import annotations

from marketplace.sanctions.models import SanctionCase


def register(app) -> None:
    """A decision, appeal or repair re-checks the agency's documents once its transaction commits.

    Sanctions that start or end on a later day need no event: search checks listing visibility
    again at query time, so they leave or return to the results at midnight by themselves.
    """
    from marketplace.search.tracking import track

    track(SanctionCase, lambda case: [("agency", case.organisation_id),
                                      ("listings_of_agency", case.organisation_id)])
