"""The demo shows a contract at each stage after the award (``flask seed demo``)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from marketplace.contracts.models import Contract, ContractStatus
from marketplace.payments.models import Payment, PaymentStatus
from marketplace.procurement.models import RequestStatus
from marketplace.ratings.models import Rating, RatingStatus


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the English messages."""


def test_demo_contracts_cover_the_service_stages(db, browser):
    from marketplace.demo import load_demo

    load_demo("demo-Passw0rd")
    db.session.commit()
    contracts = db.session.execute(sa.select(Contract).order_by(Contract.id)).scalars().all()
    by_status = {c.status: c for c in contracts}
    assert set(by_status) == {ContractStatus.COMPLETED, ContractStatus.IN_FORCE, ContractStatus.TERMINATED,
                              ContractStatus.AWAITING_SIGNATURES}
    done = by_status[ContractStatus.COMPLETED]
    assert done.request.status is RequestStatus.CLOSED
    assert db.session.execute(sa.select(Payment.status).where(Payment.contract_id == done.id)).scalar_one() \
        is PaymentStatus.CONFIRMED
    assert sorted(db.session.execute(sa.select(Rating.status).where(Rating.contract_id == done.id)).scalars()) \
        == [RatingStatus.REVEALED] * 3
    ended = by_status[ContractStatus.TERMINATED]
    assert ended.request.status is RequestStatus.CANCELLED

    browser.login("enterprise@demo.zhongjie.test", "demo-Passw0rd")
    page = browser.get(f"/contracts/{ended.id}").get_data(as_text=True)
    assert "Agreed: the contract is terminated" in page
    running = by_status[ContractStatus.IN_FORCE]
    page = browser.get(f"/deliveries/{running.id}").get_data(as_text=True)
    assert "proposes" in page or 'id="agree-form"' in page  # the agency's extension proposal waits
    assert "Receipt confirmed" not in browser.get(f"/contracts/{running.id}/payment").get_data(as_text=True)


def test_demo_contracts_print_each_partys_own_representative_and_contact(db):
    """Issue 20: every demo organisation had the factory's contact (李四, 0871-12345678) and no
    address, so both parties of a demo contract showed the same telephone and person."""
    import io

    from pypdf import PdfReader

    from marketplace.demo import load_demo

    load_demo("demo-Passw0rd")
    db.session.commit()
    contracts = db.session.execute(sa.select(Contract).order_by(Contract.id)).scalars().all()
    assert contracts
    for contract in contracts:
        buyer, agency = contract.buyer, contract.agency
        assert buyer.contact_phone != agency.contact_phone
        assert buyer.legal_representative != agency.legal_representative
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(contract.versions[0].pdf)).pages)
        for party in (buyer, agency):
            assert party.legal_representative in text
            assert party.contact_phone in text
            assert party.address and party.address in text
        assert "李四" not in text and "0871-12345678" not in text
