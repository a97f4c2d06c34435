"""Benchmark: full-text search over N synthetic Chinese listings, Whoosh vs PostgreSQL vs LIKE.

Usage: .venv/bin/python bench/search.py --docs 100000 [--queries 200] [--no-write]

One run: generates N listings with realistic Chinese text (fixed seed), builds the Whoosh index
(one writer, procs=1, limitmb=256, one commit) and the PostgreSQL ``search_documents`` table
(rjieba terms in a tsvector, GIN index), then times the same fixed set of queries on Whoosh,
PostgreSQL and a plain LIKE scan, and writes the figures into ``docs/benchmarks.md``.

Needs PostgreSQL on 127.0.0.1:5432; the database ``zj_bench_search`` is (re)created with
``.ci/pg.py``. The Whoosh index goes to a temporary directory.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config import TestingConfig  # noqa: E402
from marketplace import create_app  # noqa: E402

PG_DB = "zj_bench_search"  # default; --db names another (helpers sharing a server use their own)

# -- vocabulary -------------------------------------------------------------------------------
SERVICES = [
    ("安全评价", "安全评价"), ("安全预评价", "安全评价"), ("安全验收评价", "安全评价"),
    ("安全现状评价", "安全评价"), ("职业病危害评价", "职业卫生"), ("职业病危害因素检测", "职业卫生"),
    ("建设项目环境影响评价", "环境评价"), ("环境影响报告书编制", "环境评价"),
    ("环境影响报告表编制", "环境评价"), ("环境监测", "环境评价"), ("排污许可申报", "环境评价"),
    ("水土保持方案编制", "水土保持"), ("水土保持监测", "水土保持"), ("水资源论证", "水利"),
    ("防洪评价", "水利"), ("地质灾害危险性评估", "地质"), ("压覆矿产资源评估", "地质"),
    ("地形图测绘", "测绘"), ("不动产测绘", "测绘"), ("房产测量", "测绘"), ("工程测量", "测绘"),
    ("地籍调查", "测绘"), ("工程造价咨询", "造价咨询"), ("工程预算编制", "造价咨询"),
    ("竣工结算审核", "造价咨询"), ("工程监理", "工程监理"), ("可行性研究报告编制", "工程咨询"),
    ("项目建议书编制", "工程咨询"), ("节能评估", "工程咨询"), ("社会稳定风险评估", "工程咨询"),
    ("资产评估", "资产评估"), ("土地估价", "资产评估"), ("房地产估价", "资产评估"),
    ("财务审计", "审计"), ("专项资金审计", "审计"), ("工程审计", "审计"),
    ("消防设施检测", "消防"), ("消防安全评估", "消防"), ("电气防火检测", "消防"),
    ("防雷装置检测", "气象"), ("雷电灾害风险评估", "气象"), ("建筑工程质量检测", "检测"),
    ("室内空气检测", "检测"), ("特种设备检验", "检测"), ("计量器具检定", "检测"),
    ("地震安全性评价", "地震"), ("交通影响评价", "交通"), ("文物影响评估", "文物"),
    ("规划设计", "规划"), ("土地规划", "规划"), ("施工图审查", "设计审查"),
    ("招标代理", "招标代理"), ("政府采购代理", "招标代理"), ("法律咨询", "法律服务"),
    ("公证服务", "法律服务"), ("档案整理", "档案"), ("信息系统等级保护测评", "信息安全"),
    ("软件测试", "信息安全"), ("数据安全评估", "信息安全"), ("质量管理体系认证", "认证"),
]
PLACES = [
    ("530102", "昆明市五华区"), ("530103", "昆明市盘龙区"), ("530111", "昆明市官渡区"),
    ("530112", "昆明市西山区"), ("530400", "玉溪市"), ("211100", "盘锦市"), ("211122", "大洼区"),
    ("370100", "济南市"), ("370102", "济南市历下区"), ("140500", "晋城市"), ("140581", "高平市"),
    ("500000", "重庆市"), ("500103", "重庆市渝中区"), ("510100", "成都市"), ("110000", "北京市"),
    ("310000", "上海市"), ("440100", "广州市"), ("320100", "南京市"), ("330100", "杭州市"),
    ("420100", "武汉市"), ("430100", "长沙市"), ("610100", "西安市"), ("450100", "南宁市"),
    ("520100", "贵阳市"), ("620100", "兰州市"), ("650100", "乌鲁木齐市"), ("460100", "海口市"),
    ("350100", "福州市"), ("360100", "南昌市"), ("410100", "郑州市"),
]
QUALS = [
    "安全评价甲级", "安全评价乙级", "环境影响评价甲级", "环境影响评价乙级", "测绘甲级", "测绘乙级",
    "测绘丙级", "工程造价咨询甲级", "工程造价咨询乙级", "工程监理甲级", "工程监理乙级",
    "工程咨询甲级", "工程咨询乙级", "资产评估资格", "土地估价资格", "会计师事务所执业证书",
    "水土保持方案编制资质", "地质灾害危险性评估甲级", "地质灾害危险性评估乙级",
    "消防设施维护保养检测", "防雷装置检测资质", "检验检测机构资质认定", "建设工程质量检测资质",
    "招标代理机构备案", "律师事务所执业许可证", "网络安全等级测评机构", "计量授权",
    "特种设备检验检测机构核准", "文物保护工程勘察设计资质", "城乡规划编制资质",
]
NAME_HEADS = ["华信", "中正", "诚信", "恒远", "宏达", "博远", "天和", "金诚", "同创", "建科", "明德",
              "安泰", "环科", "绿源", "正源", "昊天", "信达", "中建", "永安", "瑞丰", "众诚", "新元"]
NAME_TAILS = ["咨询有限公司", "评价有限公司", "技术服务有限公司", "工程咨询有限公司", "检测有限公司",
              "测绘院", "会计师事务所", "律师事务所", "资产评估有限公司", "科技有限公司", "研究院"]
ENGLISH = ["Greenfield Environmental Services", "Beijing Tech Consulting", "Pacific Survey Group",
           "Sino Safety Assessment", "Bluewater Engineering Consultants", "Orient Audit Partners",
           "Summit Testing Laboratory", "Harmony Legal Services"]
PHRASES = [
    "严格按照{std}执行，出具{svc}报告。", "服务范围覆盖{place}及周边地区。",
    "承诺在{days}个工作日内完成{svc}，超时按合同约定赔付。", "收费标准按{basis}执行，不收取任何额外费用。",
    "项目团队由{n}名注册工程师组成，具有丰富的{cat}经验。", "已为{place}{n}家企业提供{svc}服务。",
    "具备{qual}，业绩真实可查。", "提供现场踏勘、资料收集、报告编制和专家评审全过程服务。",
    "支持线上提交材料，全程电子化办理。", "报告通过评审后免费提供修改服务。",
    "承诺不转包、不分包，项目负责人全程跟踪。", "可提供加急服务，最快{days}个工作日出具成果。",
]
STANDARDS = ["AQ 8001-2007", "HJ 2.1-2016", "GB 50026-2020", "GB/T 19001-2016", "SL 204-2015",
             "GB 50300-2013", "JTG B02-2013", "GB/T 22239-2019", "TD/T 1001-2012", "CJJ/T 8-2011"]
BASIS = ["市场调节价", "政府指导价", "行业协会指导标准", "双方协商", "计价格〔2002〕125号文件"]


def generate(n: int, seed: int = 42):
    """N listings (SearchDocument), reproducible."""
    from marketplace.search.documents import SearchDocument

    rng = random.Random(seed)
    agencies = []
    for i in range(max(n // 20, 10)):
        code, place = rng.choice(PLACES)
        if rng.random() < 0.05:
            name = f"{rng.choice(ENGLISH)} ({place})"
        else:
            name = f"{place.replace('市', '').replace('区', '')}{rng.choice(NAME_HEADS)}{rng.choice(NAME_TAILS)}"
        quals = rng.sample(QUALS, rng.randint(1, 3))
        agencies.append((i + 1, name, code, place, quals, rng.choice(["A", "A", "B", "B", "B", "C", "D", None])))
    for doc_id in range(1, n + 1):
        _aid, name, code, place, quals, grade = rng.choice(agencies)
        svc, cat = rng.choice(SERVICES)
        days = rng.choice([3, 5, 7, 10, 15, 20, 30, 45, 60])
        fields = {"svc": svc, "place": place, "days": days, "std": rng.choice(STANDARDS),
                  "basis": rng.choice(BASIS), "n": rng.randint(3, 40), "cat": cat,
                  "qual": rng.choice(quals)}
        body = "".join(p.format(**fields) for p in rng.sample(PHRASES, rng.randint(3, 6)))
        fee = rng.choice([5, 8, 10, 20, 30, 50, 80, 100, 150, 200, 300]) * 100_000
        yield SearchDocument(
            doc_type="listing", doc_id=doc_id, title=f"{svc}（{name}）", body=body,
            url=f"/listings/{doc_id}", category=cat, region_code=code, qualification_types=quals,
            credit_grade=grade, fee_min_fen=fee, fee_max_fen=fee * 2, time_limit_days=days,
        )


def fixed_queries(count: int, seed: int = 7) -> list[str]:
    """A fixed, varied query mix: services, parts of words, places, qualifications, names."""
    rng = random.Random(seed)
    svc = [s for s, _ in SERVICES]
    kinds = [
        lambda: rng.choice(svc),                                   # 安全现状评价
        lambda: rng.choice(["评价", "检测", "测绘", "评估", "审计", "咨询", "环评", "安评", "造价", "监理"]),
        lambda: f"{rng.choice(PLACES)[1]} {rng.choice(svc)}",       # 昆明市五华区 环境监测
        lambda: rng.choice(QUALS),                                 # 测绘甲级
        lambda: f"{rng.choice(NAME_HEADS)}{rng.choice(NAME_TAILS)}",  # 华信咨询有限公司
        lambda: rng.choice(ENGLISH).split()[rng.randint(0, 1)],      # Greenfield
        lambda: rng.choice(STANDARDS).split()[0] + " " + rng.choice(svc)[:2],
        lambda: rng.choice(["加急 出具报告", "注册工程师 经验", "电子化办理", "专家评审 修改",
                            "不转包 不分包", "火星探测服务", "quantum audit"]),
    ]
    return [kinds[i % len(kinds)]() for i in range(count)]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def backend_cpu_ns(pid: int | None) -> int:
    """CPU time the PostgreSQL backend ``pid`` has used (same machine; 0 if unreadable)."""
    try:
        with open(f"/proc/{pid}/schedstat", encoding="utf-8") as fh:
            return int(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def time_queries(fn, queries, pg_pid=None) -> dict:
    """Latency of each query, run once in order (no warm-up: the first pass is the cold one).

    Also the CPU each query used, here and in our PostgreSQL backend: on a shared machine the
    wall-clock figures grow with the load, the CPU figures much less.
    """
    times, cpu, hits = [], [], []
    for q in queries:
        pid = pg_pid() if pg_pid else None
        c0, s0 = time.thread_time_ns(), backend_cpu_ns(pid)
        start = time.perf_counter()
        total = fn(q)
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.thread_time_ns() - c0 + backend_cpu_ns(pid) - s0) / 1e6)
        hits.append(total)
    return {"p50": percentile(times, 50), "p95": percentile(times, 95), "max": max(times),
            "cpu_p50": percentile(cpu, 50), "cpu_p95": percentile(cpu, 95),
            "mean_hits": sum(hits) / len(hits)}


def machine() -> dict:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as fh:
        mem_kb = int(fh.readline().split()[1])
    return {"cpu": cpu, "nproc": os.cpu_count(), "ram_gb": round(mem_kb / 1024 / 1024, 1),
            "python": platform.python_version()}


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages (the machine may be shared with other work)."""
    with open("/proc/loadavg", encoding="utf-8") as fh:
        return " ".join(fh.read().split()[:3])


def write_markdown(section: str, path: Path) -> None:
    begin, end = "<!-- bench:search -->", "<!-- /bench:search -->"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    block = f"{begin}\n{section.rstrip()}\n{end}"
    if begin in text and end in text:
        text = re.sub(re.escape(begin) + r".*?" + re.escape(end), lambda _m: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--no-write", action="store_true", help="print only, leave docs/ alone")
    parser.add_argument("--skip-like", action="store_true", help="skip the (slow) LIKE baseline")
    parser.add_argument("--db", default=PG_DB, help=f"scratch PostgreSQL database (default {PG_DB})")
    args = parser.parse_args()
    pg_url = f"postgresql://postgres@127.0.0.1:5432/{args.db}"

    subprocess.run([sys.executable, str(ROOT / ".ci/pg.py"), "create", args.db], check=True)
    load_before = loadavg()
    workdir = tempfile.mkdtemp(prefix="zj-bench-search-")

    class BenchConfig(TestingConfig):
        INSTANCE_PATH = workdir
        SQLALCHEMY_DATABASE_URI = "postgresql+psycopg://" + pg_url.split("://", 1)[1]
        SEARCH_INDEX_DIR = os.path.join(workdir, "search_index")
        PLATFORM_KEY_PATH = os.path.join(workdir, "platform_ed25519.pem")

    app = create_app(BenchConfig)
    # The synthetic listings have no rows behind them: the domains' providers would hide them all.
    app.extensions["search_providers"] = {}
    results: dict[str, dict] = {}
    try:
        with app.app_context():
            from marketplace.extensions import db
            from marketplace.search import store
            from marketplace.search.analysis import parse_query
            from marketplace.search.backends import SearchFilters, get_backend
            from marketplace.search.services import search

            db.create_all()
            pg_version = db.session.execute(sa.text("SHOW server_version")).scalar()

            # Whoosh: one writer, procs=1, limitmb=256, one commit.
            whoosh = get_backend("whoosh")
            start = time.perf_counter()
            whoosh.rebuild(generate(args.docs), limitmb=256)
            whoosh_build = time.perf_counter() - start
            index_mb = sum(f.stat().st_size for f in Path(whoosh.index_dir).iterdir()) / 2**20
            print(f"whoosh: {args.docs} docs in {whoosh_build:.1f}s", flush=True)

            # PostgreSQL: batches of 1000 rows, tsvector computed in the INSERT, GIN maintained.
            start = time.perf_counter()
            batch = []
            for doc in generate(args.docs):
                batch.append(doc)
                if len(batch) == 1000:
                    store.save_documents(batch)
                    db.session.commit()
                    batch = []
            store.save_documents(batch)
            db.session.commit()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE search_documents"))
            pg_build = time.perf_counter() - start
            table_mb = db.session.execute(
                sa.text("SELECT pg_total_relation_size('search_documents')")
            ).scalar() / 2**20
            print(f"postgres: {args.docs} docs in {pg_build:.1f}s", flush=True)

            queries = fixed_queries(args.queries)

            def pg_pid() -> int:
                # The session's connection (it stays the same while the session is open).
                return db.session.connection().connection.dbapi_connection.info.backend_pid
            none = SearchFilters()

            def backend_fn(name, facets=True):
                backend = get_backend(name)

                def run(q):
                    return backend.search(parse_query(q), none, offset=0, limit=20, facets=facets).total
                return run

            def page_fn(name):
                def run(q):
                    app.config["SEARCH_BACKEND"] = name
                    return search(q, per_page=20).total
                return run

            # Each back-end: a first pass over the queries with cold caches (Whoosh reads each
            # segment's arrays and each term's postings on first use), then the same queries again.
            for label, fn in [
                ("Whoosh: top 20 + total + facets", backend_fn("whoosh")),
                ("PostgreSQL: top 20 + total + facets", backend_fn("postgres")),
            ]:
                results[f"{label}, first pass (cold)"] = time_queries(fn, queries, pg_pid)
                results[f"{label}, second pass (warm)"] = time_queries(fn, queries, pg_pid)
            results["Whoosh: top 20 + total, no facets (warm)"] = time_queries(backend_fn("whoosh", False), queries, pg_pid)
            results["PostgreSQL: top 20 + total, no facets (warm)"] = time_queries(backend_fn("postgres", False), queries, pg_pid)
            results["Whoosh: whole search service, as the page calls it (warm)"] = time_queries(page_fn("whoosh"), queries, pg_pid)
            results["PostgreSQL: whole search service, as the page calls it (warm)"] = time_queries(page_fn("postgres"), queries, pg_pid)
            if not args.skip_like:
                results["LIKE scan (PostgreSQL ILIKE): top 20 + total, no facets"] = time_queries(
                    backend_fn("database", False), queries, pg_pid
                )
            for name, r in results.items():
                print(f"{name}: p50 {r['p50']:.1f} ms, p95 {r['p95']:.1f} ms, max {r['max']:.1f} ms, "
                      f"mean hits {r['mean_hits']:.0f}", flush=True)
            db.session.remove()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    m = machine()
    load_after = loadavg()
    lines = [
        "## Search (issue 4)",
        "",
        f"Command: `.venv/bin/python bench/search.py --docs {args.docs} --queries {args.queries}`",
        "",
        f"Machine: {m['cpu']}, {m['nproc']} CPUs, {m['ram_gb']} GB RAM; Python {m['python']}, "
        f"PostgreSQL {pg_version} on the same machine; run on {time.strftime('%Y-%m-%d')}; "
        f"load average (1/5/15 min) {load_before} at the start, {load_after} at the end.",
        "",
        f"Corpus: {args.docs:,} synthetic listings (service name + agency in the title, 3–6 standard "
        "phrases about place, time limit, fee basis, qualifications in the body; ~200 characters "
        "of Chinese each), fixed seed.",
        "",
        "| Index build | time | rate | size |",
        "|---|---:|---:|---:|",
        f"| Whoosh (procs=1, limitmb=256, one commit) | {whoosh_build:.1f} s | "
        f"{args.docs / whoosh_build:,.0f} docs/s | {index_mb:.0f} MB |",
        f"| PostgreSQL (rjieba terms → tsvector, GIN; batches of 1,000) | {pg_build:.1f} s | "
        f"{args.docs / pg_build:,.0f} docs/s | {table_mb:.0f} MB (table + indexes) |",
        "",
        f"Query latency over {args.queries} fixed queries (services, word parts such as 评价/环评, "
        "place + service, qualifications, agency names, English names, standards, no-hit queries), "
        "one thread, each query timed once per pass; CPU is this thread's plus its PostgreSQL "
        "backend's (/proc/<pid>/schedstat). \"Whole search service\" adds what the page "
        "does besides the back-end: the visibility check against the document store and the queue, "
        "and highlighting the 20 snippets. The SQL back-ends read at most "
        "`SEARCH_MATCH_CAP` (1,000) matches per search (issue 17): a broader query shows "
        "\"more than 1,000 results\", so their mean hits are capped totals, Whoosh's exact ones.",
        "",
        "| Back-end and work | p50 | p95 | max | CPU p50 | CPU p95 | mean hits |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(f"| {name} | {r['p50']:.1f} ms | {r['p95']:.1f} ms | {r['max']:.1f} ms | "
                     f"{r['cpu_p50']:.1f} ms | {r['cpu_p95']:.1f} ms | {r['mean_hits']:,.0f} |")
    section = "\n".join(lines) + "\n"
    print(section)
    if not args.no_write:
        write_markdown(section, ROOT / "docs" / "benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
