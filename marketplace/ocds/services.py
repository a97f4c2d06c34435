"""Reading the records an OCDS export needs, in batches, and wrapping releases in packages.

Nothing here changes data. A batch of requests is loaded with a fixed number of queries (the
requests and their many-to-one rows, the audit events, bids, contracts, deliveries, payments,
terminations, organisations), whatever the batch size, so the bulk export costs a bounded number
of queries per ``BATCH`` requests.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from marketplace.accounts.models import Organisation
from marketplace.audit.models import AuditEvent
from marketplace.contracts.models import Contract, ContractTermination
from marketplace.delivery.models import Delivery
from marketplace.extensions import db
from marketplace.ocds.builder import (
    CONTRACT_ACTIONS,
    PAYMENT_ACTIONS,
    REQUEST_ACTIONS,
    Builder,
    Context,
    Process,
)
from marketplace.ocds.merge import compile_releases
from marketplace.payments.models import Payment
from marketplace.procurement.models import ApprovalCase, Bid, PurchaseRequest

BATCH = 200


def public_request_ids() -> list[int]:
    """Every request that is or was public (never drafts), oldest first."""
    return list(db.session.execute(
        sa.select(PurchaseRequest.id).where(PurchaseRequest.is_public)
        .order_by(PurchaseRequest.id)
    ).scalars())


def public_processes_query() -> sa.Select:
    """The processes listed on the open-data page, newest first."""
    return (sa.select(PurchaseRequest).options(selectinload(PurchaseRequest.enterprise))
            .where(PurchaseRequest.is_public)
            .order_by(PurchaseRequest.id.desc()))


def _events(session, object_type: str, ids, actions) -> list[AuditEvent]:
    if not ids:
        return []
    return list(session.execute(
        sa.select(AuditEvent).where(AuditEvent.object_type == object_type,
                                    AuditEvent.object_id.in_([str(i) for i in ids]),
                                    AuditEvent.action.in_(actions))
        .order_by(AuditEvent.seq)
    ).scalars())


def load_processes(request_ids: list[int], session=None) -> list[Process]:
    """The public requests among ``request_ids`` with everything their releases need."""
    session = session or db.session
    if not request_ids:
        return []
    reqs = list(session.execute(
        sa.select(PurchaseRequest)
        .where(PurchaseRequest.id.in_(request_ids), PurchaseRequest.is_public)
        .options(
            selectinload(PurchaseRequest.enterprise), selectinload(PurchaseRequest.service_item),
            selectinload(PurchaseRequest.approval_case).selectinload(ApprovalCase.department),
            selectinload(PurchaseRequest.required_qualifications),
            selectinload(PurchaseRequest.direct_agency), selectinload(PurchaseRequest.previous_round),
        )
        .order_by(PurchaseRequest.id)
    ).scalars())
    if not reqs:
        return []
    ids = [r.id for r in reqs]
    procs = {r.id: Process(req=r) for r in reqs}
    for ev in _events(session, "purchase_requests", ids, REQUEST_ACTIONS):
        procs[int(ev.object_id)].events.append(ev)
    org_ids: set[int] = set()
    for bid in session.execute(sa.select(Bid).where(Bid.request_id.in_(ids)).order_by(Bid.id)).scalars():
        procs[bid.request_id].bids.append(bid)
        org_ids.add(bid.agency_id)
    # Only contracts that came into force are public (the contract notices).
    contracts = list(session.execute(
        sa.select(Contract).where(Contract.request_id.in_(ids), Contract.in_force_at.is_not(None))
        .order_by(Contract.id)
    ).scalars())
    by_contract = {}
    for c in contracts:
        procs[c.request_id].contracts[c.id] = c
        by_contract[c.id] = procs[c.request_id]
        org_ids.update((c.buyer_org_id, c.agency_org_id))
    cids = list(by_contract)
    for ev in _events(session, "contracts", cids, CONTRACT_ACTIONS):
        by_contract[int(ev.object_id)].events.append(ev)
    if cids:
        for d in session.execute(sa.select(Delivery).where(Delivery.contract_id.in_(cids))).scalars():
            by_contract[d.contract_id].deliveries[d.contract_id] = d
        for t in session.execute(
                sa.select(ContractTermination).where(ContractTermination.contract_id.in_(cids))).scalars():
            by_contract[t.contract_id].terminations[t.id] = t
        payments = list(session.execute(sa.select(Payment).where(Payment.contract_id.in_(cids))).scalars())
        by_payment = {}
        for pay in payments:
            by_contract[pay.contract_id].payments[pay.id] = pay
            by_payment[pay.id] = by_contract[pay.contract_id]
        for ev in _events(session, "payments", list(by_payment), PAYMENT_ACTIONS):
            by_payment[int(ev.object_id)].events.append(ev)
    if org_ids:
        orgs = {o.id: o for o in session.execute(
            sa.select(Organisation).where(Organisation.id.in_(org_ids))).scalars()}
        for proc in procs.values():
            proc.orgs = orgs
    return [procs[i] for i in ids]


def releases_for(request_id: int, ctx: Context | None = None) -> list[dict] | None:
    """The releases of one request, or None when it is not public (missing or a draft)."""
    ctx = ctx or Context.current()
    procs = load_processes([request_id])
    if not procs:
        return None
    return Builder(ctx, procs[0]).releases()


def _published(releases: list[dict]) -> str:
    return max(r["date"] for r in releases)


def release_package(ctx: Context, ocid: str, releases: list[dict]) -> dict:
    """The release package of one process (its ``publishedDate`` is its latest release's date,
    so the same records always give the same package)."""
    uri = ctx.urls("ocds.release_package", ocid=ocid)
    return {**ctx.package_meta(uri, _published(releases)), "releases": releases}


def record_package(ctx: Context, ocid: str, releases: list[dict]) -> dict:
    """The record package of one process: the releases embedded and the compiled release."""
    uri = ctx.urls("ocds.record_package", ocid=ocid)
    return {
        **ctx.package_meta(uri, _published(releases)),
        "packages": [ctx.urls("ocds.release_package", ocid=ocid)],
        "records": [{"ocid": ocid, "releases": releases, "compiledRelease": compile_releases(releases)}],
    }


def dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def iter_release_packages(ctx: Context | None = None, *, batch: int = BATCH) -> Iterator[dict]:
    """One release package per public request, oldest request first, loaded ``batch`` at a time.

    Reads through its own session (read-only), cleared after each batch so memory stays flat over
    a large export and the caller's session (e.g. the signed-in user) is left alone.
    """
    ctx = ctx or Context.current()
    with Session(db.engine) as session:
        ids = list(session.execute(
            sa.select(PurchaseRequest.id).where(PurchaseRequest.is_public)
            .order_by(PurchaseRequest.id)).scalars())
        for start in range(0, len(ids), batch):
            for proc in load_processes(ids[start:start + batch], session):
                releases = Builder(ctx, proc).releases()
                if releases:
                    yield release_package(ctx, ctx.ocid(proc.req.id), releases)
            session.expunge_all()
        session.rollback()


def iter_bulk_gzip(ctx: Context | None = None) -> Iterator[bytes]:
    """The bulk file, gzip-compressed as it is produced: one release package per line (JSON Lines)."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    for package in iter_release_packages(ctx):
        chunk = compressor.compress((dumps(package) + "\n").encode("utf-8"))
        if chunk:
            yield chunk
    yield compressor.flush()
