"""bench/pages.py at a tiny scale: the generator's counts, the pages it measures, gunicorn."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import pages  # noqa: E402
import province  # noqa: E402

SCALE = 0.002  # 10 agencies, 200 listings, 40 + 67 purchase requests, 200 ratings


@pytest.fixture
def market(app, db, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "SEARCH_INDEX_DIR", str(tmp_path / "search_index"))
    counts = province.generate(SCALE, progress=lambda _line: None)
    indexed = province.index_search(progress=lambda _line: None)
    return counts, indexed


def test_generator_builds_the_province_and_every_measured_page_shows_it(app, market):
    counts, indexed = market
    n = province.sizes(SCALE)
    seen = province.summary()
    assert seen["agencies"] == n["agencies"] == 10
    assert seen["listings"] == n["listings"] == 200
    assert seen["purchase requests"] == n["requests"] + n["finished"]
    assert seen["ratings"] == n["ratings"] == 200
    assert seen["open for bids"] > 0 and seen["bids"] > seen["purchase requests"]
    # Blacklisted agencies' listings are withdrawn; suspended ones stay published but hidden.
    assert seen["published listings"] < seen["listings"]
    assert 0.6 * seen["listings"] < seen["visible listings"] < seen["published listings"]
    # Two of the three ratings of a contract are about the agency and reach its credit ledger.
    assert seen["credit inputs"] >= 2 * seen["ratings"] // 3
    assert seen["credit scores"] > 0
    assert indexed["listing"] == seen["visible listings"]
    assert indexed["agency"] == n["agencies"] and indexed["announcement"] > 0
    assert counts.rows["ratings"] == 200

    # Every page of the report: HTTP 200 with the generated data on it, SQL counted.
    measured = pages.pick_pages()
    assert {"/", "/agencies", "/announcements", "/blacklist"} <= {p.path for p in measured}
    statements = pages.check_in_process(app, measured)
    assert set(statements) == {p.path for p in measured}
    assert all(count > 0 for path, count in statements.items() if path != "/")

    # A page that is not 200, or 200 without the data, stops the run.
    with pytest.raises(pages.BenchFailure, match="HTTP 404"):
        pages.check_in_process(app, [pages.Page("missing", "/listings/999999")])
    with pytest.raises(pages.BenchFailure, match="not on the page"):
        pages.check_in_process(app, [pages.Page("home", "/", ["no such agency name"])])


def test_gunicorn_serves_the_app_and_hello(app, db):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    env = {
        "BENCH_DATABASE_URL": url,
        "BENCH_INSTANCE": app.instance_path,
        "BENCH_SEARCH_BACKEND": "whoosh",
    }
    # One worker each: what is tested is that gunicorn loads both targets and the loop measures.
    hello = pages.Server("pages:hello_app()", {}, workers=1)
    server = pages.Server("pages:bench_app()", env, workers=1)
    try:
        hello.wait("/")
        server.wait("/healthz")
        assert pages.load(hello.port, "/", duration=0.3, concurrency=2).requests > 0
        agencies = pages.load(server.port, "/agencies", duration=0.3, concurrency=2)
        assert agencies.requests > 0 and agencies.pct(0.95) >= agencies.pct(0.5) > 0
        with pytest.raises(pages.BenchFailure, match="HTTP 404"):
            pages.load(server.port, "/listings/999999", duration=0.1, concurrency=1)
    finally:
        server.stop()
        hello.stop()
