"""The figures of the oversight dashboard, each computed by a fixed number of aggregate queries.

Every chart is a ``Chart``: a title, how its figures are defined, the columns and rows of its
table (which is also its CSV export) and the data its ECharts drawing needs. The number of SQL
statements of the whole page does not depend on how many requests, contracts or agencies there
are: figures are GROUP BY queries; only the working-day averages read (date, date) pairs, and
those are counted on one calendar load.

Filters: a region (a province or city code includes its districts), the approving department of
the approval case, the service item, and a period of China-time calendar days. The period
applies to the flow figures, each by the date of its own event (publication, failure, award,
contract, acceptance); the market size, credit grades and open cases are as of today.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from marketplace.accounts.models import Organisation, OrgKind
from marketplace.agencies.models import Listing, ListingStatus
from marketplace.catalog.models import ServiceItem
from marketplace.complaints.models import (
    OPEN_COMPLAINT_STATUSES,
    OPEN_OBJECTION_STATUSES,
    Complaint,
    ComplaintStatus,
    Objection,
    ObjectionStatus,
)
from marketplace.contracts.models import Contract
from marketplace.core.csvsafe import to_csv
from marketplace.credit.formula import GRADES
from marketplace.credit.models import CreditScore
from marketplace.delivery.models import Delivery, DeliveryStatus
from marketplace.extensions import db
from marketplace.procurement.models import (
    AWARDED_STATUSES,
    ApprovalCase,
    PurchaseRequest,
    RequestStatus,
    SelectionMethod,
)
from marketplace.sanctions.models import OPEN_STATUSES, SanctionCase
from marketplace.workdays.services import working_days_spans

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_MONTHS = 12
MAX_PERIOD_DAYS = 3660  # ten years: at most 121 months on the monthly chart
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)
OPEN_CASES_LIMIT = 200
ONE_DECIMAL = Decimal("0.1")

# Page order: full-width panels first and last, half-width ones in pairs between.
CHART_KEYS = ("monthly", "overview", "durations", "on_time", "methods", "prices", "grades",
              "open_cases")
WIDE_CHARTS = frozenset({"monthly", "prices"})


# --- filters and periods --------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What the dashboard is restricted to (already validated by the form)."""

    start: date
    end: date
    region: str = ""
    department_id: int | None = None
    service_item_id: int | None = None

    def as_args(self) -> dict:
        """The GET parameters that select these filters again (for the CSV links)."""
        args = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        if self.region:
            args["region"] = self.region
        if self.department_id:
            args["department"] = self.department_id
        if self.service_item_id:
            args["item"] = self.service_item_id
        return args


def china_today(now: datetime | None = None) -> date:
    """Today's date in China."""
    return (now or datetime.now(UTC)).astimezone(SHANGHAI).date()


def default_period(today: date) -> tuple[date, date]:
    """The last twelve calendar months, this one included: (first day, today)."""
    month_index = today.year * 12 + today.month - 1 - (DEFAULT_MONTHS - 1)
    return date(month_index // 12, month_index % 12 + 1, 1), today


def _utc_bounds(filters: Filters) -> tuple[datetime, datetime]:
    """The UTC instants of China midnight opening the period and closing it."""
    start = datetime.combine(filters.start, time(), SHANGHAI).astimezone(UTC)
    end = datetime.combine(filters.end + timedelta(days=1), time(), SHANGHAI).astimezone(UTC)
    return start, end


def _in_period(column, filters: Filters):
    start, end = _utc_bounds(filters)
    return sa.and_(column >= start, column < end)


def months_of(filters: Filters) -> list[str]:
    """'YYYY-MM' of every month the period touches."""
    months, year, month = [], filters.start.year, filters.start.month
    while (year, month) <= (filters.end.year, filters.end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def region_clause(column, code: str):
    """``column`` lies in region ``code``: a province (xx0000) or city (xxxx00) covers its parts."""
    if code.endswith("0000"):
        return column.like(code[:2] + "%")
    if code.endswith("00"):
        return column.like(code[:4] + "%")
    return column == code


class ChinaMonth(FunctionElement):
    """'YYYY-MM' of a UTC timestamp column in China time (UTC+8 all year, no daylight saving)."""

    type = sa.String()
    name = "china_month"
    inherit_cache = True


@compiles(ChinaMonth)
def _china_month_sqlite(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    return f"strftime('%Y-%m', {column}, '+8 hours')"


@compiles(ChinaMonth, "postgresql")
def _china_month_postgresql(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    return f"to_char({column} + interval '8 hours', 'YYYY-MM')"


def _request_clauses(filters: Filters) -> list:
    """Region, department and service item, as conditions on ``PurchaseRequest``."""
    clauses = []
    if filters.region:
        clauses.append(region_clause(PurchaseRequest.region_code, filters.region))
    if filters.department_id:
        clauses.append(PurchaseRequest.approval_case_id.in_(
            sa.select(ApprovalCase.id).where(ApprovalCase.department_id == filters.department_id)
        ))
    if filters.service_item_id:
        clauses.append(PurchaseRequest.service_item_id == filters.service_item_id)
    return clauses


def _agency_clauses(filters: Filters) -> list:
    """Region and service item, as conditions on agency ``Organisation`` rows."""
    clauses = [Organisation.kind == OrgKind.AGENCY]
    if filters.region:
        clauses.append(region_clause(Organisation.region_code, filters.region))
    if filters.service_item_id:
        clauses.append(Organisation.id.in_(
            sa.select(Listing.organisation_id).where(
                Listing.service_item_id == filters.service_item_id,
                Listing.status == ListingStatus.PUBLISHED,
            )
        ))
    return clauses


# --- figures --------------------------------------------------------------------------------


def percent(part: int, whole: int) -> Decimal | None:
    """``part`` as a percentage of ``whole`` to one decimal; None when there is no whole."""
    if not whole:
        return None
    return (Decimal(part * 100) / Decimal(whole)).quantize(ONE_DECIMAL, ROUND_HALF_UP)


def average(total, count: int) -> Decimal | None:
    """``total / count`` to one decimal; None when nothing was counted."""
    if not count:
        return None
    return (Decimal(total) / Decimal(count)).quantize(ONE_DECIMAL, ROUND_HALF_UP)


def average_fen(total, count: int) -> int | None:
    """An average amount, rounded to the fen."""
    if not count:
        return None
    return int((Decimal(total) / Decimal(count)).quantize(Decimal(1), ROUND_HALF_UP))


@dataclass(frozen=True)
class Column:
    """One column of a chart's table: its heading and how its values are shown."""

    label: str
    kind: str = "int"  # text | int | money (fen) | pct | days


@dataclass
class Chart:
    """One panel: title, definition, table rows and the drawing's data."""

    key: str
    title: str
    note: str
    columns: list[Column]
    rows: list[list] = field(default_factory=list)
    spec: dict | None = None  # what static/js/oversight.js draws; None: a table only
    footer: list | None = None  # a total row, shown under the others
    links: list | None = None  # per row: (endpoint, arguments) of the first cell's page, or None

    @property
    def is_empty(self) -> bool:
        return not self.rows

    @property
    def is_wide(self) -> bool:
        return self.key in WIDE_CHARTS

    @property
    def has_drawing(self) -> bool:
        """Whether there is anything to draw (a chart of nothing but zeros says nothing)."""
        return bool(self.spec) and any(v for s in self.spec["series"] for v in s["data"])


def _yuan(fen: int | None) -> float | None:
    return None if fen is None else float(Decimal(fen) / 100)


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def overview_chart(filters: Filters) -> Chart:
    """Agencies, published listings and service items (one query of three counts)."""
    agency = sa.select(sa.func.count(Organisation.id)).where(*_agency_clauses(filters)).scalar_subquery()
    listing_where = [Listing.status == ListingStatus.PUBLISHED]
    if filters.service_item_id:
        listing_where.append(Listing.service_item_id == filters.service_item_id)
    if filters.region:
        listing_where.append(Listing.organisation_id.in_(
            sa.select(Organisation.id).where(region_clause(Organisation.region_code, filters.region))
        ))
    listing = sa.select(sa.func.count(Listing.id)).where(*listing_where).scalar_subquery()
    item_where = [ServiceItem.is_active.is_(True)]
    if filters.service_item_id:
        item_where.append(ServiceItem.id == filters.service_item_id)
    item = sa.select(sa.func.count(ServiceItem.id)).where(*item_where).scalar_subquery()
    agencies, listings, items = db.session.execute(sa.select(agency, listing, item)).one()
    labels = [str(_l("Agencies")), str(_l("Published listings")), str(_l("Service items in the catalogue"))]
    values = [agencies, listings, items]
    return Chart(
        "overview", str(_l("Market size")),
        str(_l("Agencies registered (in the region; offering the service item when one is chosen), "
               "listings currently published, and active service items. As of today.")),
        [Column(str(_l("Figure")), "text"), Column(str(_l("Number")))],
        rows=[list(pair) for pair in zip(labels, values, strict=True)],
        spec={"type": "bar", "categories": labels,
              "series": [{"name": str(_l("Number")), "data": values}]},
    )


def _monthly_counts(column, filters: Filters, *extra) -> dict[str, int]:
    month = ChinaMonth(column).label("month")
    rows = db.session.execute(
        sa.select(month, sa.func.count(PurchaseRequest.id))
        .where(_in_period(column, filters), *_request_clauses(filters), *extra)
        .group_by(month)
    ).all()
    return {m: n for m, n in rows}


def _monthly_completed(filters: Filters) -> dict[str, int]:
    month = ChinaMonth(Delivery.accepted_at).label("month")
    rows = db.session.execute(
        sa.select(month, sa.func.count(Delivery.id))
        .join(Contract, Contract.id == Delivery.contract_id)
        .join(PurchaseRequest, PurchaseRequest.id == Contract.request_id)
        .where(Delivery.status == DeliveryStatus.ACCEPTED, _in_period(Delivery.accepted_at, filters),
               *_request_clauses(filters))
        .group_by(month)
    ).all()
    return {m: n for m, n in rows}


def monthly_chart(filters: Filters) -> Chart:
    """Requests published, failed (流标), awarded and completed per month, and the failure rate."""
    published = _monthly_counts(PurchaseRequest.published_at, filters)
    failed = _monthly_counts(PurchaseRequest.ended_at, filters, PurchaseRequest.status == RequestStatus.FAILED)
    awarded = _monthly_counts(PurchaseRequest.awarded_at, filters)
    completed = _monthly_completed(filters)
    months = months_of(filters)
    rows = []
    for m in months:
        p, f, a, c = published.get(m, 0), failed.get(m, 0), awarded.get(m, 0), completed.get(m, 0)
        rows.append([m, p, f, a, c, percent(f, f + a)])
    totals = [sum(r[i] for r in rows) for i in range(1, 5)]
    footer = [str(_l("In total")), *totals, percent(totals[1], totals[1] + totals[2])]
    names = [str(_l("Published")), str(_l("Failed (流标)")), str(_l("Awarded")), str(_l("Completed"))]
    series = [{"name": name, "type": "bar", "data": [r[i + 1] for r in rows]} for i, name in enumerate(names)]
    series.append({"name": str(_l("Failure rate (%)")), "type": "line", "axis": 1,
                   "data": [_num(r[5]) for r in rows]})
    return Chart(
        "monthly", str(_l("Requests per month")),
        str(_l("Each request counts in the month of its publication, failure, award or accepted "
               "delivery (China time). Failure rate = failed ÷ (failed + awarded) in the month; a "
               "re-published round counts again.")),
        [Column(str(_l("Month")), "text"), Column(names[0]), Column(names[1]), Column(names[2]),
         Column(names[3]), Column(str(_l("Failure rate")), "pct")],
        rows=rows, footer=footer,
        spec={"type": "bar", "categories": months, "series": series, "percentAxis": True},
    )


def _china_date(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


def durations_chart(filters: Filters) -> Chart:
    """Average working days from publication to contract and from contract to acceptance."""
    to_contract = db.session.execute(
        sa.select(PurchaseRequest.published_at, Contract.effective_date)
        .join(Contract, Contract.request_id == PurchaseRequest.id)
        .where(Contract.effective_date.is_not(None), PurchaseRequest.published_at.is_not(None),
               Contract.effective_date.between(filters.start, filters.end), *_request_clauses(filters))
    ).all()
    to_acceptance = db.session.execute(
        sa.select(Contract.effective_date, Delivery.accepted_at)
        .join(Delivery, Delivery.contract_id == Contract.id)
        .join(PurchaseRequest, PurchaseRequest.id == Contract.request_id)
        .where(Delivery.status == DeliveryStatus.ACCEPTED, Contract.effective_date.is_not(None),
               _in_period(Delivery.accepted_at, filters), *_request_clauses(filters))
    ).all()
    pairs = [(_china_date(published), signed) for published, signed in to_contract]
    pairs += [(signed, _china_date(accepted)) for signed, accepted in to_acceptance]
    spans = working_days_spans(pairs)
    first, second = spans[:len(to_contract)], spans[len(to_contract):]
    labels = [str(_l("Publication to contract")), str(_l("Contract to acceptance"))]
    rows = [
        [labels[0], len(first), average(sum(first), len(first))],
        [labels[1], len(second), average(sum(second), len(second))],
    ]
    return Chart(
        "durations", str(_l("Average time in working days")),
        str(_l("From the day a request was published to the day its contract came into force (contracts "
               "in force in the period), and from that day to the acceptance of the delivery "
               "(acceptances in the period), on the official working-day calendar.")),
        [Column(str(_l("Stage")), "text"), Column(str(_l("Measured"))),
         Column(str(_l("Average working days")), "days")],
        rows=rows,
        spec={"type": "bar", "categories": labels,
              "series": [{"name": str(_l("Average working days")), "data": [_num(r[2]) for r in rows]}]},
    )


def on_time_chart(filters: Filters) -> Chart:
    """The share of accepted deliveries without an overrun."""
    on_time, total = db.session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(sa.case((Delivery.overrun_days == 0, 1), else_=0)), 0),
            sa.func.count(Delivery.id),
        )
        .join(Contract, Contract.id == Delivery.contract_id)
        .join(PurchaseRequest, PurchaseRequest.id == Contract.request_id)
        .where(Delivery.status == DeliveryStatus.ACCEPTED, _in_period(Delivery.accepted_at, filters),
               *_request_clauses(filters))
    ).one()
    late = total - on_time
    labels = [str(_l("On time")), str(_l("Late"))]
    rows = [[labels[0], on_time, percent(on_time, total)], [labels[1], late, percent(late, total)]]
    return Chart(
        "on_time", str(_l("Deliveries on time")),
        str(_l("Deliveries accepted in the period: on time when accepted without any overrun of the "
               "committed working days.")),
        [Column(str(_l("Delivery outcome")), "text"), Column(str(_l("Accepted deliveries"))), Column(str(_l("Share")), "pct")],
        rows=rows if total else [],
        footer=[str(_l("In total")), total, percent(total, total)] if total else None,
        spec={"type": "pie", "categories": labels,
              "series": [{"name": str(_l("Accepted deliveries")), "data": [on_time, late]}]},
    )


def prices_chart(filters: Filters) -> Chart:
    """Average awarded price against the average budget ceiling, per service item."""
    rows = db.session.execute(
        sa.select(ServiceItem.code, ServiceItem.name, sa.func.count(PurchaseRequest.id),
                  sa.func.sum(PurchaseRequest.awarded_price_fen),
                  sa.func.sum(PurchaseRequest.budget_ceiling_fen))
        .join(ServiceItem, ServiceItem.id == PurchaseRequest.service_item_id)
        .where(PurchaseRequest.status.in_(AWARDED_STATUSES), PurchaseRequest.is_budgeted.is_(True),
               PurchaseRequest.budget_ceiling_fen.is_not(None), PurchaseRequest.awarded_price_fen.is_not(None),
               _in_period(PurchaseRequest.awarded_at, filters), *_request_clauses(filters))
        .group_by(ServiceItem.id, ServiceItem.code, ServiceItem.name)
        .order_by(ServiceItem.code)
    ).all()
    table = [
        [f"{code} {name}", n, average_fen(price, n), average_fen(budget, n), percent(int(price), int(budget))]
        for code, name, n, price, budget in rows
    ]
    return Chart(
        "prices", str(_l("Average price against budget")),
        str(_l("Awarded requests with a budget ceiling, awarded in the period: the average awarded "
               "price, the average ceiling and the price as a share of the ceiling. Requests priced "
               "by a quotation range have no ceiling and are left out.")),
        [Column(str(_l("Service item")), "text"), Column(str(_l("Awards"))),
         Column(str(_l("Average awarded price")), "money"), Column(str(_l("Average budget ceiling")), "money"),
         Column(str(_l("Price ÷ budget")), "pct")],
        rows=table,
        spec={"type": "bar", "categories": [r[0] for r in table], "money": True, "series": [
            {"name": str(_l("Average awarded price (yuan)")), "data": [_yuan(r[2]) for r in table]},
            {"name": str(_l("Average budget ceiling (yuan)")), "data": [_yuan(r[3]) for r in table]},
        ]},
    )


def methods_chart(filters: Filters) -> Chart:
    """How many requests published in the period used each selection method."""
    counts = dict(db.session.execute(
        sa.select(PurchaseRequest.selection_method, sa.func.count(PurchaseRequest.id))
        .where(_in_period(PurchaseRequest.published_at, filters), *_request_clauses(filters))
        .group_by(PurchaseRequest.selection_method)
    ).all())
    total = sum(counts.values())
    rows = [[str(m.label), counts.get(m, 0), percent(counts.get(m, 0), total)] for m in SelectionMethod]
    return Chart(
        "methods", str(_l("Selection methods used")),
        str(_l("Requests published in the period, by the selection method they announced.")),
        [Column(str(_l("Selection method")), "text"), Column(str(_l("Requests"))), Column(str(_l("Share")), "pct")],
        rows=rows if total else [],
        footer=[str(_l("In total")), total, percent(total, total)] if total else None,
        spec={"type": "pie", "categories": [r[0] for r in rows],
              "series": [{"name": str(_l("Requests")), "data": [r[1] for r in rows]}]},
    )


def grades_chart(filters: Filters) -> Chart:
    """How many agencies hold each credit grade today."""
    counts = dict(db.session.execute(
        sa.select(CreditScore.grade, sa.func.count(Organisation.id))
        .select_from(Organisation)
        .outerjoin(CreditScore, CreditScore.organisation_id == Organisation.id)
        .where(*_agency_clauses(filters))
        .group_by(CreditScore.grade)
    ).all())
    total = sum(counts.values())
    labels = [str(_l("Grade %(grade)s", grade=g)) for g in GRADES] + [str(_l("Not yet scored"))]
    values = [counts.get(g, 0) for g in GRADES] + [counts.get(None, 0)]
    rows = [[label, n, percent(n, total)] for label, n in zip(labels, values, strict=True)]
    return Chart(
        "grades", str(_l("Credit grade distribution")),
        str(_l("Agencies (in the region; offering the service item when one is chosen) by their "
               "current credit grade. As of today.")),
        [Column(str(_l("Credit grade")), "text"), Column(str(_l("Agencies"))), Column(str(_l("Share")), "pct")],
        rows=rows if total else [],
        footer=[str(_l("In total")), total, percent(total, total)] if total else None,
        spec={"type": "bar", "categories": labels, "series": [{"name": str(_l("Agencies")), "data": values}]},
    )


# --- open cases -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenCase:
    """One objection, complaint or sanction proposal still waiting, with its deadline."""

    kind: str
    subject: str
    party: str
    status: str
    deadline: date | None
    link: tuple[str, dict] | None = None  # (endpoint, arguments) of the case's page


def open_objections_and_complaints(filters: Filters) -> list[OpenCase]:
    """Open objections and complaints with their current deadline (two queries), each linked to
    its own page."""
    where = [region_clause(PurchaseRequest.region_code, filters.region)] if filters.region else []
    objection_deadline = sa.case(
        (Objection.status == ObjectionStatus.SUBMITTED, Objection.answer_deadline),
        else_=Objection.escalation_deadline,
    )
    objections = db.session.execute(
        sa.select(Objection.id, Objection.status, objection_deadline, PurchaseRequest.id,
                  PurchaseRequest.round_number, PurchaseRequest.title, Organisation.name)
        .join(PurchaseRequest, PurchaseRequest.id == Objection.request_id)
        .join(Organisation, Organisation.id == Objection.objector_org_id)
        .where(Objection.status.in_(OPEN_OBJECTION_STATUSES), *where)
        .limit(OPEN_CASES_LIMIT)
    ).all()
    complaint_deadline = sa.case(
        (Complaint.status == ComplaintStatus.SUBMITTED, Complaint.acceptance_deadline),
        else_=Complaint.decision_deadline,
    )
    complaints = db.session.execute(
        sa.select(Complaint.id, Complaint.status, complaint_deadline, PurchaseRequest.id,
                  PurchaseRequest.round_number, PurchaseRequest.title, Organisation.name)
        .join(PurchaseRequest, PurchaseRequest.id == Complaint.request_id)
        .join(Organisation, Organisation.id == Complaint.complainant_org_id)
        .where(Complaint.status.in_(OPEN_COMPLAINT_STATUSES), *where)
        .limit(OPEN_CASES_LIMIT)
    ).all()
    cases = []
    for kind, rows, endpoint, arg in ((_l("Objection"), objections, "complaints.objection", "objection_id"),
                                      (_l("Complaint"), complaints, "complaints.complaint", "complaint_id")):
        for case_id, status, deadline, request_id, round_number, title, party in rows:
            cases.append(OpenCase(
                str(kind), f"CG{request_id:06d}-{round_number} {title}", party, str(status.label),
                _china_date(deadline) if deadline else None, (endpoint, {arg: case_id}),
            ))
    return cases


def open_sanction_proposals(filters: Filters) -> list[OpenCase]:
    """Sanction proposals not yet decided, earliest response deadline first."""
    where = [SanctionCase.status.in_(OPEN_STATUSES)]
    if filters.region:
        where.append(region_clause(Organisation.region_code, filters.region))
    rows = db.session.execute(
        sa.select(SanctionCase.id, SanctionCase.kind, SanctionCase.status, SanctionCase.response_deadline,
                  Organisation.name)
        .join(Organisation, Organisation.id == SanctionCase.organisation_id)
        .where(*where)
        .order_by(SanctionCase.response_deadline.is_(None), SanctionCase.response_deadline, SanctionCase.id)
        .limit(OPEN_CASES_LIMIT)
    ).all()
    return [
        OpenCase(str(_l("Sanction proposal")), str(kind.label), name, str(status.label), deadline,
                 ("sanctions.manage", {"case_id": case_id}))
        for case_id, kind, status, deadline, name in rows
    ]


def open_cases_chart(filters: Filters) -> Chart:
    """Objections, complaints and sanction proposals still open, earliest deadline first."""
    cases = open_objections_and_complaints(filters) + open_sanction_proposals(filters)
    cases.sort(key=lambda c: (c.deadline is None, c.deadline or LAST_DAY))
    return Chart(
        "open_cases", str(_l("Open objections, complaints and sanction proposals")),
        str(_l("Cases still waiting for a decision, earliest deadline first (in the region when one is "
               "chosen). As of today.")),
        [Column(str(_l("Kind")), "text"), Column(str(_l("Subject")), "text"), Column(str(_l("Party")), "text"),
         Column(str(_l("Status")), "text"), Column(str(_l("Deadline")), "date")],
        rows=[[c.kind, c.subject, c.party, c.status, c.deadline] for c in cases],
        links=[c.link for c in cases],
    )


BUILDERS = {
    "overview": overview_chart,
    "monthly": monthly_chart,
    "durations": durations_chart,
    "on_time": on_time_chart,
    "prices": prices_chart,
    "methods": methods_chart,
    "grades": grades_chart,
    "open_cases": open_cases_chart,
}


def build_chart(key: str, filters: Filters) -> Chart:
    """One chart by its key (a key from ``CHART_KEYS``)."""
    return BUILDERS[key](filters)


def build_dashboard(filters: Filters) -> list[Chart]:
    """Every chart of the dashboard, in page order."""
    return [BUILDERS[key](filters) for key in CHART_KEYS]


# --- filter choices and CSV -----------------------------------------------------------------


def department_choices() -> list[tuple[int, str]]:
    """Departments that own at least one approval case."""
    return [tuple(r) for r in db.session.execute(
        sa.select(Organisation.id, Organisation.name)
        .where(Organisation.id.in_(sa.select(ApprovalCase.department_id)))
        .order_by(Organisation.name, Organisation.id)
    ).all()]


def service_item_choices() -> list[tuple[int, str]]:
    """Every service item of the catalogue, by code."""
    return [(i, f"{code} {name}") for i, code, name in db.session.execute(
        sa.select(ServiceItem.id, ServiceItem.code, ServiceItem.name).order_by(ServiceItem.code)
    ).all()]


def csv_cell(value, kind: str):
    """A table value as written to the CSV file (amounts in yuan, two decimals)."""
    if value is None:
        return ""
    if kind == "money":
        return f"{Decimal(value) / 100:.2f}"
    if kind in ("pct", "days", "date"):
        return str(value)
    return value


def chart_csv(chart: Chart) -> str:
    """The chart's table as a CSV document (cells neutralised against formula injection)."""
    rows = list(chart.rows) + ([chart.footer] if chart.footer else [])
    return to_csv(
        [c.label for c in chart.columns],
        ([csv_cell(v, c.kind) for v, c in zip(row, chart.columns, strict=True)] for row in rows),
    )
