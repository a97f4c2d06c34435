"""The four selection methods, each a strategy behind one interface.

A strategy receives the valid bids as :class:`Candidate` rows and a :class:`SelectionContext`
(everything fixed at publication: the draw seed, the scoring weights, the thresholds), and
returns an :class:`Outcome`: the ranking (first = winner), the public details that explain it,
and the bids the enterprise must decide on before the award. Strategies are pure functions of
their input: no database, no clock, so the same input always gives the same ranking.

The random draw is published so that anyone can recompute it (``docs/verify_draw.py``):

- seed: 32 random bytes, shown as 64 lower-case hex characters; commitment = SHA-256(seed),
  published with the announcement, the seed itself only when bidding closes;
- bidder list: the organisation ids of the eligible bidders, ascending, written as ASCII
  decimals joined by "," (e.g. ``b"3,7,12"``); list hash = SHA-256 of those bytes;
- key of a bidder = SHA-256(seed bytes ‖ list-hash bytes (32) ‖ bidder id as 8-byte unsigned
  big-endian); bidders ranked by key ascending (byte order = hex order), rank 1 wins.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l

from marketplace.procurement.models import SelectionMethod

TWO_PLACES = Decimal("0.01")


def credit_score_for(org_id: int) -> Decimal:
    """An agency's published credit score (0–100) for comprehensive scoring.

    An agency with nothing on its credit record gets what the published formula gives an empty
    record (the market mean the prior is built on), so a newcomer is neither favoured nor punished.
    """
    from marketplace.credit.formula import Aggregates, current_formula, evaluate
    from marketplace.credit.services import credit_score_for as published_score

    score = published_score(org_id)
    if score is None:
        return evaluate(current_formula(), Aggregates()).score
    return Decimal(str(score)).quantize(TWO_PLACES)


@dataclass(frozen=True)
class Candidate:
    """One valid bid as the selection sees it."""

    bid_id: int
    agency_id: int
    agency_name: str
    price_fen: int
    days: int
    final_submitted_at: datetime


@dataclass(frozen=True)
class SelectionContext:
    """What the method needs beyond the bids, all fixed before the deadline."""

    seed_hex: str | None = None
    weights: tuple[int, int, int] | None = None  # price, time, credit (percent, sum 100)
    abnormal_mean_pct: int = 40
    abnormal_next_pct: int = 30
    direct_agency_id: int | None = None
    credit: Callable[[int], Decimal | int] = credit_score_for


@dataclass
class Outcome:
    """The result of a method: ranking (winner first), public details, bids awaiting a decision."""

    method: str
    ranking: list[dict]
    details: dict = field(default_factory=dict)
    flagged: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"method": self.method, "ranking": self.ranking, "details": self.details,
                "flagged": self.flagged}


def _entry(rank: int, c: Candidate, **extra) -> dict:
    return {
        "rank": rank, "bid_id": c.bid_id, "agency_id": c.agency_id, "agency_name": c.agency_name,
        "price_fen": c.price_fen, "days": c.days,
        "final_submitted_at": c.final_submitted_at.isoformat(), **extra,
    }


class SelectionStrategy(ABC):
    """One selection method."""

    method: SelectionMethod
    rule: object  # a lazy translated sentence explaining the method on the result page

    def min_valid_bids(self, config) -> int:
        """How many valid bids the method needs; fewer and the request fails (流标)."""
        return int(config.get("PROCUREMENT_MIN_VALID_BIDS", 2))

    @abstractmethod
    def rank(self, candidates: list[Candidate], ctx: SelectionContext) -> Outcome:
        """Rank the valid bids (winner first)."""


class DirectSelection(SelectionStrategy):
    """直接选取: the enterprise named one listed agency at publication; it confirms with its offer."""

    method = SelectionMethod.DIRECT
    rule = _l(
        "The enterprise named one listed agency when publishing, with the public reason below. "
        "The agency confirmed with its price and time; no other agency could bid."
    )

    def min_valid_bids(self, config) -> int:
        return int(config.get("PROCUREMENT_MIN_VALID_BIDS_DIRECT", 1))

    def rank(self, candidates, ctx):
        chosen = [c for c in candidates if c.agency_id == ctx.direct_agency_id]
        return Outcome(
            self.method.value,
            [_entry(i + 1, c) for i, c in enumerate(chosen[:1])],
            {"direct_agency_id": ctx.direct_agency_id},
        )


def _pct_below(price: int, reference: Decimal) -> str:
    if reference <= 0:
        return "0.0"
    return str(((reference - price) * 100 / reference).quantize(Decimal("0.1"), ROUND_HALF_UP))


class LowestPrice(SelectionStrategy):
    """竞价选取: the lowest price wins; ties by the earlier final submission."""

    method = SelectionMethod.LOWEST_PRICE
    rule = _l(
        "The lowest valid price wins; between equal prices, the bid whose last version was "
        "submitted earlier wins. A price far below the others is flagged as abnormally low and "
        "the enterprise must confirm or reject it, with a reason, before the award."
    )

    def rank(self, candidates, ctx):
        ordered = sorted(candidates, key=lambda c: (c.price_fen, c.final_submitted_at, c.bid_id))
        total = sum(c.price_fen for c in ordered)
        ranking, flagged = [], []
        for i, c in enumerate(ordered):
            others = len(ordered) - 1
            below_mean = below_next = False
            extra = {}
            if others:
                mean_others = Decimal(total - c.price_fen) / others
                # price ≤ (1 − p) × mean, in integers: 100·price·n ≤ (100 − p)·sum
                below_mean = 100 * c.price_fen * others <= (100 - ctx.abnormal_mean_pct) * (total - c.price_fen)
                extra["mean_of_others_fen"] = int(mean_others.quantize(Decimal(1), ROUND_HALF_UP))
                extra["pct_below_mean"] = _pct_below(c.price_fen, mean_others)
            if i + 1 < len(ordered):
                nxt = ordered[i + 1].price_fen
                below_next = 100 * c.price_fen <= (100 - ctx.abnormal_next_pct) * nxt
                extra["next_price_fen"] = nxt
                extra["pct_below_next"] = _pct_below(c.price_fen, Decimal(nxt))
            abnormal = below_mean or below_next
            if abnormal:
                flagged.append(c.bid_id)
            ranking.append(_entry(i + 1, c, abnormal=abnormal, below_mean=below_mean,
                                  below_next=below_next, **extra))
        details = {"abnormal_mean_pct": ctx.abnormal_mean_pct, "abnormal_next_pct": ctx.abnormal_next_pct}
        return Outcome(self.method.value, ranking, details, flagged)


def draw_commitment(seed_hex: str) -> str:
    """SHA-256 of the seed bytes, hex: published before the deadline."""
    return hashlib.sha256(bytes.fromhex(seed_hex)).hexdigest()


def bidder_list_bytes(bidder_ids: list[int]) -> bytes:
    """The frozen bidder list as hashed: ascending ids, ASCII decimals joined by commas."""
    return ",".join(str(i) for i in sorted(bidder_ids)).encode("ascii")


def bidder_list_hash(bidder_ids: list[int]) -> str:
    """SHA-256 of the frozen bidder list, hex."""
    return hashlib.sha256(bidder_list_bytes(bidder_ids)).hexdigest()


def draw_key(seed_hex: str, list_hash_hex: str, bidder_id: int) -> str:
    """SHA-256(seed ‖ list hash ‖ id as 8-byte big-endian), hex: the bidder's place in the draw."""
    data = bytes.fromhex(seed_hex) + bytes.fromhex(list_hash_hex) + int(bidder_id).to_bytes(8, "big")
    return hashlib.sha256(data).hexdigest()


class RandomDraw(SelectionStrategy):
    """随机抽取: a verifiable draw among the eligible bidders (see the module docstring)."""

    method = SelectionMethod.RANDOM_DRAW
    rule = _l(
        "Before the deadline the platform published the SHA-256 commitment of a secret seed. "
        "At the deadline it froze the list of eligible bidders (ascending organisation id) and "
        "published its hash, then revealed the seed. Each bidder's key is "
        "SHA-256(seed ‖ list hash ‖ bidder id); the smallest key wins. Anyone can recompute the "
        "draw with the published verifier script."
    )

    def rank(self, candidates, ctx):
        if not ctx.seed_hex:
            raise ValueError("a random draw needs the seed")
        by_agency = {c.agency_id: c for c in candidates}
        ids = sorted(by_agency)
        list_hash = bidder_list_hash(ids)
        keyed = sorted((draw_key(ctx.seed_hex, list_hash, i), i) for i in ids)
        ranking = [_entry(n + 1, by_agency[i], key=key) for n, (key, i) in enumerate(keyed)]
        details = {
            "seed": ctx.seed_hex,
            "commitment": draw_commitment(ctx.seed_hex),
            "bidders": ids,
            "list_bytes": bidder_list_bytes(ids).decode("ascii"),
            "list_hash": list_hash,
        }
        return Outcome(self.method.value, ranking, details)


def _q(value: Decimal) -> Decimal:
    return value.quantize(TWO_PLACES, ROUND_HALF_UP)


class ComprehensiveScoring(SelectionStrategy):
    """综合评分: weighted price, time and credit scores, the weights fixed at publication."""

    method = SelectionMethod.SCORING
    rule = _l(
        "Each bid scores out of 100 on price (lowest price ÷ its price × 100), time (fewest "
        "committed working days ÷ its days × 100) and credit (the agency's credit score). "
        "The total is the weighted sum with the weights published in the announcement; the "
        "highest total wins, then the lower price, then the earlier final submission."
    )

    def rank(self, candidates, ctx):
        if not ctx.weights:
            raise ValueError("comprehensive scoring needs weights")
        wp, wt, wc = ctx.weights
        if not candidates:
            return Outcome(self.method.value, [], {"weights": {"price": wp, "time": wt, "credit": wc}})
        low_price = min(c.price_fen for c in candidates)
        low_days = min(c.days for c in candidates)
        scored = []
        for c in candidates:
            price_score = _q(Decimal(low_price) * 100 / Decimal(c.price_fen))
            time_score = _q(Decimal(low_days) * 100 / Decimal(c.days))
            credit = _q(min(max(Decimal(str(ctx.credit(c.agency_id))), Decimal(0)), Decimal(100)))
            total = _q((wp * price_score + wt * time_score + wc * credit) / 100)
            scored.append((c, price_score, time_score, credit, total))
        scored.sort(key=lambda s: (-s[4], s[0].price_fen, s[0].final_submitted_at, s[0].bid_id))
        ranking = [
            _entry(n + 1, c, price_score=str(ps), time_score=str(ts), credit_score=str(cs), total=str(t))
            for n, (c, ps, ts, cs, t) in enumerate(scored)
        ]
        details = {"weights": {"price": wp, "time": wt, "credit": wc},
                   "lowest_price_fen": low_price, "fewest_days": low_days}
        return Outcome(self.method.value, ranking, details)


STRATEGIES: dict[SelectionMethod, SelectionStrategy] = {
    s.method: s for s in (DirectSelection(), LowestPrice(), RandomDraw(), ComprehensiveScoring())
}


def strategy_for(method: SelectionMethod | str) -> SelectionStrategy:
    """The strategy implementing ``method``."""
    return STRATEGIES[SelectionMethod(method)]
