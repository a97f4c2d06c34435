"""The OCDS export of purchase requests, read through the public URLs as a data user would."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.contracts import termination
from marketplace.contracts.models import ContractStatus
from marketplace.contracts.services import china_today
from marketplace.delivery import services as delivery
from marketplace.payments import services as payments
from marketplace.procurement import selection
from marketplace.procurement import services as procurement
from marketplace.procurement.jobs import run_procurement_deadlines
from marketplace.procurement.models import RequestStatus, SelectionMethod
from tests.delivery.conftest import make_in_force, upload
from tests.ocds.conftest import (
    bulk_packages,
    check_release,
    check_release_package,
    get_json,
    ocds_merge,
    record_package,
    release_package,
)
from tests.procurement.conftest import make_scenario

PREFIX = "ocds-zjm000-"


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read data, not pages; the English UI keeps messages predictable."""


def ocid(req) -> str:
    return f"{PREFIX}{req.id}"


def party_by_uscc(release: dict, uscc: str) -> dict:
    return next(p for p in release["parties"] if p["identifier"]["id"] == uscc)


def test_lowest_price_request_from_tender_to_payment(db, client):
    f = make_in_force(db)
    req, contract, s = f.req, f.contract, f.s
    after_award = release_package(client, ocid(req))
    check_release_package(after_award, PREFIX)

    work = delivery.open_delivery(contract)
    delivery.submit_result(work, summary="环境影响报告表终稿", files=[upload()], actor=f.agent)
    delivery.accept_delivery(work, version=1, actor=f.owner)
    data = payments.OfflineInput(reference="ICBC-20261203-77", amount_fen=contract.price_fen, paid_on=china_today())
    payments.record_offline_payment(contract, data, actor=f.owner)
    payments.confirm_offline_payment(contract, actor=f.agent)
    db.session.commit()
    assert req.status is RequestStatus.CLOSED

    pkg = release_package(client, ocid(req))
    check_release_package(pkg, PREFIX)
    releases = pkg["releases"]
    assert [r["tag"] for r in releases] == [
        ["tender"], ["tenderUpdate", "award"], ["awardUpdate"], ["contract"],
        ["implementation", "contractUpdate"], ["implementationUpdate"],
    ]
    # The releases published earlier are unchanged: same ids, same content.
    assert releases[:len(after_award["releases"])] == after_award["releases"]

    tender = releases[0]["tender"]
    assert tender["status"] == "active" and tender["id"] == req.reference
    assert tender["value"] == {"amount": 100000, "currency": "CNY"}  # 10,000,000 fen
    assert tender["procurementMethod"] == "open" and tender["awardCriteria"] == "priceOnly"
    assert tender["items"][0]["classification"]["id"] == s.item.code
    assert tender["tenderPeriod"]["endDate"].endswith("+08:00")
    assert "tenderers" not in tender and "awards" not in releases[0]  # nothing about bids yet
    buyer = party_by_uscc(releases[0], s.enterprise.uscc)
    assert set(buyer["roles"]) == {"buyer", "procuringEntity"}
    assert buyer["identifier"] == {"scheme": "CN-SAIC", "id": s.enterprise.uscc, "legalName": s.enterprise.name}
    department = party_by_uscc(releases[0], s.case.department.uscc)
    assert department["roles"] == ["interestedParty"]

    award_release = releases[1]
    assert award_release["tender"]["status"] == "complete"
    assert award_release["tender"]["numberOfTenderers"] == 3
    (award,) = award_release["awards"]
    assert award["status"] == "pending"  # the objection period runs
    assert award["value"] == {"amount": 80000, "currency": "CNY"}
    assert award["suppliers"][0]["id"] == f"CN-SAIC-{s.agencies[1].uscc}"
    assert releases[2]["awards"][0]["status"] == "active"

    signed = releases[3]["contracts"][0]
    assert signed["id"] == contract.contract_no and signed["awardID"] == award["id"]
    assert signed["status"] == "active" and signed["value"] == {"amount": 80000, "currency": "CNY"}
    assert signed["period"]["startDate"].startswith(contract.effective_date.isoformat())

    done = releases[-1]["contracts"][0]
    assert done["status"] == "terminated"  # OCDS: signed, in force, now come to a close
    (milestone,) = done["implementation"]["milestones"]
    assert milestone["status"] == "met" and milestone["type"] == "delivery"
    (paid,) = done["implementation"]["transactions"]
    assert paid["value"] == {"amount": 80000, "currency": "CNY"}
    assert paid["payer"]["id"] == buyer["id"] and paid["payee"]["id"] == award["suppliers"][0]["id"]
    assert "ICBC-20261203-77" not in json.dumps(pkg, ensure_ascii=False)  # the bank reference is private
    assert "payer" in party_by_uscc(releases[-1], s.enterprise.uscc)["roles"]

    # The record: the same releases and a compiled release that is their merge.
    rec = record_package(client, ocid(req))
    (record,) = rec["records"]
    assert record["releases"] == releases
    assert record["compiledRelease"] == ocds_merge(releases)
    check_release(record["compiledRelease"], PREFIX, compiled=True)
    assert record["compiledRelease"]["contracts"][0]["implementation"]["transactions"] == [paid]
    assert rec["packages"] == [pkg["uri"]]

    # A second export gives byte-identical packages (stable ids and content).
    assert client.get(f"/ocds/releases/{ocid(req)}.json").get_data() == \
        client.get(f"/ocds/releases/{ocid(req)}.json").get_data()


def test_random_draw_can_be_recomputed_from_the_award_criteria(db, client):
    s = make_scenario(db, n_agencies=3)
    req = s.published(selection_method=SelectionMethod.RANDOM_DRAW)
    for i, price in enumerate((9_100_000, 9_300_000, 9_200_000)):
        s.bid(req, i, price)
    db.session.commit()

    at_publication = release_package(client, ocid(req))["releases"]
    (tender_release,) = at_publication
    details = tender_release["tender"]["awardCriteriaDetails"]
    assert f"draw.commitment: {req.draw_commitment}" in details
    assert req.draw_seed not in json.dumps(at_publication)  # the seed stays secret until the close

    run_procurement_deadlines(s.after_deadline(req))
    db.session.commit()
    pkg = release_package(client, ocid(req))
    check_release_package(pkg, PREFIX)
    award_release = pkg["releases"][1]
    tender = award_release["tender"]
    assert tender["awardCriteria"] == "randomDraw"
    text = tender["awardCriteriaDetails"]

    def value(key):
        return re.search(rf"^draw\.{re.escape(key)}: (\S+)", text, re.M).group(1)

    seed, commitment = value("seed"), value("commitment")
    bidders = [int(b) for b in value("bidders").split(",")]
    assert selection.draw_commitment(seed) == commitment == req.draw_commitment
    assert sorted(bidders) == sorted(a.id for a in s.agencies)
    list_hash = selection.bidder_list_hash(bidders)
    assert value("list_hash") == list_hash
    keys = {b: selection.draw_key(seed, list_hash, b) for b in bidders}
    for b, key in keys.items():
        assert value(f"key.{b}") == key
    winner_id = min(keys, key=keys.get)
    winner = next(a for a in s.agencies if a.id == winner_id)
    (award,) = award_release["awards"]
    assert award["suppliers"][0]["id"] == f"CN-SAIC-{winner.uscc}"
    assert value("result_json").endswith(f"/announcements/{req.id}/result.json")
    verifier = value("verifier")
    assert verifier.endswith("/ocds/verify_draw.py")
    script = client.get("/ocds/verify_draw.py")
    assert script.status_code == 200 and b"def key(seed_hex" in script.get_data()


def test_a_failed_request_and_its_next_round(db, client):
    s = make_scenario(db)
    req = s.published()
    s.bid(req, 0, 5_000_000)
    run_procurement_deadlines(s.after_deadline(req))
    db.session.commit()
    assert req.status is RequestStatus.FAILED
    pkg = release_package(client, ocid(req))
    check_release_package(pkg, PREFIX)
    last = pkg["releases"][-1]
    assert last["tag"] == ["tenderUpdate"]
    assert last["tender"]["status"] == "unsuccessful"
    assert "awards" not in last
    assert last["tender"]["numberOfTenderers"] == 1
    result_doc = next(d for d in last["tender"]["documents"] if d["id"] == "result")
    assert result_doc["description"] == req.failure_reason

    nxt = procurement.republish_request(req, actor=s.owner, now=s.now)
    db.session.commit()
    assert client.get(f"/ocds/releases/{ocid(nxt)}.json").status_code == 404  # a draft is not exported
    procurement.publish_request(nxt, actor=s.owner, now=s.now)
    db.session.commit()
    (first,) = release_package(client, ocid(nxt))["releases"]
    (related,) = first["relatedProcesses"]
    assert related["relationship"] == ["unsuccessfulProcess"]
    assert related["scheme"] == "ocid" and related["identifier"] == ocid(req)


def test_a_cancelled_request_is_a_tender_cancellation(db, client):
    s = make_scenario(db)
    req = s.published()
    procurement.cancel_request(req, "项目调整，暂停采购", actor=s.owner)
    db.session.commit()
    last = release_package(client, ocid(req))["releases"][-1]
    assert last["tag"] == ["tenderCancellation"] and last["tender"]["status"] == "cancelled"
    doc = next(d for d in last["tender"]["documents"] if d["documentType"] == "cancellationDetails")
    assert doc["description"] == "项目调整，暂停采购"


def test_a_terminated_contract(db, client):
    f = make_in_force(db)
    term = termination.propose_termination(f.contract, reason="甲方项目取消", actor=f.owner)
    termination.answer_termination(term, agree=True, actor=f.agent)
    db.session.commit()
    assert f.contract.status is ContractStatus.TERMINATED
    assert f.req.status is RequestStatus.CANCELLED
    pkg = release_package(client, ocid(f.req))
    check_release_package(pkg, PREFIX)
    last = pkg["releases"][-1]
    assert last["tag"] == ["contractTermination"]
    assert last["tender"]["status"] == "complete"  # the tender succeeded; the contract ended
    assert all("tenderCancellation" not in r["tag"] for r in pkg["releases"])
    (contract,) = last["contracts"]
    assert contract["status"] == "terminated"
    doc = next(d for d in contract["documents"] if d["documentType"] == "cancellationDetails")
    assert "甲方项目取消" in doc["description"]


def test_a_passed_award(db, client):
    s = make_scenario(db)
    req = s.published()
    for i, price in enumerate((9_000_000, 8_000_000, 8_500_000)):
        s.bid(req, i, price)
    run_procurement_deadlines(s.after_deadline(req))
    procurement.pass_award_to_next(req, "中选机构放弃", s.owner)
    db.session.commit()
    pkg = release_package(client, ocid(req))
    check_release_package(pkg, PREFIX)
    last = pkg["releases"][-1]
    assert last["tag"] == ["awardUpdate"]
    first, second = last["awards"]
    assert first["status"] == "cancelled" and second["status"] == "pending"
    assert second["suppliers"][0]["id"].endswith(s.agencies[2].uscc)
    assert second["value"]["amount"] == 85000


def test_a_sealed_price_never_appears_before_the_result_is_public(db, client):
    s = make_scenario(db)
    req = s.published()
    # 37,654.32 yuan, far below the others: flagged as abnormally low, so after the deadline the
    # request waits for the enterprise's decision with the result still not public.
    s.bid(req, 0, 3_765_432)
    s.bid(req, 1, 9_000_000)
    s.bid(req, 2, 9_100_000)
    db.session.commit()
    needles = ("37654.32", "3765432", "37,654.32")

    def exported_text() -> str:
        texts = [client.get(f"/ocds/releases/{ocid(req)}.json").get_data(as_text=True),
                 client.get(f"/ocds/records/{ocid(req)}.json").get_data(as_text=True),
                 bulk_packages(client)[1]]
        return "\n".join(texts)

    text = exported_text()
    assert not any(n in text for n in needles)
    run_procurement_deadlines(s.after_deadline(req))
    db.session.commit()
    assert req.status is RequestStatus.BIDDING_CLOSED and procurement.pending_decisions(req)
    assert not procurement.result_is_public(req)
    text = exported_text()
    assert not any(n in text for n in needles)
    assert "tenderers" not in text and "numberOfTenderers" not in text

    (flagged,) = procurement.pending_decisions(req)
    procurement.decide_abnormal_bid(req, flagged, confirm=True, reason="成本核算合理", actor=s.owner,
                                    now=s.after_deadline(req) + timedelta(minutes=5))
    db.session.commit()
    assert procurement.result_is_public(req)
    assert "37654.32" in exported_text()  # public now, as on the result page


def test_unknown_and_draft_ocids_are_404(db, client):
    s = make_scenario(db)
    draft = s.draft()
    db.session.commit()
    for bad in (ocid(draft), f"{PREFIX}999999", "ocds-other-1", f"{PREFIX}abc", f"{PREFIX}99999999999", f"{PREFIX}01"):
        for kind in ("releases", "records"):
            resp = client.get(f"/ocds/{kind}/{bad}.json")
            assert resp.status_code == 404, bad
            assert resp.get_json()["error"]["code"] == "ocds_not_found"
    packages, _text = bulk_packages(client)
    assert packages == []


def test_caching_headers_and_conditional_get(db, client):
    s = make_scenario(db)
    req = s.published()
    db.session.commit()
    pkg, resp = get_json(client, f"/ocds/releases/{ocid(req)}.json")
    assert "max-age" in resp.headers["Cache-Control"] and resp.headers["ETag"]
    again = client.get(f"/ocds/releases/{ocid(req)}.json", headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304
    bulk = client.get("/ocds/bulk/releases.jsonl.gz")
    assert bulk.mimetype == "application/gzip" and "max-age" in bulk.headers["Cache-Control"]


def test_bulk_export_query_count_does_not_grow_with_the_requests(db, app):
    from marketplace.ocds import services

    def count_queries(n_requests: int) -> int:
        s = make_scenario(db)
        for _ in range(n_requests):
            req = s.published()
            for i, price in enumerate((9_000_000, 8_000_000, 8_500_000)):
                s.bid(req, i, price)
            run_procurement_deadlines(s.after_deadline(req))
            s = make_scenario(db)
        db.session.commit()
        counter = {"n": 0}

        def on_execute(*_args, **_kwargs):
            counter["n"] += 1

        sa.event.listen(db.engine, "before_cursor_execute", on_execute)
        try:
            packages = list(services.iter_release_packages())
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", on_execute)
        assert len(packages) >= n_requests
        return counter["n"]

    few = count_queries(2)
    many = count_queries(6)  # 8 requests in all now
    assert many == few
    assert few <= 15  # one query per kind of row, not per request


def test_direct_selection_and_scoring_describe_their_method(db, client):
    s = make_scenario(db)
    direct = s.published(selection_method=SelectionMethod.DIRECT, direct_agency_id=s.agencies[0].id,
                         direct_reason="该机构承担过本项目前期环评，熟悉现场")
    s.bid(direct, 0, 6_000_000)
    run_procurement_deadlines(s.after_deadline(direct))
    db.session.commit()
    assert direct.status is RequestStatus.AWARDED
    tender = release_package(client, ocid(direct))["releases"][-1]["tender"]
    assert tender["procurementMethod"] == "direct" and "awardCriteria" not in tender
    assert tender["procurementMethodRationale"] == "该机构承担过本项目前期环评，熟悉现场"
    assert s.agencies[0].name in tender["awardCriteriaDetails"]
    # Chinese labels take the Chinese colon
    assert f"直接选取的中介机构：{s.agencies[0].name}" in tender["awardCriteriaDetails"]
    assert "截止时有效报价数：1" in tender["awardCriteriaDetails"]
    assert tender["numberOfTenderers"] == 1

    other = make_scenario(db)
    scored = other.published(selection_method=SelectionMethod.SCORING, weight_price=60, weight_time=30,
                             weight_credit=10)
    for i, (price, days) in enumerate(((9_000_000, 12), (8_000_000, 30), (8_500_000, 20))):
        other.bid(scored, i, price, days)
    run_procurement_deadlines(other.after_deadline(scored))
    db.session.commit()
    pkg = release_package(client, ocid(scored))
    check_release_package(pkg, PREFIX)
    first, awarded = pkg["releases"][0]["tender"], pkg["releases"][-1]["tender"]
    assert awarded["awardCriteria"] == "ratedCriteria"
    assert "60" in first["awardCriteriaDetails"] and "30" in first["awardCriteriaDetails"]
    winner = scored.outcome["ranking"][0]
    # the data is published in Chinese ("language": "zh") whatever the reader's UI language
    assert f"总分 {winner['total']}" in awarded["awardCriteriaDetails"]
