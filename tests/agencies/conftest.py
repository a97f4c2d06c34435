"""Helpers for the agency tests: users of each kind, a qualified agency, scan bytes."""

from __future__ import annotations

import io

import pytest

from marketplace.accounts.models import Role
from marketplace.catalog.models import QualificationRule
from tests.factories import (
    AgencyFactory,
    EnterpriseFactory,
    GovernmentFactory,
    IndependenceDeclarationFactory,
    QualificationFactory,
    QualificationTypeFactory,
    ServiceItemFactory,
    UserFactory,
)

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def upload(data: bytes, name: str = "证书扫描件.pdf"):
    """A (stream, filename) pair as the test client sends a file field."""
    return (io.BytesIO(data), name)


@pytest.fixture
def staff(db):
    """An agency and one of its staff."""
    return UserFactory(organisation=AgencyFactory(), role=Role.AGENCY_STAFF)


@pytest.fixture
def make_user(db):
    def _make(role: Role, org=None):
        factory = {Role.AGENCY_STAFF: AgencyFactory, Role.ENTERPRISE_STAFF: EnterpriseFactory}.get(
            role, GovernmentFactory
        )
        return UserFactory(organisation=org or factory(), role=role)

    return _make


@pytest.fixture
def qtype(db):
    return QualificationTypeFactory(name="测绘资质证书", code="CH")


@pytest.fixture
def item(db, qtype):
    """A service item needing one qualification type, with a statutory limit of 15 days."""
    return ServiceItemFactory(
        name="建设工程竣工规划核实测量", qualification_types=[qtype],
        qualification_rule=QualificationRule.ALL, statutory_days=15,
    )


@pytest.fixture
def qualified(db, staff, qtype):
    """Make ``staff``'s agency ready to publish: a declaration and a valid certificate."""
    IndependenceDeclarationFactory(organisation_id=staff.organisation_id)
    return QualificationFactory(organisation_id=staff.organisation_id, qualification_type=qtype)


@pytest.fixture(autouse=True)
def _visibility_projection(db):
    """The public lists read the visibility projection (built for today, kept by the session
    hooks) in every agency test, so the existing visibility tests hold the fast path too."""
    from marketplace.agencies.visibility import rebuild

    rebuild()
    db.session.commit()
