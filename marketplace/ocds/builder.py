"""Build the OCDS 1.1 releases of one purchase request from the platform's own records.

A purchase request is one contracting process (ocid = prefix + request id). Its releases are
derived from the public audit events of the request, its contracts and their payments, each event
giving one release whose id carries the event's sequence number, so an export made later gives the
same ids and (the records being append-only) the same content. Each release is a snapshot of what
was public right after its event:

    purchase_request.published         tender                  tender active
    purchase_request.awarded           tenderUpdate, award     tender complete, award pending
    purchase_request.award_passed      awardUpdate             that award cancelled, next pending
    purchase_request.award_finalised   awardUpdate             award active (objection period over)
    purchase_request.failed            tenderUpdate            tender unsuccessful (流标)
    purchase_request.cancelled         tenderCancellation      tender cancelled
    contract.in_force                  contract                contract active
    contract.completed                 implementation, contractUpdate   delivery accepted
    contract.terminated                contractTermination     contract terminated early
    payment.confirmed / .transferred   implementation(Update)  a transaction buyer → agency

Visibility follows the public pages: nothing about bids (who bid, how many, at what price) before
``procurement.services.result_is_public``; contracts only once in force (the contract notices);
drafts are never exported.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from marketplace.core.money import format_fen
from marketplace.core.regions import region_name
from marketplace.core.text import label
from marketplace.procurement.models import BidStatus, SelectionMethod
from marketplace.procurement.selection import strategy_for

SHANGHAI = ZoneInfo("Asia/Shanghai")
LANGUAGE = "zh"
LICENSE_URL = "https://creativecommons.org/licenses/by/4.0/"

REQUEST_ACTIONS = (
    "purchase_request.published", "purchase_request.awarded", "purchase_request.award_passed",
    "purchase_request.award_finalised", "purchase_request.failed", "purchase_request.cancelled",
)
CONTRACT_ACTIONS = ("contract.in_force", "contract.completed", "contract.terminated")
PAYMENT_ACTIONS = ("payment.confirmed", "payment.transferred")

# The method's code in the (open) awardCriteria codelist; direct selection has none that fits.
AWARD_CRITERIA = {
    SelectionMethod.LOWEST_PRICE: "priceOnly",
    SelectionMethod.SCORING: "ratedCriteria",
    SelectionMethod.RANDOM_DRAW: "randomDraw",
}
OPEN_AWARDS = ("pending", "active")


# --- small formatters -----------------------------------------------------------------------


def money(fen: int) -> dict:
    """An OCDS Value: yuan as a JSON number (exact to the fen), currency CNY."""
    amount = fen // 100 if fen % 100 == 0 else fen / 100
    return {"amount": amount, "currency": "CNY"}


def rfc3339(moment: datetime) -> str:
    """Beijing time with its offset, to the second (one format: the strings sort by time)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(SHANGHAI).isoformat(timespec="seconds")


def day_start(day: date) -> str:
    return datetime.combine(day, time(0), tzinfo=SHANGHAI).isoformat(timespec="seconds")


def day_end(day: date) -> str:
    return datetime.combine(day, time(23, 59, 59), tzinfo=SHANGHAI).isoformat(timespec="seconds")


def org_scheme(uscc: str) -> str:
    """The org-id.guide list for a unified social credit code (see docs/ocds.md).

    Codes issued by market regulation (first character 9: companies and other market entities)
    are the register org-id.guide lists as CN-SAIC; codes from the other registration authorities
    (1 government bodies, 5 civil affairs, ...) have no org-id.guide list yet.
    """
    return "CN-SAIC" if uscc.startswith("9") else "CN-USCC"


def party_id(org) -> str:
    return f"{org_scheme(org.uscc)}-{org.uscc}"


def org_ref(org) -> dict:
    return {"id": party_id(org), "name": org.name}


# --- context --------------------------------------------------------------------------------


class Urls:
    """Absolute public URLs under ``PUBLIC_BASE_URL``, built without a request (jobs, exports)."""

    def __init__(self, app):
        base = app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000"
        parts = urlsplit(base.rstrip("/"))
        self.base = base.rstrip("/")
        self._adapter = app.url_map.bind(parts.netloc, script_name=parts.path or "/",
                                         url_scheme=parts.scheme or "https")

    def __call__(self, endpoint: str, **values) -> str:
        return self._adapter.build(endpoint, values, force_external=True)


@dataclass
class Context:
    """What every release of an export shares."""

    prefix: str
    urls: Urls
    publisher_name: str

    @classmethod
    def current(cls) -> Context:
        app = current_app._get_current_object()
        with force_locale("zh_CN"):
            name = _("Online Intermediary Service Marketplace")
        return cls(prefix=app.config["OCDS_OCID_PREFIX"], urls=Urls(app), publisher_name=name)

    def ocid(self, request_id: int) -> str:
        return f"{self.prefix}{request_id}"

    def request_id(self, ocid: str) -> int | None:
        """The request id an ocid names, or None when it is not one of ours."""
        if not ocid.startswith(self.prefix):
            return None
        rest = ocid[len(self.prefix):]
        if not re.fullmatch(r"[1-9][0-9]{0,9}", rest) or int(rest) > 2**31 - 1:
            return None
        return int(rest)

    def package_meta(self, uri: str, published: str) -> dict:
        return {
            "uri": uri,
            "version": "1.1",
            "publishedDate": published,
            "publisher": {"name": self.publisher_name, "uri": self.urls.base + "/"},
            "license": LICENSE_URL,
            "publicationPolicy": self.urls("ocds.index"),
        }


@dataclass
class Process:
    """Everything one request's releases are built from (loaded in batches by ``services``)."""

    req: object
    events: list = field(default_factory=list)  # AuditEvent of the request, contracts, payments
    bids: list = field(default_factory=list)
    contracts: dict = field(default_factory=dict)  # id → Contract (only those that came into force)
    deliveries: dict = field(default_factory=dict)  # contract id → Delivery
    payments: dict = field(default_factory=dict)  # id → Payment
    terminations: dict = field(default_factory=dict)  # id → ContractTermination
    orgs: dict = field(default_factory=dict)  # id → Organisation


# --- the snapshot state ---------------------------------------------------------------------


@dataclass
class _State:
    tender_status: str = "active"
    results: bool = False
    cancelled_reason: str | None = None
    awards: dict = field(default_factory=dict)  # award id → award
    contracts: dict = field(default_factory=dict)  # contract id (number) → contract
    payer_payee: set = field(default_factory=set)
    has_implementation: bool = False
    last_date: str = ""


def _award_id(bid_id) -> str:
    return f"award-{bid_id}"


def _payload(ev) -> dict:
    try:
        return json.loads(ev.payload or "{}")
    except ValueError:
        return {}


def _at(payload: dict, fallback: datetime | None) -> datetime | None:
    value = payload.get("at")
    if value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    return fallback


class Builder:
    """Turns one :class:`Process` into its releases (call :meth:`releases`)."""

    def __init__(self, ctx: Context, process: Process):
        self.ctx = ctx
        self.p = process
        self.req = process.req
        self.ocid = ctx.ocid(self.req.id)
        self._cache: dict = {}  # parts that are the same in every snapshot of this process

    # -- public pieces that do not change after publication --

    def _urls(self) -> dict:
        if "urls" in self._cache:
            return self._cache["urls"]
        rid = self.req.id
        self._cache["urls"] = {
            "announcement": self.ctx.urls("procurement.announcement", request_id=rid),
            "result": self.ctx.urls("procurement.result", request_id=rid),
            "result_json": self.ctx.urls("procurement.result_json", request_id=rid),
            "verifier": self.ctx.urls("ocds.verifier"),
        }
        return self._cache["urls"]

    def _org(self, org_id):
        org = self.p.orgs.get(org_id)
        if org is None:
            for candidate in (self.req.enterprise, self.req.approval_case.department, self.req.direct_agency):
                if candidate is not None and candidate.id == org_id:
                    return candidate
        return org

    def _party(self, org, roles: list[str]) -> dict:
        party = {
            "id": party_id(org),
            "name": org.name,
            "identifier": {"scheme": org_scheme(org.uscc), "id": org.uscc, "legalName": org.name},
            "address": {"countryName": "中国"},
            "roles": roles,
        }
        region = region_name(org.region_code)
        if region:
            party["address"]["region"] = region
        return party

    def _items(self) -> list[dict]:
        item = self.req.service_item
        return [{
            "id": "1",
            "description": item.name,
            "classification": {
                "scheme": "X-ZJM-SERVICE-ITEM",
                "id": item.code,
                "description": item.name,
                "uri": self.ctx.urls("catalog.service_item", item_id=item.id),
            },
            "quantity": 1,
        }]

    # -- the selection: what the method is and, once public, how it went --

    def _outcome(self) -> dict:
        return self.req.outcome or {}

    def _criteria_details(self, results: bool) -> str:
        key = ("criteria", results)
        if key not in self._cache:
            self._cache[key] = self._build_criteria_details(results)
        return self._cache[key]

    def _build_criteria_details(self, results: bool) -> str:
        req = self.req
        method = req.selection_method
        lines = [str(strategy_for(method).rule)]
        if method is SelectionMethod.DIRECT and req.direct_agency is not None:
            lines.append(f"{label(_('Agency selected'))}{req.direct_agency.name}")
            lines.append(f"{label(_('Reason'))}{req.direct_reason}")
        elif method is SelectionMethod.SCORING:
            lines.append(_("Weights: price %(p)d %%, committed time %(t)d %%, credit %(c)d %%",
                           p=req.weight_price or 0, t=req.weight_time or 0, c=req.weight_credit or 0))
        elif method is SelectionMethod.RANDOM_DRAW and req.draw_commitment:
            lines.append(f"{label(_('Commitment to the draw seed (SHA-256)'))}{req.draw_commitment}")
            lines.append(f"draw.commitment: {req.draw_commitment}")
        if not results:
            return "\n".join(lines)
        outcome = self._outcome()
        details = outcome.get("details", {})
        urls = self._urls()
        if outcome:
            lines.append(f"{label(_('Valid bids at the deadline'))}{outcome.get('valid_bids')} · "
                         f"{label(_('minimum for this method'))}{outcome.get('minimum')}")
        if method is SelectionMethod.LOWEST_PRICE and details:
            lines.append(_("Abnormally low: at least %(m)d %% below the mean of the other bids, or at least "
                           "%(n)d %% below the next bid.", m=details.get("abnormal_mean_pct", 0),
                           n=details.get("abnormal_next_pct", 0)))
        if method is SelectionMethod.RANDOM_DRAW and details:
            lines.append(f"draw.seed: {details.get('seed')}")
            lines.append(f"draw.bidders: {details.get('list_bytes')}")
            lines.append(f"draw.list_hash: {details.get('list_hash')}")
            for entry in outcome.get("ranking", []):
                lines.append(f"draw.key.{entry['agency_id']}: {entry.get('key')} (rank {entry['rank']})")
            lines.append(f"draw.result_json: {urls['result_json']}")
            lines.append(f"draw.verifier: {urls['verifier']} (python3 verify_draw.py {urls['result_json']})")
        for entry in outcome.get("ranking", []):
            line = _("%(rank)d. %(name)s: %(price)s, %(days)d working days", rank=entry["rank"],
                     name=entry["agency_name"], price=format_fen(entry["price_fen"]), days=entry["days"])
            if method is SelectionMethod.SCORING:
                line += " · " + _("score %(total)s (price %(p)s, time %(t)s, credit %(c)s)",
                                  total=entry.get("total"), p=entry.get("price_score"),
                                  t=entry.get("time_score"), c=entry.get("credit_score"))
            lines.append(line)
        lines.append(f"{label(_('Selection result'))}{urls['result']}")
        return "\n".join(lines)

    def _tenderer_orgs(self) -> list:
        """Who bid, as the result page shows them: the ranking, then the bids found invalid."""
        if "tenderers" not in self._cache:
            self._cache["tenderers"] = self._build_tenderer_orgs()
        return self._cache["tenderers"]

    def _build_tenderer_orgs(self) -> list:
        ranking = self._outcome().get("ranking", [])
        seen, orgs = set(), []
        for entry in ranking:
            if entry["agency_id"] not in seen:
                seen.add(entry["agency_id"])
                orgs.append(entry["agency_id"])
        ranked_bids = {e["bid_id"] for e in ranking}
        for bid in sorted(self.p.bids, key=lambda b: b.id):
            if bid.status is BidStatus.REJECTED and bid.id not in ranked_bids and bid.agency_id not in seen:
                seen.add(bid.agency_id)
                orgs.append(bid.agency_id)
        return [o for o in (self._org(i) for i in orgs) if o is not None]

    # -- one snapshot --

    def _tender(self, st: _State) -> dict:
        req = self.req
        urls = self._urls()
        tender: dict = {
            "id": req.reference,
            "title": req.title,
            "description": req.content,
            "status": st.tender_status,
            "procuringEntity": org_ref(req.enterprise),
            "items": self._items(),
            "procurementMethod": "direct" if req.selection_method is SelectionMethod.DIRECT else "open",
            "procurementMethodDetails": str(req.selection_method.label),
            "mainProcurementCategory": "services",
            "awardCriteriaDetails": self._criteria_details(st.results),
            "submissionMethod": ["electronicSubmission"],
            "tenderPeriod": {"startDate": rfc3339(req.published_at), "endDate": rfc3339(req.bidding_deadline)},
            "documents": [{
                "id": "announcement", "documentType": "tenderNotice",
                "title": f"{_('Purchase announcement')} {req.reference}", "url": urls["announcement"],
                "format": "text/html", "language": LANGUAGE,
            }],
        }
        if req.is_budgeted and req.budget_ceiling_fen is not None:
            tender["value"] = money(req.budget_ceiling_fen)
        elif req.quote_max_fen is not None:
            tender["value"] = money(req.quote_max_fen)
            tender["minValue"] = money(req.quote_min_fen or 0)
        if req.selection_method is SelectionMethod.DIRECT and req.direct_reason:
            tender["procurementMethodRationale"] = req.direct_reason
        criteria = AWARD_CRITERIA.get(req.selection_method)
        if criteria:
            tender["awardCriteria"] = criteria
        if req.required_qualifications:
            tender["eligibilityCriteria"] = f"{label(_('Required qualifications'))}" + "、".join(
                q.name for q in req.required_qualifications)
        if st.results:
            tenderers = self._tenderer_orgs()
            tender["numberOfTenderers"] = len(tenderers)
            tender["tenderers"] = [org_ref(o) for o in tenderers]
            tender["documents"].append({
                "id": "result", "documentType": "evaluationReports", "title": _("Selection result"),
                "url": urls["result"], "format": "text/html", "language": LANGUAGE,
                **({"description": req.failure_reason}
                   if st.tender_status == "unsuccessful" and req.failure_reason else {}),
            })
            tender["documents"].append({
                "id": "result-json", "documentType": "evaluationReports", "title": _("Result JSON"),
                "url": urls["result_json"], "format": "application/json",
            })
        if st.cancelled_reason:
            tender["documents"].append({
                "id": "cancellation", "documentType": "cancellationDetails", "title": _("Cancelled"),
                "description": st.cancelled_reason, "url": urls["announcement"], "format": "text/html",
                "language": LANGUAGE,
            })
        return tender

    def _parties(self, st: _State) -> list[dict]:
        req = self.req
        enterprise = req.enterprise
        buyer_roles = ["buyer", "procuringEntity"] + (["payer"] if st.payer_payee else [])
        buyer = self._party(enterprise, buyer_roles)
        buyer["contactPoint"] = {"name": req.contact_name, "telephone": req.contact_phone}
        parties = [buyer]
        department = req.approval_case.department
        if department is not None and department.id != enterprise.id:
            parties.append(self._party(department, ["interestedParty"]))
        listed = {enterprise.id, department.id if department else None}
        suppliers = {s["id"] for a in st.awards.values() for s in a["suppliers"]}
        payees = {pid for _payer, pid in st.payer_payee}
        orgs = self._tenderer_orgs() if st.results else []
        for org in orgs:
            if org.id in listed:
                continue
            listed.add(org.id)
            pid = party_id(org)
            roles = ["tenderer"] + (["supplier"] if pid in suppliers else []) + (["payee"] if pid in payees else [])
            parties.append(self._party(org, roles))
        return parties

    def _related(self) -> list[dict]:
        prev = self.req.previous_round
        if prev is None or not prev.is_public:
            return []
        return [{
            "id": "previous-round",
            "relationship": ["unsuccessfulProcess"],
            "title": f"{prev.title} ({prev.reference})",
            "scheme": "ocid",
            "identifier": self.ctx.ocid(prev.id),
            "uri": self.ctx.urls("ocds.release_package", ocid=self.ctx.ocid(prev.id)),
        }]

    def _snapshot(self, st: _State, release_id: str, moment: datetime | None, tags: list[str]) -> dict:
        date_str = rfc3339(moment or self.req.published_at)
        if st.last_date and date_str < st.last_date:
            date_str = st.last_date  # releases never go back in time (merge order = date order)
        st.last_date = date_str
        req = self.req
        release = {
            "ocid": self.ocid,
            "id": release_id,
            "date": date_str,
            "tag": tags,
            "initiationType": "tender",
            "language": LANGUAGE,
            "parties": self._parties(st),
            "buyer": org_ref(req.enterprise),
            "tender": self._tender(st),
        }
        related = self._related()
        if related:
            release["relatedProcesses"] = related
        if st.awards:
            release["awards"] = json.loads(json.dumps(list(st.awards.values())))
        if st.contracts:
            release["contracts"] = json.loads(json.dumps(list(st.contracts.values())))
        return release

    # -- the event handlers --

    def _open_awards(self, st: _State) -> list[dict]:
        return [a for a in st.awards.values() if a["status"] in OPEN_AWARDS]

    def _new_award(self, st: _State, bid_id, org_id, price_fen, days, moment) -> None:
        org = self._org(org_id)
        if org is None or bid_id is None or price_fen is None:
            return
        st.awards[_award_id(bid_id)] = {
            "id": _award_id(bid_id),
            "title": f"{_('Selection result')} {self.req.reference}",
            "description": f"{label(_('Committed time'))}" + _("%(n)d working days", n=int(days or 0)),
            "status": "pending",
            "date": rfc3339(moment or self.req.published_at),
            "value": money(int(price_fen)),
            "suppliers": [org_ref(org)],
        }

    def _award_of(self, st: _State, org_id) -> dict | None:
        org = self._org(org_id)
        if org is None:
            return None
        pid = party_id(org)
        for award in reversed(list(st.awards.values())):
            if any(s["id"] == pid for s in award["suppliers"]):
                return award
        return None

    def _on_request(self, st: _State, ev) -> list[str] | None:
        action = ev.action.split(".", 1)[1]
        payload = _payload(ev)
        req = self.req
        if action == "published":
            return ["tender"]
        if action == "awarded":
            st.results = True
            st.tender_status = "complete"
            self._new_award(st, payload.get("bid"), payload.get("winner"), payload.get("price_fen"),
                            payload.get("days"), _at(payload, req.awarded_at))
            return ["tenderUpdate", "award"]
        if action == "award_passed":
            old = self._award_of(st, payload.get("from"))
            if old is not None:
                old["status"] = "cancelled"
            if payload.get("to") is not None:
                self._new_award(st, payload.get("bid"), payload.get("to"), payload.get("price_fen"),
                                payload.get("days"), _at(payload, ev.created_at))
            return ["awardUpdate"]
        if action == "award_finalised":
            for award in self._open_awards(st):
                award["status"] = "active"
            return ["awardUpdate"]
        if action == "failed":
            st.results = True
            st.tender_status = "unsuccessful"
            open_awards = self._open_awards(st)
            for award in open_awards:
                award["status"] = "cancelled"
            return ["tenderUpdate"] + (["awardCancellation"] if open_awards else [])
        if action == "cancelled":
            number = payload.get("contract")
            if number and number in st.contracts:
                return None  # the contract's termination release tells it
            st.results = st.results or req.outcome is not None
            st.tender_status = "cancelled"
            st.cancelled_reason = payload.get("reason") or req.cancel_reason
            open_awards = self._open_awards(st)
            for award in open_awards:
                award["status"] = "cancelled"
            return ["tenderCancellation"] + (["awardCancellation"] if open_awards else [])
        return None

    def _on_contract(self, st: _State, ev, contract) -> tuple[list[str] | None, datetime | None]:
        action = ev.action.split(".", 1)[1]
        number = contract.contract_no
        if action == "in_force":
            award = self._award_of(st, contract.agency_org_id)
            entry = {
                "id": number,
                "awardID": award["id"] if award else _award_id("unknown"),
                "title": _("Service contract %(no)s", no=number),
                "status": "active",
                "value": money(contract.price_fen),
                "dateSigned": rfc3339(contract.in_force_at or ev.created_at),
                "documents": [{
                    "id": "certificate", "documentType": "contractNotice", "title": _("Certificate"),
                    "url": self.ctx.urls("contracts.certificate", contract_no=number),
                    "format": "text/html", "language": LANGUAGE,
                }],
            }
            if contract.effective_date and contract.due_date:
                entry["period"] = {"startDate": day_start(contract.effective_date),
                                   "endDate": day_end(contract.due_date)}
            st.contracts[number] = entry
            return ["contract"], contract.in_force_at
        entry = st.contracts.get(number)
        if entry is None:
            return None, None
        if action == "completed":
            entry["status"] = "terminated"
            delivery = self.p.deliveries.get(contract.id)
            moment = delivery.accepted_at if delivery is not None and delivery.accepted_at else ev.created_at
            milestone = {"id": "acceptance", "title": _("Acceptance of the result"), "type": "delivery",
                         "status": "met", "dateMet": rfc3339(moment)}
            if delivery is not None:
                milestone["dueDate"] = day_end(delivery.due_date)
            entry.setdefault("implementation", {})["milestones"] = [milestone]
            tags = ["implementationUpdate" if st.has_implementation else "implementation", "contractUpdate"]
            st.has_implementation = True
            return tags, moment
        if action == "terminated":
            entry["status"] = "terminated"
            payload = _payload(ev)
            term = self.p.terminations.get(payload.get("termination"))
            reason = payload.get("reason") or ""
            moment = ev.created_at
            if term is not None:
                reason = f"{term.ground.label}: {term.reason}"
                moment = term.decided_at or term.proposed_at or moment
            entry["documents"].append({
                "id": f"termination-{payload.get('termination') or ev.seq}",
                "documentType": "cancellationDetails", "title": _("Terminated"), "description": reason,
                "url": self._urls()["announcement"], "format": "text/html", "language": LANGUAGE,
            })
            return ["contractTermination"], moment
        return None, None

    def _on_payment(self, st: _State, ev, payment) -> tuple[list[str] | None, datetime | None]:
        contract = self.p.contracts.get(payment.contract_id)
        if contract is None or contract.contract_no not in st.contracts:
            return None, None
        buyer, agency = self._org(contract.buyer_org_id), self._org(contract.agency_org_id)
        if buyer is None or agency is None:
            return None, None
        entry = st.contracts[contract.contract_no]
        moment = payment.settled_at or ev.created_at
        paid_on = payment.paid_on
        transaction = {
            "id": f"payment-{payment.id}",
            "source": self.ctx.urls("contracts.certificate", contract_no=contract.contract_no),
            "date": day_start(paid_on) if paid_on else rfc3339(moment),
            "value": money(max(payment.amount_fen - payment.refunded_fen, 0)),
            "payer": org_ref(buyer),
            "payee": org_ref(agency),
        }
        transactions = entry.setdefault("implementation", {}).setdefault("transactions", [])
        if not any(t["id"] == transaction["id"] for t in transactions):
            transactions.append(transaction)
        st.payer_payee.add((party_id(buyer), party_id(agency)))
        tags = ["implementationUpdate" if st.has_implementation else "implementation"]
        st.has_implementation = True
        return tags, moment

    # -- all of it --

    def releases(self) -> list[dict]:
        """The releases of the process, oldest first."""
        with force_locale("zh_CN"):
            return self._releases()

    def _releases(self) -> list[dict]:
        st = _State()
        out: list[dict] = []
        events = sorted(self.p.events, key=lambda e: e.seq)
        payments = self.p.payments
        contracts = self.p.contracts
        if not any(e.action == "purchase_request.published" for e in events):
            # A request made public without its publication on record (older data): one tender
            # release from the row itself, so the process is never missing.
            out.append(self._snapshot(st, f"{self.ocid}-published", self.req.published_at, ["tender"]))
        for ev in events:
            tags, moment = None, None
            if ev.object_type == "purchase_requests":
                tags = self._on_request(st, ev)
                payload = _payload(ev)
                if ev.action.endswith(".published"):
                    moment = self.req.published_at
                elif ev.action.endswith((".failed", ".cancelled")):
                    moment = self.req.ended_at or ev.created_at
                else:
                    moment = _at(payload, ev.created_at)
            elif ev.object_type == "contracts":
                contract = contracts.get(int(ev.object_id))
                if contract is not None:
                    tags, moment = self._on_contract(st, ev, contract)
            elif ev.object_type == "payments":
                payment = payments.get(int(ev.object_id))
                if payment is not None:
                    tags, moment = self._on_payment(st, ev, payment)
            if tags:
                out.append(self._snapshot(st, f"{self.ocid}-{ev.seq}", moment or ev.created_at, tags))
        return out


def publishable(req) -> bool:
    """Drafts, and drafts cancelled before publication, are never exported."""
    return req.is_public
