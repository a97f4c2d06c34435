"""Rebuilding reads agencies and announcements in batches: a fixed number of statements per
batch, however many documents (it was several statements per document)."""

from __future__ import annotations

from marketplace.agencies.models import ListingStatus
from marketplace.agencies.search import AgencySearchProvider
from marketplace.core.db import utcnow
from marketplace.procurement.models import RequestStatus
from marketplace.procurement.search import AnnouncementSearchProvider
from tests.conftest import count_statements
from tests.factories import AgencyFactory, ListingFactory, ServiceItemFactory
from tests.factories.agencies import PractitionerFactory, QualificationFactory
from tests.factories.procurement import PurchaseRequestFactory


def _agency(n: int, item):
    org = AgencyFactory(name=f"第{n}测绘有限公司")
    QualificationFactory(organisation_id=org.id)
    PractitionerFactory(organisation_id=org.id, specialty=f"注册测绘师{n}")
    ListingFactory(organisation=org, service_item=item, status=ListingStatus.PUBLISHED)
    return org


def _rebuild_statements(db, provider) -> tuple[int, list]:
    db.session.expire_all()
    with count_statements(db) as statements:
        docs = list(provider.iter_documents())
    return len(statements), docs


def test_agencies_are_read_in_a_fixed_number_of_statements(db):
    item = ServiceItemFactory(name="地形图测绘")
    orgs = [_agency(n, item) for n in range(2)]
    db.session.commit()
    provider = AgencySearchProvider()
    few, _ = _rebuild_statements(db, provider)
    orgs += [_agency(n, item) for n in range(2, 7)]
    db.session.commit()
    many, docs = _rebuild_statements(db, provider)
    assert many == few
    by_id = {doc.doc_id: doc for doc in docs}
    assert {org.id for org in orgs} <= set(by_id)
    for org in orgs:
        one = provider.document_for(org.id)
        assert by_id[org.id] == one
        assert "地形图测绘" in one.body and one.qualification_types


def test_announcements_are_read_in_a_fixed_number_of_statements(db):
    def publish(n):
        return [PurchaseRequestFactory(status=RequestStatus.PUBLISHED, published_at=utcnow())
                for _ in range(n)]

    requests = publish(2)
    draft = PurchaseRequestFactory()
    db.session.commit()
    provider = AnnouncementSearchProvider()
    few, _ = _rebuild_statements(db, provider)
    requests += publish(5)
    db.session.commit()
    many, docs = _rebuild_statements(db, provider)
    assert many == few
    by_id = {doc.doc_id: doc for doc in docs}
    assert set(by_id) >= {r.id for r in requests} and draft.id not in by_id
    for req in requests:
        assert by_id[req.id] == provider.document_for(req.id)
