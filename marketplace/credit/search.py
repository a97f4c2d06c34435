"""Credit grades in the full-text search: a changed score re-indexes the agency and its listings."""

from __future__ import annotations

from marketplace.credit.models import CreditInput, CreditScoreHistory


def register(app) -> None:
    """Every ledger entry and every re-scoring touches the agency's documents (grade facet, ranking)."""
    from marketplace.search.tracking import track

    for model in (CreditInput, CreditScoreHistory):
        track(model, lambda obj: [("agency", obj.organisation_id), ("listings_of_agency", obj.organisation_id)])
