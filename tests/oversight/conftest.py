"""Oversight test helpers: requests at every stage on known dates, and a reader for the tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from marketplace.contracts.models import Contract, ContractStatus
from marketplace.delivery.models import Delivery, DeliveryStatus
from marketplace.extensions import db as _db
from marketplace.procurement.models import RequestStatus, SelectionMethod
from tests.factories import AgencyFactory, GovernmentFactory, RegulatorFactory
from tests.factories.procurement import ApprovalCaseFactory, PurchaseRequestFactory


def at(day: date, hour: int = 10) -> datetime:
    """``hour`` o'clock on ``day`` in Shanghai, as aware UTC."""
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC) - timedelta(hours=8)


METHOD_FIELDS = {
    SelectionMethod.LOWEST_PRICE: {},
    SelectionMethod.SCORING: {"weight_price": 50, "weight_time": 30, "weight_credit": 20},
    SelectionMethod.RANDOM_DRAW: {"draw_commitment": "0" * 64},
    SelectionMethod.DIRECT: {"direct_reason": "唯一具备资质的机构"},
}


def make_request(item, *, published: date | None, department=None, region: str = "530102",
                 method: SelectionMethod = SelectionMethod.LOWEST_PRICE,
                 status: RequestStatus = RequestStatus.PUBLISHED, budget_fen: int = 10_000_000, **kwargs):
    """A request for ``item`` at ``department``'s case, published on ``published`` (China day)."""
    case = ApprovalCaseFactory(service_items=[item], department=department or GovernmentFactory())
    fields = {**METHOD_FIELDS[method], **kwargs}
    if method is SelectionMethod.DIRECT and "direct_agency" not in fields:
        fields["direct_agency"] = AgencyFactory()
    fields.setdefault("published_at", at(published) if published else None)
    return PurchaseRequestFactory(
        approval_case=case, region_code=region, selection_method=method, status=status,
        budget_ceiling_fen=budget_fen, **fields,
    )


def make_failed(item, *, published: date, failed: date, **kwargs):
    """A request that failed (流标) on ``failed``."""
    return make_request(item, published=published, status=RequestStatus.FAILED,
                        failure_reason="有效报价不足三家", ended_at=at(failed, 17), **kwargs)


def make_awarded(item, *, published: date, awarded: date, price_fen: int, agency=None,
                 status: RequestStatus = RequestStatus.AWARDED, **kwargs):
    """A request awarded on ``awarded`` at ``price_fen``."""
    return make_request(
        item, published=published, status=status, awarded_org=agency or AgencyFactory(),
        awarded_price_fen=price_fen, awarded_days=20, awarded_at=at(awarded, 11),
        objection_deadline=at(awarded + timedelta(days=7), 17), **kwargs,
    )


def make_accepted(item, *, published: date, awarded: date, price_fen: int, signed: date,
                  accepted: date, overrun_days: int = 0, **kwargs):
    """A request carried through: contract in force on ``signed``, delivery accepted on ``accepted``."""
    req = make_awarded(item, published=published, awarded=awarded, price_fen=price_fen,
                       status=RequestStatus.ACCEPTED, **kwargs)
    contract = Contract(
        contract_no=f"HT-TEST-{req.id:06d}", request_id=req.id, buyer_org_id=req.enterprise_id,
        agency_org_id=req.awarded_org_id, price_fen=price_fen, working_days=20,
        status=ContractStatus.COMPLETED, signing_deadline=at(signed, 17), effective_date=signed,
        due_date=signed + timedelta(days=28), in_force_at=at(signed, 15),
    )
    _db.session.add(contract)
    _db.session.flush()
    _db.session.add(Delivery(
        contract_id=contract.id, approval_case_id=req.approval_case_id, buyer_org_id=req.enterprise_id,
        agency_org_id=req.awarded_org_id, status=DeliveryStatus.ACCEPTED,
        original_due_date=contract.due_date, due_date=contract.due_date, overrun_days=overrun_days,
        accepted_version=1, accepted_at=at(accepted, 16),
    ))
    _db.session.flush()
    return req


class _Tables(HTMLParser):
    """Collects the text of each row of every <table id="..."> on a page."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table = None
        self._row = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id"):
            self._table = attrs["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def tables_of(html: str) -> dict[str, list[list[str]]]:
    """table id → rows (header row first), each a list of cell texts."""
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def rows_by_first_cell(table: list[list[str]]) -> dict[str, list[str]]:
    """The body rows of a table keyed by their first cell."""
    return {row[0]: row[1:] for row in table[1:]}


class SqlCounter:
    """Counts the SQL statements sent while it is active."""

    def __init__(self, engine):
        self.engine = engine
        self.count = 0
        self.statements: list[str] = []

    def _on_execute(self, conn, cursor, statement, parameters, context, executemany):
        self.count += 1
        self.statements.append(statement)

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._on_execute)


@pytest.fixture
def regulator(db):
    return RegulatorFactory()


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the English messages (the Chinese UI has its own tests)."""
