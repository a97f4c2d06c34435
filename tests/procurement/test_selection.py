"""The four selection strategies as pure functions of their input."""

import hashlib
import importlib.util
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from marketplace.procurement.models import SelectionMethod
from marketplace.procurement.selection import (
    STRATEGIES,
    Candidate,
    SelectionContext,
    bidder_list_hash,
    credit_score_for,
    draw_commitment,
    strategy_for,
)

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def cand(bid_id, price, days=10, agency=None, minutes=0):
    return Candidate(bid_id, agency or bid_id + 100, f"agency {bid_id}", price, days, T0 + timedelta(minutes=minutes))


def load_verifier():
    path = Path(__file__).resolve().parents[2] / "docs" / "verify_draw.py"
    spec = importlib.util.spec_from_file_location("verify_draw", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_method_has_a_strategy():
    assert set(STRATEGIES) == set(SelectionMethod)
    assert {strategy_for(m).min_valid_bids({}) for m in SelectionMethod} == {1, 2}
    assert strategy_for("direct").min_valid_bids({"PROCUREMENT_MIN_VALID_BIDS_DIRECT": 1}) == 1
    assert strategy_for("lowest_price").min_valid_bids({"PROCUREMENT_MIN_VALID_BIDS": 3}) == 3


def test_lowest_price_wins_and_ties_go_to_the_earlier_final_submission():
    out = strategy_for("lowest_price").rank(
        [cand(1, 900), cand(2, 800, minutes=5), cand(3, 800, minutes=2), cand(4, 1000)], SelectionContext()
    )
    assert [e["bid_id"] for e in out.ranking] == [3, 2, 1, 4]
    assert out.flagged == []


def test_abnormally_low_below_the_mean_of_the_others():
    # others 1000, 1000, 1000 → mean 1000; 600 is exactly 40 % below it
    out = strategy_for("lowest_price").rank(
        [cand(1, 600), cand(2, 1000), cand(3, 1000), cand(4, 1000)],
        SelectionContext(abnormal_mean_pct=40, abnormal_next_pct=50),
    )
    assert out.flagged == [1]
    assert out.ranking[0]["below_mean"] and not out.ranking[0]["below_next"]
    assert out.ranking[0]["pct_below_mean"] == "40.0"
    out = strategy_for("lowest_price").rank(
        [cand(1, 601), cand(2, 1000), cand(3, 1000), cand(4, 1000)],
        SelectionContext(abnormal_mean_pct=40, abnormal_next_pct=50),
    )
    assert out.flagged == []


def test_abnormally_low_below_the_next_bid():
    # 700 is 30 % below 1000 (the next); the mean of the others (1000, 5000) is far higher anyway
    ctx = SelectionContext(abnormal_mean_pct=90, abnormal_next_pct=30)
    out = strategy_for("lowest_price").rank([cand(1, 700), cand(2, 1000), cand(3, 1100)], ctx)
    assert out.flagged == [1] and out.ranking[0]["below_next"]
    out = strategy_for("lowest_price").rank([cand(1, 701), cand(2, 1000), cand(3, 1100)], ctx)
    assert out.flagged == []


def test_thresholds_are_configurable():
    bids = [cand(1, 800), cand(2, 1000), cand(3, 1000)]
    assert strategy_for("lowest_price").rank(bids, SelectionContext(abnormal_mean_pct=20)).flagged == [1]
    assert strategy_for("lowest_price").rank(bids, SelectionContext(abnormal_mean_pct=21, abnormal_next_pct=21)).flagged == []


def test_comprehensive_scoring():
    ctx = SelectionContext(weights=(60, 30, 10), credit=lambda org_id: {101: 100, 102: 50}[org_id])
    out = strategy_for("scoring").rank([cand(1, 1000, days=20), cand(2, 800, days=40)], ctx)
    first, second = out.ranking
    # bid 2: price 100, time 50, credit 50 → 60 + 15 + 5 = 80; bid 1: price 80, time 100, credit 100 → 48 + 30 + 10 = 88
    assert first["bid_id"] == 1 and first["total"] == "88.00"
    assert second["bid_id"] == 2 and second["total"] == "80.00"
    assert Decimal(first["price_score"]) == Decimal("80.00")
    assert out.details["weights"] == {"price": 60, "time": 30, "credit": 10}


def test_scoring_ties_go_to_the_lower_price():
    ctx = SelectionContext(weights=(0, 0, 100), credit=lambda org_id: 80)
    out = strategy_for("scoring").rank([cand(1, 1000), cand(2, 900)], ctx)
    assert [e["bid_id"] for e in out.ranking] == [2, 1]


def test_scoring_takes_the_published_credit_score(db):
    from marketplace.credit.formula import Aggregates, current_formula, evaluate
    from marketplace.credit.services import record_credit_input
    from tests.factories import AgencyFactory

    newcomer, rated = AgencyFactory(), AgencyFactory()
    db.session.flush()
    record_credit_input(rated.id, "rating_enterprise", value=5)
    record_credit_input(rated.id, "rating_enterprise", value=5)
    empty_record = evaluate(current_formula(), Aggregates()).score
    assert credit_score_for(newcomer.id) == empty_record
    assert credit_score_for(rated.id) > empty_record

    # same price and time: the agency with the better credit record ranks first
    out = strategy_for("scoring").rank(
        [cand(1, 500, agency=newcomer.id), cand(2, 500, agency=rated.id)],
        SelectionContext(weights=(60, 20, 20), credit=credit_score_for))
    assert [e["agency_id"] for e in out.ranking] == [rated.id, newcomer.id]
    assert out.ranking[0]["credit_score"] == str(credit_score_for(rated.id))


def test_direct_selection_ranks_only_the_named_agency():
    out = strategy_for("direct").rank([cand(1, 500, agency=7), cand(2, 400, agency=8)],
                                      SelectionContext(direct_agency_id=7))
    assert [e["agency_id"] for e in out.ranking] == [7]


def test_random_draw_follows_the_published_algorithm_byte_for_byte():
    seed = "00" * 31 + "2a"
    ids = [12, 3, 7]
    out = strategy_for("random_draw").rank([cand(i, 100, agency=a) for i, a in enumerate(ids)],
                                           SelectionContext(seed_hex=seed))
    assert out.details["bidders"] == [3, 7, 12]
    assert out.details["list_bytes"] == "3,7,12"
    lh = hashlib.sha256(b"3,7,12").hexdigest()
    assert out.details["list_hash"] == lh == bidder_list_hash(ids)
    assert draw_commitment(seed) == hashlib.sha256(bytes.fromhex(seed)).hexdigest()
    expected = sorted(
        (hashlib.sha256(bytes.fromhex(seed) + bytes.fromhex(lh) + i.to_bytes(8, "big")).hexdigest(), i)
        for i in (3, 7, 12)
    )
    assert [(e["key"], e["agency_id"]) for e in out.ranking] == expected
    verifier = load_verifier()
    assert [(r, b, k) for r, b, k in verifier.ranking(seed, ids)] == [
        (e["rank"], e["agency_id"], e["key"]) for e in out.ranking
    ]


@pytest.mark.parametrize("n", [1, 2, 5, 17])
def test_random_draw_agrees_with_the_verifier_for_random_seeds(n):
    import secrets

    verifier = load_verifier()
    seed = secrets.token_hex(32)
    agencies = sorted({secrets.randbelow(10**6) + 1 for _ in range(n)})
    out = strategy_for("random_draw").rank([cand(i, 100, agency=a) for i, a in enumerate(agencies)],
                                           SelectionContext(seed_hex=seed))
    assert verifier.ranking(seed, agencies) == [(e["rank"], e["agency_id"], e["key"]) for e in out.ranking]
    assert verifier.commitment(seed) == draw_commitment(seed)
