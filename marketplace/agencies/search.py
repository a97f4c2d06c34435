"""Agencies and their listings in the full-text search."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from marketplace.accounts.models import Organisation, OrgKind
from marketplace.agencies import eligibility, visibility
from marketplace.agencies.models import (
    AgencyProfile,
    IndependenceDeclaration,
    Listing,
    ListingStatus,
    ListingVersion,
    Practitioner,
    Qualification,
    ServiceRegion,
)
from marketplace.catalog.models import ServiceItem
from marketplace.core.regions import region_name
from marketplace.extensions import db
from marketplace.search.documents import SearchDocument

# Agencies and listings read per statement when indexing or checking visibility.
BATCH = 500


def _grades(org_ids) -> dict[int, str]:
    """Published credit grades (agencies with nothing on record have none)."""
    from marketplace.credit.services import credit_grades_for

    return credit_grades_for(org_ids)


def _agency_documents(org_ids: list[int]) -> dict[int, SearchDocument]:
    """The documents of the agencies among ``org_ids``, with one IN query per kind of data
    (organisations, qualifications, profiles, offered services, practitioners, grades)."""
    if not org_ids:
        return {}
    orgs = db.session.execute(
        sa.select(Organisation).where(Organisation.id.in_(org_ids), Organisation.kind == OrgKind.AGENCY)
        .order_by(Organisation.id)
    ).scalars().all()
    ids = [org.id for org in orgs]
    if not ids:
        return {}
    on = eligibility.today()
    quals: dict[int, list[Qualification]] = {}
    for q in db.session.execute(
        sa.select(Qualification).options(selectinload(Qualification.qualification_type))
        .where(Qualification.organisation_id.in_(ids), Qualification.valid_from <= on,
               Qualification.valid_to >= on)
        .order_by(Qualification.id)
    ).scalars():
        quals.setdefault(q.organisation_id, []).append(q)
    profiles = {p.organisation_id: p for p in db.session.execute(
        sa.select(AgencyProfile).where(AgencyProfile.organisation_id.in_(ids))
    ).scalars()}
    offered: dict[int, list[str]] = {}
    for org_id, name in db.session.execute(
        sa.select(Listing.organisation_id, ServiceItem.name)
        .join(Listing, Listing.service_item_id == ServiceItem.id)
        .where(Listing.organisation_id.in_(ids), Listing.status == ListingStatus.PUBLISHED)
        .order_by(Listing.id)
    ):
        offered.setdefault(org_id, []).append(name)
    people: dict[int, set[str]] = {}
    for org_id, specialty in db.session.execute(
        sa.select(Practitioner.organisation_id, Practitioner.specialty)
        .where(Practitioner.organisation_id.in_(ids))
    ):
        if specialty:
            people.setdefault(org_id, set()).add(specialty)
    grades = _grades(ids)
    docs = {}
    for org in orgs:
        org_quals = quals.get(org.id, [])
        profile = profiles.get(org.id)
        body = "\n".join(p for p in (
            region_name(org.region_code), org.legal_representative,
            profile.introduction if profile else "",
            "；".join(f"{q.qualification_type.name}{q.level}" for q in org_quals),
            "；".join(offered.get(org.id, [])), "；".join(sorted(people.get(org.id, ()))),
        ) if p)
        docs[org.id] = SearchDocument(
            doc_type="agency", doc_id=org.id, title=org.name, body=body, url=f"/agencies/{org.id}",
            region_code=org.region_code,
            qualification_types=[q.qualification_type.name for q in org_quals],
            credit_grade=grades.get(org.id),
        )
    return docs


class AgencySearchProvider:
    """Registered agencies: name, region, qualifications, what they offer."""

    doc_type = "agency"

    def document_for(self, doc_id: int) -> SearchDocument | None:
        return _agency_documents([doc_id]).get(doc_id)

    def all_ids(self):
        return db.session.execute(
            sa.select(Organisation.id).where(Organisation.kind == OrgKind.AGENCY)
        ).scalars().all()

    def iter_documents(self) -> Iterator[SearchDocument]:
        # In batches of ids, each batch in a fixed number of queries (it was five per agency).
        ids = sorted(self.all_ids())
        for start in range(0, len(ids), BATCH):
            docs = _agency_documents(ids[start : start + BATCH])
            yield from (docs[i] for i in ids[start : start + BATCH] if i in docs)


class ListingSearchProvider:
    """Published listings with their commitments in force; hidden ones drop out at once."""

    doc_type = "listing"

    def _query(self):
        return sa.select(Listing).options(
            selectinload(Listing.current), selectinload(Listing.organisation),
            selectinload(Listing.service_item).selectinload(ServiceItem.category),
            selectinload(Listing.service_item).selectinload(ServiceItem.qualification_types),
        )

    def _document(self, listing: Listing, visible: bool, grade: str | None = None) -> SearchDocument:
        terms = listing.current
        item = listing.service_item
        org = listing.organisation
        body = "\n".join(p for p in (org.name, terms.service_standard, terms.fee_basis,
                                     item.description, region_name(org.region_code)) if p)
        fee_min = terms.fee_min_fen
        fee_max = terms.fee_max_fen if terms.fee_max_fen is not None else fee_min
        return SearchDocument(
            doc_type="listing", doc_id=listing.id, title=f"{item.name} · {org.name}", body=body,
            url=f"/listings/{listing.id}", category=item.category.name if item.category else None,
            region_code=org.region_code, qualification_types=[q.name for q in item.qualification_types],
            fee_min_fen=fee_min, fee_max_fen=fee_max, time_limit_days=terms.time_limit_days,
            credit_grade=grade, visible=visible,
        )

    def document_for(self, doc_id: int) -> SearchDocument | None:
        listing = db.session.execute(self._query().where(Listing.id == doc_id)).scalar_one_or_none()
        if listing is None or listing.current is None:
            return None
        if not eligibility.is_listing_visible(listing):
            return None
        return self._document(listing, True, _grades([listing.organisation_id]).get(listing.organisation_id))

    def all_ids(self):
        return db.session.execute(sa.select(Listing.id)).scalars().all()

    def iter_documents(self) -> Iterator[SearchDocument]:
        # In batches by id: a province has 100,000 listings, more than one statement may bind
        # (PostgreSQL takes at most 65,535 parameters) and more than memory should hold at once.
        today, last = eligibility.today(), 0
        while True:
            ids = db.session.execute(
                sa.select(Listing.id).where(Listing.id > last, visibility.visible_sql(today))
                .order_by(Listing.id).limit(BATCH)
            ).scalars().all()
            if not ids:
                return
            last = ids[-1]
            listings = db.session.execute(
                self._query().where(Listing.id.in_(ids)).order_by(Listing.id)
            ).scalars().all()
            grades = _grades({listing.organisation_id for listing in listings})
            for listing in listings:
                if listing.current is not None:
                    yield self._document(listing, True, grades.get(listing.organisation_id))

    def is_visible_now(self, ids: Iterable[int]) -> set[int]:
        """Listings among ``ids`` shown today (a certificate may have expired since indexing)."""
        ids, visible, today = list(ids), set(), eligibility.today()
        for start in range(0, len(ids), BATCH):
            visible.update(db.session.execute(
                sa.select(Listing.id).where(
                    Listing.id.in_(ids[start:start + BATCH]), visibility.visible_sql(today)
                )
            ).scalars())
        return visible


def _org_keys(org_id: int) -> list[tuple[str, int]]:
    return [("agency", org_id), ("listings_of_agency", org_id)]


def register(app) -> None:
    """Register the providers and what keeps them current."""
    from marketplace.search.documents import register_provider
    from marketplace.search.tracking import expand, track

    register_provider(AgencySearchProvider(), app=app)
    register_provider(ListingSearchProvider(), app=app)
    track(Organisation, lambda org: _org_keys(org.id) if org.kind is OrgKind.AGENCY else [])
    track(Listing, lambda listing: [("listing", listing.id), ("agency", listing.organisation_id)])
    track(ListingVersion, lambda version: [("listing", version.listing_id)])
    for model in (Qualification, IndependenceDeclaration):
        track(model, lambda obj: _org_keys(obj.organisation_id))
    for model in (AgencyProfile, ServiceRegion, Practitioner):
        track(model, lambda obj: [("agency", obj.organisation_id)])
    expand("listings_of_agency", lambda org_ids: [("listing", i) for i in db.session.execute(
        sa.select(Listing.id).where(Listing.organisation_id.in_(org_ids))).scalars()])
    expand("listings_of_item", lambda item_ids: [("listing", i) for i in db.session.execute(
        sa.select(Listing.id).where(Listing.service_item_id.in_(item_ids))).scalars()])
