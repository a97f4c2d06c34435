"""The ratings summary of an agency and its credit ledger count the same ratings: the summary of
the ratings about an agency reads the ledger, which every revealed rating enters once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.core.db import utcnow
from marketplace.credit.models import CreditInputKind, InputEffect
from marketplace.credit.services import cancel_credit_input, record_credit_input
from tests.factories import AgencyFactory


def _summary(html: str) -> str:
    start = html.index('id="public-ratings"')
    return html[start:]


@pytest.mark.parametrize("page", ["/credit/agencies/{id}", "/ratings/organisations/{id}"])
def test_the_agency_page_shows_the_ratings_its_ledger_lists(db, client, page):
    # ratings recorded in the ledger as the demo data records them (one of them later reversed)
    agency = AgencyFactory()
    now = utcnow()
    for value in (3.2, 2.8, 3.6):
        record_credit_input(
            agency.id,
            CreditInputKind.RATING_ENTERPRISE,
            value=value,
            now=now,
            occurred_at=now - timedelta(days=30),
            refs=[("contract", "HT2026000001", "")],
        )
    record_credit_input(
        agency.id,
        CreditInputKind.RATING_APPROVAL_OFFICE,
        value=3.0,
        now=now,
        occurred_at=now - timedelta(days=20),
        refs=[("approval_case", "SP2026000001", "")],
    )
    reversed_ = record_credit_input(
        agency.id,
        CreditInputKind.RATING_ENTERPRISE,
        value=1.0,
        now=now,
        occurred_at=now - timedelta(days=10),
        refs=[("contract", "HT2026000002", "")],
    )
    cancel_credit_input(reversed_, effect=InputEffect.REVERSAL, now=now)
    db.session.commit()

    credit = client.get(f"/credit/agencies/{agency.id}").get_data(as_text=True)
    assert "Based on 4 ratings" in credit
    html = _summary(client.get(page.format(id=agency.id)).get_data(as_text=True))
    assert "No public rating yet." not in html
    assert "Enterprise rating of the agency: 3 ratings, mean 3.20 / 5" in html
    assert "Approval department rating of the result: 1 rating, mean 3.00 / 5" in html


def test_a_revealed_rating_counts_once_and_the_enterprise_keeps_its_own(db, client, finished):
    finished.rate_enterprise()  # 2, 1, 3, 2, 3: mean 2.20
    finished.rate_agency()  # about the enterprise: 5, 4, 5
    finished.rate_office()  # 2, 3, 2: mean 2.33
    db.session.commit()
    html = _summary(
        client.get(f"/credit/agencies/{finished.contract.agency_org_id}").get_data(as_text=True)
    )
    assert "Enterprise rating of the agency: 1 rating, mean 2.20 / 5" in html
    assert "Approval department rating of the result: 1 rating, mean 2.33 / 5" in html
    assert (
        "Agency rating of the enterprise"
        not in html.split('id="rating-summary"')[1].split("</ul>")[0]
    )
    enterprise = _summary(
        client.get(f"/ratings/organisations/{finished.contract.buyer_org_id}").get_data(
            as_text=True
        )
    )
    assert "Agency rating of the enterprise: 1 rating, mean 4.67 / 5" in enterprise
