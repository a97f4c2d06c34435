#!/usr/bin/env python3
"""Verify a random draw (随机抽取) published by zhongjie-market. Python 3.8+, standard library only.

Usage:
    python3 verify_draw.py RESULT            # RESULT: a file, an http(s) URL, or - for stdin

RESULT is the JSON of a result page (``/announcements/<id>/result.json``). The script checks
that the revealed seed matches the commitment published with the announcement, recomputes the
hash of the frozen bidder list, recomputes every bidder's key and the ranking, and compares
them with what the platform published. It exits 0 when everything matches and 1 otherwise.

The algorithm, byte for byte:

1. The seed is 32 bytes, published as 64 hexadecimal characters.
   commitment = SHA-256(seed bytes), hex. It is published when the announcement is published,
   before any bid is known; the seed itself only when bidding closes.
2. The bidder list holds the organisation ids of the eligible bidders in ascending order,
   written as ASCII decimal numbers joined by "," with no spaces: ids 3, 7, 12 give the bytes
   ``3,7,12``. list_hash = SHA-256(those bytes), hex.
3. For each bidder id: key = SHA-256(seed bytes ‖ list_hash as 32 raw bytes ‖ id as an 8-byte
   unsigned big-endian integer), hex.
4. Bidders are ranked by key, smallest first (comparing the hex strings or the raw bytes gives
   the same order). Rank 1 is selected; if it refuses or is ineligible, the award passes to
   rank 2, and so on.

A random-inspection plan (双随机、一公开, ``/inspections/<id>.json``) holds two such draws under
``draws``: ``agencies`` and ``inspectors``, each with its own seed and commitment and the frozen
pool in ``bidders``. The first ``sample_size`` ids of each ranking are drawn. Inspectors are
assigned in turn: with k inspectors drawn and m per inspection, the agency at rank r gets the
inspectors at ranks ((r - 1) * m + j) mod k + 1 for j = 0 .. m - 1. The script checks both
draws, the samples and the assignment.
"""

import hashlib
import json
import sys
import urllib.request


def commitment(seed_hex):
    """SHA-256 of the seed bytes, hex."""
    return hashlib.sha256(bytes.fromhex(seed_hex)).hexdigest()


def list_bytes(bidder_ids):
    """The frozen list as hashed: ascending ids, ASCII decimals joined by commas."""
    return ",".join(str(int(i)) for i in sorted(bidder_ids)).encode("ascii")


def list_hash(bidder_ids):
    """SHA-256 of the frozen list, hex."""
    return hashlib.sha256(list_bytes(bidder_ids)).hexdigest()


def key(seed_hex, list_hash_hex, bidder_id):
    """SHA-256(seed ‖ list hash ‖ id as 8-byte big-endian), hex."""
    data = bytes.fromhex(seed_hex) + bytes.fromhex(list_hash_hex) + int(bidder_id).to_bytes(8, "big")
    return hashlib.sha256(data).hexdigest()


def ranking(seed_hex, bidder_ids):
    """[(rank, bidder id, key)], rank 1 first."""
    lh = list_hash(bidder_ids)
    keyed = sorted((key(seed_hex, lh, i), int(i)) for i in set(bidder_ids))
    return [(n + 1, bidder, k) for n, (k, bidder) in enumerate(keyed)]


def verify(result):
    """Problems found in a published result (an empty list when the draw checks out)."""
    draw = result.get("draw")
    if not draw:
        return ["this result has no random draw"]
    problems = []
    seed, bidders = draw.get("seed") or "", draw.get("bidders") or []
    if len(seed) != 64:
        return ["the seed has not been revealed (or is not 32 bytes)"]
    if commitment(seed) != draw.get("commitment"):
        problems.append("the seed does not match the commitment published before the deadline")
    if list(bidders) != sorted(bidders):
        problems.append("the bidder list is not in ascending order")
    if list_hash(bidders) != draw.get("list_hash"):
        problems.append("the bidder list does not match its published hash")
    expected = ranking(seed, bidders)
    published = [(e["rank"], e["bidder_id"], e["key"]) for e in draw.get("ranking", [])]
    if published != expected:
        problems.append("the published ranking differs from the recomputed one")
    return problems


def assigned_ranks(agency_rank, inspector_count, per_check):
    """The inspector ranks (from 1) assigned to the agency at ``agency_rank`` (from 1)."""
    return sorted(((agency_rank - 1) * per_check + j) % inspector_count + 1 for j in range(per_check))


def verify_inspection_plan(plan):
    """Problems found in a published inspection plan (an empty list when everything checks out)."""
    draws = plan.get("draws") or {}
    problems = []
    for name in ("agencies", "inspectors"):
        draw = draws.get(name)
        if not draw:
            problems.append(f"the plan has no {name} draw")
            continue
        problems.extend(f"{name}: {p}" for p in verify({"draw": draw}))
        if len(draw.get("seed") or "") == 64:
            expected = [bidder for _, bidder, _ in ranking(draw["seed"], draw.get("bidders") or [])]
            size = min(int(draw.get("sample_size") or 0), len(expected))
            if draw.get("sample") != expected[:size]:
                problems.append(f"{name}: the sample is not the first {size} of the ranking")
    if problems:
        return problems
    agencies = draws["agencies"]["sample"]
    k = len(draws["inspectors"]["sample"])
    m = int((plan.get("plan") or {}).get("inspectors_per_check") or 0)
    inspections = plan.get("inspections") or []
    if [i.get("agency_id") for i in sorted(inspections, key=lambda i: i.get("rank", 0))] != agencies:
        problems.append("the inspections are not the agencies drawn, in rank order")
    for item in inspections:
        if k and m and item.get("inspector_ranks") != assigned_ranks(item.get("rank", 0), k, m):
            problems.append(f"inspection {item.get('rank')}: the inspectors are not the ones the rule assigns")
    return problems


def _load(source):
    if source == "-":
        return json.load(sys.stdin)
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=30) as response:  # noqa: S310 - user-given URL
            return json.load(response)
    with open(source, encoding="utf-8") as fh:
        return json.load(fh)


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2])
        return 2
    result = _load(argv[1])
    if "draws" in result:
        problems = verify_inspection_plan(result)
        for name, draw in sorted(result["draws"].items()):
            print(name + ":", ", ".join(str(i) for i in draw.get("sample") or []))
        for problem in problems:
            print("MISMATCH:", problem)
        if not problems:
            print("OK: commitments, pools, rankings, samples and assignments all match.")
        return 1 if problems else 0
    draw = result.get("draw") or {}
    if draw.get("seed"):
        for rank, bidder, k in ranking(draw["seed"], draw.get("bidders", [])):
            print(f"{rank:3}  bidder {bidder:>8}  {k}")
    problems = verify(result)
    for problem in problems:
        print("MISMATCH:", problem)
    if not problems:
        print("OK: commitment, bidder list and ranking all match.")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
