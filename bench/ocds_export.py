"""Benchmark: the OCDS bulk export (/ocds/bulk/releases.jsonl.gz) of N purchase requests.

Usage: .venv/bin/python bench/ocds_export.py [-n 1000] [--contracts 50]

Builds N requests through the real services (published, three sealed bids, closed, awarded; every
tenth award passed on to the next bidder; ``--contracts`` of them with a final award and a contract
in force), then times the bulk export and one release package. SQLite in a temporary folder unless
``BENCH_DATABASE_URL`` names a PostgreSQL database (it is emptied).
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config import TestingConfig, _database_url  # noqa: E402
from marketplace import create_app  # noqa: E402


def _time_export(db, ocds, ctx, one_id: int | None = None) -> None:
    for attempt in range(2):
        t0 = time.perf_counter()
        body = b"".join(ocds.iter_bulk_gzip(ctx))
        elapsed = time.perf_counter() - t0
        lines = gzip.decompress(body).decode().splitlines()
        print(f"bulk export #{attempt + 1}: {len(lines)} packages, "
              f"{sum(len(ln) for ln in lines) / 1e6:.1f} MB JSON, {len(body) / 1e6:.2f} MB gzip, "
              f"{elapsed:.2f} s ({db.engine.dialect.name})", flush=True)
    one_id = one_id or max(ocds.public_request_ids())
    t0 = time.perf_counter()
    for _ in range(50):
        ocds.releases_for(one_id, ctx)
    print(f"one release package: {(time.perf_counter() - t0) / 50 * 1000:.1f} ms", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("--contracts", type=int, default=50)
    parser.add_argument("--reuse", action="store_true",
                        help="time the export of the data already in BENCH_DATABASE_URL (no build)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:

        class BenchConfig(TestingConfig):
            INSTANCE_PATH = tmp
            UPLOAD_FOLDER = str(Path(tmp) / "uploads")
            PLATFORM_KEY_PATH = str(Path(tmp) / "platform_ed25519.pem")
            SQLALCHEMY_DATABASE_URI = _database_url(os.environ.get("BENCH_DATABASE_URL")
                                                    or f"sqlite:///{tmp}/bench.sqlite")

        app = create_app(BenchConfig)
        with app.app_context():
            import sqlalchemy as sa

            from marketplace.contracts.models import Contract
            from marketplace.contracts.services import SignatureInput, sign_contract
            from marketplace.extensions import db
            from marketplace.ocds import services as ocds
            from marketplace.ocds.builder import Context
            from marketplace.procurement import services
            from marketplace.procurement.jobs import run_procurement_deadlines
            from marketplace.workdays.services import seed_from_chinesecalendar
            from tests.factories.accounts import DEFAULT_PASSWORD
            from tests.factories.procurement import ApprovalCaseFactory
            from tests.procurement.conftest import make_scenario

            ctx = Context.current()
            if args.reuse:
                _time_export(db, ocds, ctx)
                return 0
            with db.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                    conn.execute(sa.text("CREATE SCHEMA public"))
            db.create_all()
            seed_from_chinesecalendar()
            s = make_scenario(db)
            t0 = time.perf_counter()
            for i in range(args.n):
                s.case = ApprovalCaseFactory(applicant=s.enterprise, approval_item=s.item.approval_items[0],
                                             service_items=[s.item])
                req = s.published(title=f"基准测试采购 {i}")
                for k, price in enumerate((9_000_000, 8_000_000 + i, 8_500_000)):
                    s.bid(req, k, price)
                run_procurement_deadlines(s.after_deadline(req))
                if i % 10 == 3:
                    services.pass_award_to_next(req, "中选机构放弃", s.owner, now=s.after_deadline(req))
                if i < args.contracts:
                    run_procurement_deadlines(req.objection_deadline + timedelta(minutes=1))
                    contract = db.session.execute(
                        sa.select(Contract).where(Contract.request_id == req.id)).scalar_one()
                    for user in (s.owner, s.staff[contract.agency_org_id == s.agencies[2].id and 2 or 1]):
                        sign_contract(contract, SignatureInput(
                            password=DEFAULT_PASSWORD, signer_name="签署人", signer_position="经理", version=None,
                            ip="203.0.113.9", user_agent="bench"), actor=user)
                db.session.commit()
            print(f"built {args.n} requests in {time.perf_counter() - t0:.1f} s "
                  f"({db.engine.dialect.name})", flush=True)
            _time_export(db, ocds, ctx, req.id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
