"""Benchmark: the public pages of a province-sized market under gunicorn, against a bare Flask app.

Usage: .venv/bin/python bench/pages.py [--db sqlite:///PATH | postgresql://...] [--scale 1]
       [--duration 6] [--concurrency 4] [--json FILE] [--reuse]

One run: empties the database (SQLite file or PostgreSQL schema ``public``), applies the
migrations, builds the province with bulk inserts (``bench/province.py``: 5,000 agencies,
100,000 listings, 20,000 purchase requests with bids, 100,000 ratings and their credit ledger at
``--scale 1``), indexes it through the app's own search documents, store and back-end
(``province.index_search``: what ``reindex_all`` does, in batches), then

1. requests every page once in-process with the Flask test client, checks HTTP 200 and that the
   generated data shows (agency names, offers, hits), and counts the SQL statements of the
   second request of each page (a ``before_cursor_execute`` listener);
2. starts gunicorn (2 sync workers) for the app and, with the same settings, for a bare Flask
   "hello" app, and drives each page with ``--concurrency`` threads for ``--duration`` seconds
   (plain ``http.client``, a new connection per request, as sync workers close them);
3. prints a Markdown table: requests per second, the ratio to hello (measured before and after
   the pages; their mean), p50/p95 latency and SQL statements per page. Any status but 200
   stops the run: a fast 404 or 500 would fake a good ratio.

The app runs with production settings (``ProductionConfig``) less what needs other services:
no Redis (rate limits in memory, per worker), plain HTTP on the loopback (``FORCE_HTTPS`` off),
and keys generated under a throw-away instance folder.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

GUNICORN_WORKERS = 2
# Chinese queries and what must be among their hits: listings for two, any hit for a broad one.
SEARCHES = [
    ("环境影响评价", 'data-key="listing:'),
    ("昆明 测绘", 'data-key="listing:'),
    ("地质灾害 评估", 'class="mb-4 search-hit"'),
]


class BenchFailure(RuntimeError):
    """A page did not answer 200 with the generated data on it: the figures would lie."""


# --- the app under test, as gunicorn loads it ----------------------------------------------------


def _sqlalchemy_url(url: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def bench_config(db_url: str, instance: str, search_backend: str = "whoosh"):
    """Production settings, runnable on one machine without Redis or TLS."""
    from config import ProductionConfig

    class BenchConfig(ProductionConfig):
        SECRET_KEY = "bench-pages-not-secret"  # noqa: S105 - a throw-away benchmark instance
        SQLALCHEMY_DATABASE_URI = _sqlalchemy_url(db_url)
        INSTANCE_PATH = instance
        UPLOAD_FOLDER = str(Path(instance) / "uploads")
        PLATFORM_KEY_PATH = str(Path(instance) / "platform_ed25519.pem")
        SEARCH_INDEX_DIR = str(Path(instance) / "search_index")
        SEARCH_BACKEND = search_backend
        FORCE_HTTPS = False  # plain HTTP on the loopback (no TLS proxy in front)
        SESSION_COOKIE_SECURE = False
        REMEMBER_COOKIE_SECURE = False
        RATELIMIT_STORAGE_URI = "memory://"
        DEBUG = False

        @classmethod
        def check(cls) -> None:
            """Nothing to refuse: the benchmark brings its own secret and database."""

    return BenchConfig


def bench_app():
    """gunicorn ``pages:bench_app()``: the marketplace on the benchmark database."""
    from marketplace import create_app

    return create_app(
        bench_config(
            os.environ["BENCH_DATABASE_URL"],
            os.environ["BENCH_INSTANCE"],
            os.environ.get("BENCH_SEARCH_BACKEND", "whoosh"),
        )
    )


def hello_app():
    """gunicorn ``pages:hello_app()``: the floor — Flask and gunicorn doing nothing else."""
    from flask import Flask

    app = Flask("hello")

    @app.get("/")
    def hello():
        return "hello"

    return app


# --- building the province ----------------------------------------------------------------------


def reset_database(db) -> None:
    import sqlalchemy as sa

    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    db.engine.dispose()


def build(app, scale: float, *, db_url: str) -> dict:
    """Empty the database, migrate, generate, index; returns the timings and counts."""
    import province
    from flask_migrate import upgrade

    from marketplace.extensions import db
    from marketplace.workdays.services import seed_from_chinesecalendar

    if db_url.startswith("sqlite:///"):
        path = Path(db_url[len("sqlite:///") :])
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        reset_database(db)
    index_dir = Path(app.config["SEARCH_INDEX_DIR"])
    shutil.rmtree(index_dir, ignore_errors=True)
    t0 = time.perf_counter()
    upgrade(directory=str(ROOT / "migrations"))
    seed_from_chinesecalendar()
    db.session.commit()
    t_schema = time.perf_counter() - t0
    print(f"schema and calendar: {t_schema:.1f} s", flush=True)
    counts = province.generate(scale, progress=lambda line: print(line, flush=True))
    print(f"generated {sum(counts.rows.values()):,} rows in {counts.seconds:.1f} s", flush=True)
    # Bulk inserts bypass the ORM hooks that keep the public lists' projection: build it as an
    # operator does after an import (`flask agencies rebuild-visibility`). Without it every list
    # falls back to the full visibility predicate (12.8 s a directory page at scale 1).
    from marketplace.agencies.visibility import rebuild

    t0 = time.perf_counter()
    visible = rebuild()
    db.session.commit()
    t_visibility = time.perf_counter() - t0
    print(f"visibility projection: {visible:,} visible listings in {t_visibility:.1f} s", flush=True)
    t0 = time.perf_counter()
    indexed = province.index_search(progress=lambda line: print(line, flush=True))
    t_index = time.perf_counter() - t0
    print(
        f"search index ({app.config['SEARCH_BACKEND']}): {indexed} in {t_index:.1f} s", flush=True
    )
    return {
        "schema_s": round(t_schema, 1),
        "generate_s": round(counts.seconds, 1),
        "visibility_s": round(t_visibility, 1),
        "index_s": round(t_index, 1),
        "rows": counts.rows,
        "indexed": indexed,
    }


# --- the pages ----------------------------------------------------------------------------------


@dataclass
class Page:
    name: str
    path: str
    expect: list[str] = field(default_factory=list)  # strings the HTML must contain


def pick_pages() -> list[Page]:
    """The public pages to measure, with ids chosen from the generated data."""
    import sqlalchemy as sa
    from markupsafe import escape

    from marketplace.accounts.models import Organisation, OrgKind
    from marketplace.agencies.eligibility import listing_visible_sql, today
    from marketplace.agencies.models import Listing
    from marketplace.credit.models import CreditInput
    from marketplace.extensions import db
    from marketplace.procurement.models import Bid, PurchaseRequest, RequestStatus
    from marketplace.sanctions.models import SanctionCase, SanctionKind

    on = today()
    session = db.session
    agencies = session.execute(
        sa.select(sa.func.count()).where(Organisation.kind == OrgKind.AGENCY)
    ).scalar_one()
    directory_pages = max(1, math.ceil(agencies / 20))
    item_id, offers = session.execute(
        sa.select(Listing.service_item_id, sa.func.count(Listing.id))
        .where(listing_visible_sql(on))
        .group_by(Listing.service_item_id)
        .order_by(sa.func.count(Listing.id).desc(), Listing.service_item_id)
        .limit(1)
    ).one()
    offer_pages = max(1, math.ceil(offers / 20))
    listing = session.execute(
        sa.select(Listing)
        .where(Listing.service_item_id == item_id, listing_visible_sql(on))
        .order_by(Listing.id)
        .limit(1)
    ).scalar_one()
    agency_name = str(escape(listing.organisation.name))
    credit_org = session.execute(
        sa.select(CreditInput.organisation_id)
        .group_by(CreditInput.organisation_id)
        .order_by(sa.func.count(CreditInput.id).desc(), CreditInput.organisation_id)
        .limit(1)
    ).scalar_one()
    credit_name = str(escape(session.get(Organisation, credit_org).name))
    result = session.execute(
        sa.select(PurchaseRequest)
        .join(Bid, Bid.request_id == PurchaseRequest.id)
        .where(PurchaseRequest.status == RequestStatus.AWARDED)
        .group_by(PurchaseRequest.id)
        .order_by(sa.func.count(Bid.id).desc(), PurchaseRequest.id)
        .limit(1)
    ).scalar_one()
    winner = str(escape(result.awarded_org.name))
    newest = session.execute(
        sa.select(PurchaseRequest.id)
        .order_by(PurchaseRequest.published_at.desc(), PurchaseRequest.id.desc())
        .limit(1)
    ).scalar_one()
    blacklisted = session.execute(
        sa.select(Organisation.name)
        .join(SanctionCase, SanctionCase.organisation_id == Organisation.id)
        .where(SanctionCase.kind == SanctionKind.BLACKLIST)
        .order_by(Organisation.name)
        .limit(1)
    ).scalar_one()
    last_dir = min(200, directory_pages)
    pages = [
        Page("home", "/"),
        Page("agency directory, page 1", "/agencies", ['href="/agencies/']),
        Page(
            f"agency directory, page {last_dir}", f"/agencies?page={last_dir}", ['href="/agencies/']
        ),
        Page("offers of one service item, page 1", f"/services/{item_id}", ['href="/listings/']),
        Page(
            f"offers of one service item, last page ({offer_pages})",
            f"/services/{item_id}?page={offer_pages}",
            ['href="/listings/'],
        ),
        Page("a listing", f"/listings/{listing.id}", [agency_name]),
        Page(
            "an agency", f"/agencies/{listing.organisation_id}", [agency_name, 'href="/listings/']
        ),
        Page("an agency's credit", f"/credit/agencies/{credit_org}", [credit_name]),
        Page("announcements", "/announcements", [f'href="/announcements/{newest}"']),
        Page("a result", f"/announcements/{result.id}/result", [winner]),
        Page("the blacklist", "/blacklist", [str(escape(blacklisted))]),
    ]
    pages += [Page(f"search “{q}”", f"/search?q={quote(q)}", [hit]) for q, hit in SEARCHES]
    return pages


def check_in_process(app, pages: list[Page]) -> dict[str, int]:
    """Every page: 200 and the data visible; returns SQL statements of a warm request."""
    import sqlalchemy as sa

    from marketplace.extensions import db

    statements = {}
    client = app.test_client()
    counter = [0]

    def count(*_args, **_kwargs):
        counter[0] += 1

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        for page in pages:
            client.get(page.path)  # warm: templates compiled, caches filled
            counter[0] = 0
            resp = client.get(page.path)
            html = resp.get_data(as_text=True)
            if resp.status_code != 200:
                raise BenchFailure(f"{page.path}: HTTP {resp.status_code}")
            missing = [s for s in page.expect if s not in html]
            if missing:
                raise BenchFailure(
                    f"{page.path}: the generated data is not on the page (missing {missing})"
                )
            statements[page.path] = counter[0]
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return statements


# --- gunicorn and the load loop ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# A slow page is measured, not failed: at full scale some pages take seconds each.
REQUEST_TIMEOUT = 300


def _get(port: int, path: str, timeout: float = REQUEST_TIMEOUT) -> tuple[int, int]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Accept-Language": "zh-CN"})
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, len(body)
    finally:
        conn.close()


class Server:
    """gunicorn with 2 sync workers on a free loopback port."""

    def __init__(self, target: str, env: dict[str, str], workers: int = GUNICORN_WORKERS):
        self.port, self.workers = _free_port(), workers
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(workers),
                "--worker-class",
                "sync",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--chdir",
                str(ROOT),
                "--pythonpath",
                str(ROOT / "bench"),
                "--log-level",
                "warning",
                "--timeout",
                str(REQUEST_TIMEOUT),
                target,
            ],
            env={**os.environ, **env},
            cwd=ROOT,
        )

    def wait(self, path: str, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchFailure(f"gunicorn exited with {self.proc.returncode}")
            try:
                status, _ = _get(self.port, path, timeout=5)
                if status == 200:
                    for _ in range(self.workers * 4):  # reach every worker once
                        _get(self.port, path)
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise BenchFailure(f"gunicorn on port {self.port} did not answer {path} in {timeout:.0f} s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Load:
    requests: int
    seconds: float
    latencies_ms: list[float]
    bytes_mean: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(p * len(ordered)) - 1))]


def load(
    port: int, path: str, *, duration: float, concurrency: int, max_requests: int = 200_000
) -> Load:
    """``concurrency`` threads GET ``path`` until ``duration`` has passed; any non-200 fails the run."""
    for _ in range(2):  # warm-up (about one request per worker), not counted
        status, _ = _get(port, path)
        if status != 200:
            raise BenchFailure(f"{path}: HTTP {status} under gunicorn")
    latencies: list[float] = []
    sizes: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + duration

    def worker():
        while time.perf_counter() < stop_at:
            t = time.perf_counter()
            try:
                status, size = _get(port, path)
            except OSError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                return
            elapsed = (time.perf_counter() - t) * 1000
            if status != 200:
                errors.append(f"HTTP {status}")
                return
            with lock:
                latencies.append(elapsed)
                sizes.append(size)
                if len(latencies) >= max_requests:
                    return

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    seconds = time.perf_counter() - started
    if errors:
        raise BenchFailure(f"{path} under gunicorn: {errors[0]}")
    return Load(len(latencies), seconds, latencies, int(sum(sizes) / len(sizes)) if sizes else 0)


# --- the report -----------------------------------------------------------------------------------


def machine(engine, search_backend: str) -> str:
    import sqlalchemy as sa

    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            database = (
                "PostgreSQL " + conn.execute(sa.text("SHOW server_version")).scalar().split()[0]
            )
        else:
            database = "SQLite " + conn.execute(sa.text("select sqlite_version()")).scalar()
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem = (
            next(
                int(line.split()[1])
                for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")
            )
            / 1024
            / 1024
        )
    except (OSError, StopIteration):
        mem = 0
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {mem:.0f} GiB RAM, Python {platform.python_version()}, "
        f"{database}, search back-end {search_backend}, gunicorn {GUNICORN_WORKERS} sync workers"
    )


def markdown(rows: list[dict], hello: float) -> str:
    out = [
        "| page | path | req/s | × hello | p50 ms | p95 ms | SQL statements | KiB |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
        f'| bare Flask "hello" (mean of before and after) | `/` | {hello:,.0f} | 1.000 | | | 0 | |',
    ]
    for r in rows:
        out.append(
            f"| {r['page']} | `{unquote(r['path'])}` | {r['rps']:,.1f} | {r['ratio']:.3f} | {r['p50_ms']:.1f} | "
            f"{r['p95_ms']:.1f} | {r['sql']} | {r['kib']:.0f} |"
        )
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db",
        help="sqlite:///PATH or a PostgreSQL URL (emptied!); default: a temporary SQLite file",
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="1 = 5,000 agencies, 100,000 listings, ..."
    )
    parser.add_argument("--duration", type=float, default=6.0, help="seconds of load per page")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads")
    parser.add_argument(
        "--search-backend",
        choices=["whoosh", "postgres"],
        default="whoosh",
        help="the app's SEARCH_BACKEND (postgres needs a PostgreSQL --db)",
    )
    parser.add_argument(
        "--instance", help="instance folder (search index, keys); default: temporary"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the data already there (needs --db and --instance)",
    )
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if args.reuse and not (args.db and args.instance):
        parser.error("--reuse needs --db and --instance of an earlier run")
    if args.search_backend == "postgres" and not (args.db or "").startswith(
        ("postgres://", "postgresql")
    ):
        parser.error("--search-backend postgres needs a PostgreSQL --db")

    tmp = tempfile.mkdtemp(prefix="zj-bench-pages-")
    instance = args.instance or str(Path(tmp) / "instance")
    db_url = args.db or f"sqlite:///{tmp}/pages.sqlite"
    from marketplace import create_app
    from marketplace.extensions import db

    app = create_app(bench_config(db_url, instance, args.search_backend))
    started = time.perf_counter()
    with app.app_context():
        built = None if args.reuse else build(app, args.scale, db_url=db_url)
        import province

        counts = province.summary()
        print("data: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()), flush=True)
        pages = pick_pages()
        about = machine(db.engine, args.search_backend)
        db.session.remove()
    sql = check_in_process(app, pages)
    print(f"in-process check: {len(pages)} pages, HTTP 200, data visible", flush=True)
    with app.app_context():
        db.engine.dispose()

    env = {
        "BENCH_DATABASE_URL": db_url,
        "BENCH_INSTANCE": instance,
        "BENCH_SEARCH_BACKEND": args.search_backend,
    }
    load_before = os.getloadavg()
    hello_srv, app_srv = Server("pages:hello_app()", {}), Server("pages:bench_app()", env)
    try:
        hello_srv.wait("/")
        app_srv.wait("/healthz")
        kw = {"duration": args.duration, "concurrency": args.concurrency}
        hello_before = load(hello_srv.port, "/", **kw)
        print(f"hello: {hello_before.rps:,.0f} req/s", flush=True)
        measured = []
        for page in pages:
            result = load(app_srv.port, page.path, **kw)
            measured.append((page, result))
            print(
                f"{page.path}: {result.rps:,.1f} req/s, p50 {result.pct(0.5):.1f} ms, "
                f"p95 {result.pct(0.95):.1f} ms, {sql[page.path]} SQL",
                flush=True,
            )
        hello_after = load(hello_srv.port, "/", **kw)
    finally:
        app_srv.stop()
        hello_srv.stop()
    hello = (hello_before.rps + hello_after.rps) / 2
    rows = [
        {
            "page": p.name,
            "path": p.path,
            "rps": r.rps,
            "ratio": r.rps / hello,
            "p50_ms": r.pct(0.5),
            "p95_ms": r.pct(0.95),
            "sql": sql[p.path],
            "kib": r.bytes_mean / 1024,
            "requests": r.requests,
        }
        for p, r in measured
    ]
    load_after = os.getloadavg()
    print()
    print(
        f"Command: `.venv/bin/python bench/pages.py --scale {args.scale:g}"
        f"{' --db ' + ('postgresql://…' if not db_url.startswith('sqlite') else 'sqlite:///…') if args.db else ''}"
        f"{' --search-backend postgres' if args.search_backend == 'postgres' else ''}"
        f" --duration {args.duration:g} --concurrency {args.concurrency}`"
    )
    print()
    print(f"Machine: {about}; load average {load_before[0]:.1f} before, {load_after[0]:.1f} after.")
    if built:
        print(
            f"Build: schema {built['schema_s']} s, generation {built['generate_s']} s, "
            f"search index {built['index_s']} s ({sum(built['rows'].values()):,} rows)."
        )
    print("Data: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()) + ".")
    print(f"Hello: {hello_before.rps:,.0f} req/s before, {hello_after.rps:,.0f} after.")
    print()
    print(markdown(rows, hello))
    print(f"\n(whole run {time.perf_counter() - started:.0f} s)")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "scale": args.scale,
                    "duration": args.duration,
                    "concurrency": args.concurrency,
                    "machine": about,
                    "build": built,
                    "data": counts,
                    "hello_rps": [hello_before.rps, hello_after.rps],
                    "pages": rows,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    shutil.rmtree(
        tmp, ignore_errors=True
    )  # the database and instance of a run without --db/--instance
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchFailure as exc:
        print(f"FAIL {exc}", file=sys.stderr)
        sys.exit(1)
