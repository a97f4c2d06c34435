"""A province-sized market built with bulk inserts, for ``bench/pages.py`` and its test.

``generate(scale)`` fills an empty schema (the seeded working-day calendar may be there) in the
current app context: the demonstration catalogue (38 service items), government departments,
enterprises, agencies with profiles, service regions, declarations, practitioners and the
qualifications their listings need, published listings, purchase requests with sealed bids and
lowest-price results, finished contracts with their rating windows and ratings, the credit
ledger those ratings feed, credit scores folded from that ledger with the app's own formula,
and a few suspensions and blacklistings. Rows go in with SQLAlchemy Core ``executemany`` in
batches; every CHECK and unique constraint of the models holds, and the data pass the app's
visibility rules (qualified, compliant, not sanctioned), which ``summary()`` counts with the
app's own predicates.

Not built, on purpose: audit events (the hash chain is appended one event at a time; public
pages read it only for award histories and trails), contract PDFs and signatures, deliveries,
notifications. Full scale (``scale=1``): 5,000 agencies, 100,000 listings, 20,000 purchase
requests on the announcement board, 100,000 ratings (three per finished contract, so 33,334
finished requests more) and their ledger.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

BATCH = 5000
PROVINCE_REGIONS = ["530100", "530102", "530103", "530111", "530112", "530400"]
OTHER_REGIONS = ["510100", "500000", "110000", "370100", "440100", "310000", "211100", "140500"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN = "建国华明伟芳军敏静丽强磊洋艳勇杰娟涛超霞平刚桂英秀兰志红晓东海波鹏辉玲春燕雪梅林斌"
PLACE_HEADS = [
    "昆明",
    "云南",
    "滇中",
    "玉溪",
    "曲靖",
    "大理",
    "红河",
    "楚雄",
    "昭通",
    "普洱",
    "保山",
    "丽江",
    "文山",
    "西双版纳",
    "德宏",
    "临沧",
    "迪庆",
    "怒江",
    "滇池",
    "春城",
]
NAME_HEADS = [
    "华信",
    "中正",
    "诚信",
    "恒远",
    "宏达",
    "博远",
    "天和",
    "金诚",
    "同创",
    "建科",
    "明德",
    "安泰",
    "环科",
    "绿源",
    "正源",
    "昊天",
    "信达",
    "永安",
    "瑞丰",
    "众诚",
    "新元",
    "精诚",
    "蓝天",
    "地博",
    "云测",
    "高原",
    "山水",
    "通衢",
    "泰和",
    "鼎盛",
]
NAME_TAILS = [
    "咨询有限公司",
    "技术服务有限公司",
    "工程咨询有限公司",
    "检测有限公司",
    "测绘科技有限公司",
    "环境科技有限公司",
    "安全技术有限公司",
    "规划设计研究院有限公司",
    "岩土工程有限公司",
    "气象防雷技术有限公司",
]
ENTERPRISE_TAILS = [
    "建设投资有限公司",
    "房地产开发有限公司",
    "矿业有限公司",
    "能源有限公司",
    "化工有限公司",
    "交通建设集团有限公司",
    "水务有限公司",
    "产业园开发有限公司",
    "医院",
    "置业有限公司",
]
PROJECTS = [
    "产业园一期工程",
    "综合交通枢纽",
    "污水处理厂扩建",
    "光伏发电项目",
    "住宅小区",
    "物流园区",
    "高速公路连接线",
    "医院门诊楼",
    "水库除险加固",
    "商业综合体",
    "学校新校区",
    "矿山改扩建",
]
STANDARDS = [
    "严格按照国家和行业现行技术规范执行，出具的成果通过专家评审，免费修改至合格。",
    "提供现场踏勘、资料收集、报告编制和专家评审全过程服务，承诺一次性告知所需资料。",
    "项目负责人全程跟踪，不转包、不分包；支持线上提交材料，全程电子化办理。",
    "可提供加急服务；成果未通过主管部门审查的，免费补充完善直至通过。",
]
FEE_BASES = [
    "按项目规模、技术复杂程度在区间内确定，签约前书面报价。",
    "按项目一次性包干收费，含专家评审修改。",
    "以政府指导价为基准下浮，按实际工作量计。",
]
SPECIALTIES = [
    "注册测绘师",
    "注册安全工程师",
    "环境影响评价工程师",
    "注册咨询工程师（投资）",
    "一级注册结构工程师",
    "注册土木工程师（岩土）",
    "防雷检测专业技术人员",
    "注册环保工程师",
]


@dataclass
class Counts:
    """What ``generate`` inserted, and how long it took."""

    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    ids: dict[str, object] = field(default_factory=dict)


def sizes(scale: float) -> dict[str, int]:
    """The number of each thing at ``scale`` (1 = the province of the benchmark)."""
    agencies = max(8, round(5000 * scale))
    ratings = max(6, round(100_000 * scale))
    return {
        "agencies": agencies,
        "listings": min(max(40, round(100_000 * scale)), agencies * 38),
        "requests": max(20, round(20_000 * scale)),
        "ratings": ratings,
        "finished": math.ceil(ratings / 3),
        "enterprises": max(10, round(2000 * scale)),
        "departments": 8,
        "sanctioned": max(2, round(50 * scale)),
    }


class _Ids:
    """Explicit primary keys, so that the rows of one batch can refer to each other."""

    def __init__(self, conn, tables):
        self.next = {}
        for t in tables:
            self.next[t.name] = (conn.execute(sa.select(sa.func.max(t.c.id))).scalar() or 0) + 1

    def take(self, table) -> int:
        value = self.next[table.name]
        self.next[table.name] = value + 1
        return value


def _person(rng) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


def _insert(conn, table, rows: list[dict], counts: Counts) -> None:
    for start in range(0, len(rows), BATCH):
        conn.execute(table.insert(), rows[start : start + BATCH])
    counts.rows[table.name] = counts.rows.get(table.name, 0) + len(rows)


def _uscc(rng, used: set[str], prefix: str) -> str:
    from tests.factories.accounts import make_uscc

    while True:
        code = make_uscc(rng, prefix)
        if code not in used:
            used.add(code)
            return code


def generate(scale: float = 1.0, *, seed: int = 20261207, progress=print) -> Counts:  # noqa: C901, PLR0912, PLR0915 - one linear recipe
    """Fill the (empty) database of the current app context; returns the counts."""
    from flask import current_app

    from marketplace.accounts.models import Organisation, OrgKind, Role, User
    from marketplace.agencies.eligibility import today
    from marketplace.agencies.models import (
        AgencyProfile,
        FeeKind,
        IndependenceDeclaration,
        Listing,
        ListingStatus,
        ListingVersion,
        Practitioner,
        Qualification,
        ServiceRegion,
    )
    from marketplace.catalog.models import FeeBasis, QualificationRule
    from marketplace.contracts.models import Contract, ContractStatus
    from marketplace.core.passwords import hash_password
    from marketplace.credit.formula import current_formula, evaluate
    from marketplace.credit.models import (
        CreditInput,
        CreditInputKind,
        CreditInputRef,
        CreditScore,
        CreditScoreHistory,
        HistoryReason,
        InputEffect,
        RefType,
        SanctionLevel,
    )
    from marketplace.credit.services import ledger_aggregates
    from marketplace.demo.catalog import load_catalog_demo
    from marketplace.extensions import db
    from marketplace.procurement.models import (
        ApprovalCase,
        Bid,
        BidStatus,
        CaseStatus,
        PurchaseRequest,
        RequestStatus,
        SelectionMethod,
        approval_case_service_items,
    )
    from marketplace.procurement.selection import Candidate, LowestPrice, SelectionContext
    from marketplace.procurement.services import seal_commitment
    from marketplace.ratings.models import (
        DIMENSIONS,
        Rating,
        RatingRole,
        RatingStatus,
        RatingWindow,
    )
    from marketplace.ratings.services import mean_centi
    from marketplace.sanctions.models import SanctionCase, SanctionKind, SanctionStatus

    t0 = time.perf_counter()
    rng = random.Random(seed)
    n = sizes(scale)
    counts = Counts()
    now = datetime.now(UTC).replace(microsecond=0)
    on = today()
    config = current_app.config

    # The catalogue as seeded for the demo (the service items the market is built over).
    catalog = load_catalog_demo()
    db.session.commit()
    items = sorted(catalog["service_items"].values(), key=lambda i: i.code)
    item_quals = {i.id: [q.id for q in i.qualification_types] for i in items}
    item_rule = {i.id: i.qualification_rule for i in items}
    item_approval = {i.id: i.approval_items[0].id for i in items}
    item_days = {i.id: i.statutory_days for i in items}
    item_gov_fee = {i.id: i.fee_basis is FeeBasis.GOVERNMENT for i in items}
    qual_levels = {
        q.id: (q.level_choices or [""], q.issuer) for q in catalog["qualification_types"].values()
    }
    item_text = {i.id: (i.name, i.deliverable or "报告") for i in items}
    item_ids = [i.id for i in items]
    # Some services are asked for much more often than others.
    item_weight = {iid: 1 + 6 * (k % 5 == 0) + 2 * (k % 3 == 0) for k, iid in enumerate(item_ids)}

    T = {
        m.__tablename__: m.__table__
        for m in (
            Organisation,
            User,
            AgencyProfile,
            IndependenceDeclaration,
            Practitioner,
            Qualification,
            Listing,
            ListingVersion,
            ApprovalCase,
            PurchaseRequest,
            Bid,
            Contract,
            RatingWindow,
            Rating,
            CreditInput,
            CreditInputRef,
            CreditScoreHistory,
            SanctionCase,
        )
    }
    regions_t, profiles_t, scores_t = (
        ServiceRegion.__table__,
        AgencyProfile.__table__,
        CreditScore.__table__,
    )
    password = hash_password("bench-Passw0rd-not-used")
    used_uscc = set(db.session.execute(sa.select(Organisation.uscc)).scalars())
    # Nothing of the session may hold the database while the bulk connection writes (SQLite).
    db.session.remove()

    with db.engine.begin() as conn:
        ids = _Ids(conn, [t for name, t in T.items() if name != "agency_profiles"])

        # --- organisations and users ----------------------------------------------------------
        orgs, users = [], []

        def org(kind, name, region, address=""):
            oid = ids.take(T["organisations"])
            orgs.append(
                {
                    "id": oid,
                    "kind": kind,
                    "name": name,
                    "region_code": region,
                    "uscc": _uscc(rng, used_uscc, "11" if kind is OrgKind.GOVERNMENT else "91"),
                    "legal_representative": _person(rng),
                    "contact_name": _person(rng),
                    "contact_phone": f"0871-{rng.randint(60000000, 69999999)}",
                    "created_at": now - timedelta(days=rng.randint(400, 2000)),
                    "address": address,
                    "contact_email": "",
                }
            )
            return oid

        def user(org_id, role, label):
            uid = ids.take(T["users"])
            users.append(
                {
                    "id": uid,
                    "organisation_id": org_id,
                    "email": f"{label}-{uid}@bench.zhongjie.test",
                    "name": _person(rng),
                    "role": role,
                    "password_hash": password,
                    "created_at": now - timedelta(days=300),
                }
            )
            return uid

        regulator_org = org(OrgKind.GOVERNMENT, "云南省市场监督管理局", "530000")
        regulators = [user(regulator_org, Role.REGULATOR, "regulator") for _ in range(2)]
        departments = []  # (org id, officer user id)
        for k in range(n["departments"]):
            name = [
                "生态环境局",
                "水务局",
                "应急管理局",
                "自然资源和规划局",
                "住房和城乡建设局",
                "发展和改革委员会",
                "气象局",
                "交通运输局",
            ][k % 8]
            dept = org(OrgKind.GOVERNMENT, f"昆明市{name}", "530100")
            departments.append((dept, user(dept, Role.APPROVAL_OFFICER, "officer")))
        enterprises = []  # (org id, user id, region)
        for _ in range(n["enterprises"]):
            region = rng.choice(PROVINCE_REGIONS)
            eid = org(
                OrgKind.ENTERPRISE,
                f"{rng.choice(PLACE_HEADS)}{rng.choice(NAME_HEADS)}{rng.choice(ENTERPRISE_TAILS)}",
                region,
            )
            enterprises.append((eid, user(eid, Role.ENTERPRISE_STAFF, "enterprise"), region))
        agencies = []  # (org id, user id, name)
        names = set()
        for _ in range(n["agencies"]):
            region = rng.choice(PROVINCE_REGIONS * 4 + OTHER_REGIONS)
            while True:
                name = f"{rng.choice(PLACE_HEADS)}{rng.choice(NAME_HEADS)}{rng.choice(NAME_TAILS)}"
                if name not in names:
                    break
                name = f"{rng.choice(PLACE_HEADS)}{rng.choice(NAME_HEADS)}{rng.randint(2, 99)}{rng.choice(NAME_TAILS)}"
                if name not in names:
                    break
            names.add(name)
            aid = org(OrgKind.AGENCY, name, region, address=f"{region}某路{rng.randint(1, 999)}号")
            agencies.append((aid, user(aid, Role.AGENCY_STAFF, "agency"), name))
        _insert(conn, T["organisations"], orgs, counts)
        _insert(conn, T["users"], users, counts)
        progress(f"  organisations {len(orgs)}, users {len(users)}")

        # --- sanctioned agencies: half suspended, half blacklisted (listings withdrawn) -------
        sanctioned = rng.sample(agencies, n["sanctioned"])
        blacklisted = {a[0] for a in sanctioned[::2]}
        suspended = {a[0] for a in sanctioned[1::2]}

        # --- agency profiles, regions, declarations, practitioners, listings, qualifications --
        profiles, regions, declarations, people, quals, listings, versions = (
            [],
            [],
            [],
            [],
            [],
            [],
            [],
        )
        per_agency = [n["listings"] // n["agencies"]] * n["agencies"]
        for k in range(n["listings"] - sum(per_agency)):
            per_agency[k] += 1
        offers: dict[int, list[tuple]] = {
            iid: [] for iid in item_ids
        }  # item → (agency, listing, terms)
        lapsed_agencies = set()
        weights = [item_weight[i] for i in item_ids]
        for (aid, _uid, name), count in zip(agencies, per_agency, strict=True):
            nationwide = rng.random() < 0.4
            profiles.append(
                {
                    "organisation_id": aid,
                    "serves_nationwide": nationwide,
                    "introduction": f"{name}长期为云南省内建设项目提供中介服务，"
                    + rng.choice(STANDARDS),
                    "website": "",
                    "updated_at": now - timedelta(days=30),
                }
            )
            if not nationwide:
                for code in sorted(
                    set(rng.sample(PROVINCE_REGIONS, rng.randint(1, 3))) | {"530000"}
                ):
                    regions.append({"organisation_id": aid, "region_code": code})
            declarations.append(
                {
                    "id": ids.take(T["independence_declarations"]),
                    "organisation_id": aid,
                    "statement": f"{name}声明：本机构与任何政府部门及其下属单位无隶属、挂靠、人员或财务关系。",
                    "decoupling_note": "",
                    "signer_name": _person(rng),
                    "signer_position": "法定代表人",
                    "signed_at": now - timedelta(days=200),
                }
            )
            for _p in range(rng.randint(1, 3)):
                people.append(
                    {
                        "id": ids.take(T["agency_practitioners"]),
                        "organisation_id": aid,
                        "name": _person(rng),
                        "certificate_no": f"{rng.randint(10**9, 10**10 - 1)}",
                        "specialty": rng.choice(SPECIALTIES),
                        "created_at": now - timedelta(days=200),
                    }
                )
            chosen: list[int] = []
            pool = list(item_ids)
            pool_w = list(weights)
            for _c in range(min(count, len(item_ids))):
                pick = rng.choices(range(len(pool)), weights=pool_w)[0]
                chosen.append(pool.pop(pick))
                pool_w.pop(pick)
            needed = sorted({q for iid in chosen for q in item_quals[iid]})
            lapsed = needed and aid not in blacklisted and rng.random() < 0.02
            for q in needed:
                levels, issuer = qual_levels[q]
                expired = lapsed and q == needed[0]
                quals.append(
                    {
                        "id": ids.take(T["agency_qualifications"]),
                        "organisation_id": aid,
                        "qualification_type_id": q,
                        "certificate_no": f"Q{q:02d}-{aid:06d}-{rng.randint(1000, 9999)}",
                        "level": rng.choice(levels),
                        "issuer": issuer or "云南省主管部门",
                        "valid_from": on - timedelta(days=rng.randint(300, 1500)),
                        "valid_to": on - timedelta(days=20)
                        if expired
                        else on + timedelta(days=rng.randint(200, 1500)),
                        "created_at": now - timedelta(days=300),
                        "updated_at": now - timedelta(days=300),
                    }
                )
            if lapsed:
                lapsed_agencies.add(aid)
            for iid in chosen:
                lid = ids.take(T["agency_listings"])
                limit = item_days[iid] or 60
                days = rng.randint(max(1, limit // 3), limit)
                if item_gov_fee[iid] and rng.random() < 0.5:
                    kind, low, high, disc = FeeKind.DISCOUNT, None, None, rng.randint(5, 30) * 100
                elif rng.random() < 0.5:
                    low = rng.randint(20, 300) * 100_000
                    kind, high, disc = FeeKind.FIXED, low, None
                else:
                    low = rng.randint(10, 200) * 100_000
                    kind, high, disc = FeeKind.RANGE, low * rng.randint(2, 4), None
                status = ListingStatus.WITHDRAWN if aid in blacklisted else ListingStatus.PUBLISHED
                created = now - timedelta(days=rng.randint(30, 700))
                listings.append(
                    {
                        "id": lid,
                        "organisation_id": aid,
                        "service_item_id": iid,
                        "status": status,
                        "current_version": 1,
                        "created_at": created,
                        "updated_at": created,
                    }
                )
                versions.append(
                    {
                        "id": ids.take(T["listing_versions"]),
                        "listing_id": lid,
                        "version": 1,
                        "fee_kind": kind,
                        "fee_min_fen": low,
                        "fee_max_fen": high,
                        "discount_bp": disc,
                        "fee_basis": FEE_BASES[2]
                        if kind is FeeKind.DISCOUNT
                        else FEE_BASES[kind is FeeKind.FIXED],
                        "time_limit_days": days,
                        "service_standard": rng.choice(STANDARDS),
                        "change_note": "",
                        "valid_from": created,
                    }
                )
                rule_ok = item_rule[iid] is QualificationRule.NONE or aid not in lapsed_agencies
                if status is ListingStatus.PUBLISHED and aid not in suspended and rule_ok:
                    offers[iid].append((aid, lid, kind, low, high, days))
        conn.execute(profiles_t.insert(), profiles)
        counts.rows["agency_profiles"] = len(profiles)
        if regions:
            _insert(conn, regions_t, regions, counts)
        _insert(conn, T["independence_declarations"], declarations, counts)
        _insert(conn, T["agency_practitioners"], people, counts)
        _insert(conn, T["agency_qualifications"], quals, counts)
        _insert(conn, T["agency_listings"], listings, counts)
        _insert(conn, T["listing_versions"], versions, counts)
        progress(
            f"  agencies {len(agencies)}, listings {len(listings)}, qualifications {len(quals)}"
        )

        # --- purchase requests, approval cases, bids, contracts, ratings, credit inputs ---------
        cases, case_items, requests, bids, contracts, windows, ratings, inputs, refs = (
            [] for _ in range(9)
        )
        outcome_ctx = SelectionContext(
            abnormal_mean_pct=config["PROCUREMENT_ABNORMAL_MEAN_PCT"],
            abnormal_next_pct=config["PROCUREMENT_ABNORMAL_NEXT_PCT"],
            credit=lambda _org: 0,
        )
        strategy = LowestPrice()
        agency_user = {a[0]: a[1] for a in agencies}
        agency_name = {a[0]: a[2] for a in agencies}
        # Items two listed agencies at least offer: lowest price needs two valid bids.
        biddable = [iid for iid in item_ids if len(offers[iid]) >= 2]
        biddable_w = [item_weight[i] for i in biddable]
        rating_budget = n["ratings"]
        board_mix = (
            [RequestStatus.PUBLISHED] * 35
            + [RequestStatus.AWARDED] * 40
            + [RequestStatus.FAILED] * 15
            + [RequestStatus.CANCELLED] * 10
        )
        total = n["requests"] + n["finished"]
        for k in range(total):
            finished = k >= n["requests"]
            status = RequestStatus.CLOSED if finished else board_mix[k % len(board_mix)]
            iid = rng.choices(biddable, weights=biddable_w)[0]
            ent, ent_user, region = rng.choice(enterprises)
            dept, officer = rng.choice(departments)
            case_id, rid = ids.take(T["approval_cases"]), ids.take(T["purchase_requests"])
            if finished:
                published = now - timedelta(days=rng.randint(120, 900), hours=rng.randint(0, 23))
            elif status is RequestStatus.PUBLISHED:
                published = now - timedelta(days=rng.randint(0, 6), hours=rng.randint(0, 23))
            else:
                published = now - timedelta(days=rng.randint(15, 90), hours=rng.randint(0, 23))
            deadline = published + timedelta(days=rng.randint(7, 15))
            project = f"{rng.choice(PLACE_HEADS)}{rng.choice(PROJECTS)}"
            cases.append(
                {
                    "id": case_id,
                    "case_number": f"SP{published.year}{case_id:08d}",
                    "approval_item_id": item_approval[iid],
                    "applicant_id": ent,
                    "department_id": dept,
                    "project_code": f"2026-530100-{case_id:06d}",
                    "project_name": project,
                    "status": CaseStatus.APPROVED if finished else CaseStatus.OPEN,
                    "created_by_id": ent_user,
                    "created_at": published - timedelta(days=3),
                    "updated_at": published,
                }
            )
            case_items.append({"approval_case_id": case_id, "service_item_id": iid})
            item_name, deliverable = item_text[iid]
            budget = rng.randint(5, 50) * 1_000_000
            req = {
                "id": rid,
                "approval_case_id": case_id,
                "enterprise_id": ent,
                "service_item_id": iid,
                "region_code": region,
                "title": f"{project}{item_name}采购",
                "content": f"{project}需开展{item_name}，请具备相应资质的中介机构报价。服务成果：{deliverable}。",
                "scale": f"总投资约{rng.randint(1, 80)}亿元",
                "is_budgeted": True,
                "budget_ceiling_fen": budget,
                "quote_min_fen": None,
                "quote_max_fen": None,
                "selection_method": SelectionMethod.LOWEST_PRICE,
                "bidding_deadline": deadline,
                "contact_name": _person(rng),
                "contact_phone": f"138{rng.randint(10**7, 10**8 - 1)}",
                "complaint_phone": "0871-12345",
                "status": status,
                "round_number": 1,
                "direct_reason": "",
                "failure_reason": "",
                "cancel_reason": "",
                "published_at": published,
                "created_by_id": ent_user,
                "created_at": published - timedelta(hours=2),
                "updated_at": published,
                "previous_round_id": None,
                "direct_agency_id": None,
                "weight_price": None,
                "weight_time": None,
                "weight_credit": None,
                "draw_seed": None,
                "draw_commitment": None,
                "selection_json": None,
                "awarded_org_id": None,
                "awarded_price_fen": None,
                "awarded_days": None,
                "closed_at": None,
                "awarded_at": None,
                "objection_deadline": None,
                "award_finalised_at": None,
                "ended_at": None,
            }
            requests.append(req)
            pool = offers[iid]
            if status is RequestStatus.CANCELLED:
                req["cancel_reason"] = "审批事项调整，项目暂缓实施。"
                continue
            if status is RequestStatus.FAILED:
                nbids = 1
            elif status is RequestStatus.PUBLISHED:
                nbids = rng.randint(0, 5)
            else:
                nbids = rng.randint(2, 6)
            bidders = rng.sample(pool, min(nbids, len(pool)))
            if status in (RequestStatus.AWARDED, RequestStatus.CLOSED) and len(bidders) < 2:
                status = req["status"] = RequestStatus.FAILED
            base = None
            candidates = []
            for aid, _lid, kind, low, high, days in bidders:
                if kind is FeeKind.DISCOUNT:
                    low, high = 2_000_000, 4_000_000
                base = base or rng.randint(low, high)
                price = min(max(low, int(base * rng.uniform(0.9, 1.1))), high)
                bid_days = rng.randint(max(1, days // 2), days)
                nonce = hashlib.sha256(f"{seed}-{rid}-{aid}".encode()).hexdigest()[:32]
                bid_id = ids.take(T["bids"])
                submitted = published + timedelta(hours=rng.randint(1, 100))
                bids.append(
                    {
                        "id": bid_id,
                        "request_id": rid,
                        "agency_id": aid,
                        "price_fen": price,
                        "days": bid_days,
                        "status": BidStatus.SUBMITTED,
                        "version": 1,
                        "seal_nonce": nonce,
                        "commitment": seal_commitment(
                            request_id=rid,
                            agency_id=aid,
                            price_fen=price,
                            days=bid_days,
                            version=1,
                            nonce=nonce,
                        ),
                        "submitted_at": submitted,
                        "final_submitted_at": submitted,
                        "submitted_by_id": agency_user[aid],
                        "is_abnormal": False,
                        "abnormal_decision": None,
                        "decision_reason": "",
                        "rejection_reason": "",
                    }
                )
                candidates.append(
                    Candidate(bid_id, aid, agency_name[aid], price, bid_days, submitted)
                )
            if status is RequestStatus.PUBLISHED:
                req["bidding_deadline"] = max(deadline, now + timedelta(days=rng.randint(1, 10)))
                continue
            req["closed_at"] = deadline
            if status is RequestStatus.FAILED:
                req["failure_reason"] = "有效报价不足两家，本次采购失败。"
                req["ended_at"] = deadline
                for b in bids[len(bids) - len(candidates) :]:
                    b["status"] = BidStatus.LOST
                continue
            outcome = strategy.rank(candidates, outcome_ctx)
            winner = outcome.ranking[0]
            objection = deadline + timedelta(days=5)
            req.update(
                selection_json=json.dumps(outcome.as_dict(), ensure_ascii=False, sort_keys=True),
                awarded_org_id=winner["agency_id"],
                awarded_price_fen=winner["price_fen"],
                awarded_days=winner["days"],
                awarded_at=deadline,
                objection_deadline=objection,
                award_finalised_at=objection if objection < now else None,
            )
            for b in bids[len(bids) - len(candidates) :]:
                b["status"] = BidStatus.WON if b["id"] == winner["bid_id"] else BidStatus.LOST
            if not finished:
                continue
            # A finished contract, its rating window and up to three ratings.
            effective = (objection + timedelta(days=3)).date()
            due = effective + timedelta(days=winner["days"] + 10)
            ended = datetime.combine(due, datetime.min.time(), UTC) - timedelta(
                days=rng.randint(0, 8)
            )
            req["ended_at"] = ended + timedelta(days=15)
            cid = ids.take(T["contracts"])
            contracts.append(
                {
                    "id": cid,
                    "contract_no": f"HT{effective.year}{cid:07d}",
                    "request_id": rid,
                    "buyer_org_id": ent,
                    "agency_org_id": winner["agency_id"],
                    "price_fen": winner["price_fen"],
                    "working_days": winner["days"],
                    "status": ContractStatus.COMPLETED,
                    "current_version": 1,
                    "lock_seq": 2,
                    "payment_terms": "",
                    "acceptance_terms": "",
                    "special_terms": "",
                    "template_version": None,
                    "signing_deadline": objection + timedelta(days=7),
                    "effective_date": effective,
                    "due_date": due,
                    "refusal_reason": "",
                    "created_at": objection,
                    "in_force_at": objection + timedelta(days=3),
                }
            )
            wid = ids.take(T["rating_windows"])
            revealed = ended + timedelta(days=rng.randint(1, 14))
            windows.append(
                {
                    "id": wid,
                    "contract_id": cid,
                    "buyer_org_id": ent,
                    "agency_org_id": winner["agency_id"],
                    "approval_case_id": case_id,
                    "opened_at": ended,
                    "closes_at": ended + timedelta(days=14),
                    "revealed_at": revealed,
                    "lock_seq": 3,
                }
            )
            quality = rng.choices([5, 4, 3, 2, 1], weights=[40, 35, 15, 7, 3])[0]
            authors = {
                RatingRole.ENTERPRISE: (ent, ent_user, winner["agency_id"]),
                RatingRole.APPROVAL_OFFICE: (dept, officer, winner["agency_id"]),
                RatingRole.AGENCY: (winner["agency_id"], agency_user[winner["agency_id"]], ent),
            }
            for role in (RatingRole.ENTERPRISE, RatingRole.AGENCY, RatingRole.APPROVAL_OFFICE):
                if rating_budget <= 0:
                    break
                rating_budget -= 1
                scores = {
                    d: min(5, max(1, quality + rng.choice([-1, 0, 0, 0, 1])))
                    for d in DIMENSIONS[role]
                }
                author_org, author, subject = authors[role]
                rating_id = ids.take(T["ratings"])
                submitted = ended + timedelta(hours=rng.randint(1, 300))
                submitted = min(submitted, revealed)
                row = {
                    "id": rating_id,
                    "window_id": wid,
                    "contract_id": cid,
                    "approval_case_id": case_id,
                    "role": role,
                    "status": RatingStatus.REVEALED,
                    "author_org_id": author_org,
                    "author_id": author,
                    "subject_org_id": subject,
                    "mean_centi": mean_centi(scores),
                    "comment": rng.choice(
                        ["", "服务规范，响应及时。", "报告质量较好，修改及时。", "沟通顺畅。"]
                    ),
                    "submitted_at": submitted,
                    "revealed_at": revealed,
                    "credit_input_id": None,
                    "comment_hidden_reason": "",
                    "reply_hidden_reason": "",
                    **{
                        d: scores.get(d)
                        for d in (
                            "quality",
                            "timeliness",
                            "attitude",
                            "fees",
                            "conduct",
                            "conformity",
                            "cooperation",
                            "payment",
                        )
                    },
                }
                ratings.append(row)
                if role is RatingRole.AGENCY:
                    continue
                input_id = ids.take(T["credit_inputs"])
                row["credit_input_id"] = input_id
                inputs.append(
                    {
                        "id": input_id,
                        "organisation_id": subject,
                        "kind": (
                            CreditInputKind.RATING_ENTERPRISE
                            if role is RatingRole.ENTERPRISE
                            else CreditInputKind.RATING_APPROVAL_OFFICE
                        ),
                        "effect": InputEffect.ADD,
                        "value": row["mean_centi"],
                        "weight": 100,
                        "level": None,
                        "cancels_id": None,
                        "note": f"HT{effective.year}{cid:07d} {role.value}",
                        "occurred_at": submitted,
                        "recorded_at": revealed,
                        "recorded_by_id": None,
                    }
                )
                for otype, oid, label in (
                    (RefType.CONTRACT, cid, f"HT{effective.year}{cid:07d}"),
                    (RefType.APPROVAL_CASE, case_id, f"SP{published.year}{case_id:08d}"),
                    (RefType.RATING, rating_id, role.value),
                ):
                    refs.append(
                        {
                            "id": ids.take(T["credit_input_refs"]),
                            "input_id": input_id,
                            "object_type": otype,
                            "object_id": str(oid),
                            "label": label,
                        }
                    )

        # Sanctions decided by one regulator, proposed by the other, with their credit entries.
        sanctions = []
        for aid, _uid, _name in sanctioned:
            kind = SanctionKind.BLACKLIST if aid in blacklisted else SanctionKind.SUSPENSION
            sid = ids.take(T["sanction_cases"])
            decided = now - timedelta(days=rng.randint(10, 200))
            start = (decided + timedelta(days=1)).date()
            sanctions.append(
                {
                    "id": sid,
                    "organisation_id": aid,
                    "kind": kind,
                    "ground_code": "falsified_report"
                    if kind is SanctionKind.BLACKLIST
                    else "serious_overrun",
                    "facts": "经核查，该机构出具的报告存在严重失实，已造成不良影响。",
                    "status": SanctionStatus.DECIDED,
                    "proposer_id": regulators[0],
                    "proposed_at": decided - timedelta(days=20),
                    "trigger_code": None,
                    "trigger_key": None,
                    "trigger_params": "{}",
                    "notified_by_id": regulators[0],
                    "notified_at": decided - timedelta(days=18),
                    "response_deadline": (decided - timedelta(days=10)).date(),
                    "decider_id": regulators[1],
                    "decided_at": decided,
                    "decision_reason": "事实清楚，证据确凿。",
                    "start_date": start,
                    "end_date": None
                    if kind is SanctionKind.BLACKLIST
                    else on + timedelta(days=180),
                    "original_end_date": None,
                    "withdrawn_reason": "",
                    "appeal_reason": "",
                    "repaired_on": None,
                    "exit_started_at": decided + timedelta(days=1)
                    if kind is SanctionKind.BLACKLIST
                    else None,
                    "updated_at": decided,
                }
            )
            input_id = ids.take(T["credit_inputs"])
            inputs.append(
                {
                    "id": input_id,
                    "organisation_id": aid,
                    "kind": CreditInputKind.SANCTION,
                    "effect": InputEffect.ADD,
                    "value": 1,
                    "weight": 100,
                    "level": SanctionLevel(kind.value),
                    "cancels_id": None,
                    "note": f"sanction {sid}",
                    "occurred_at": decided,
                    "recorded_at": decided,
                    "recorded_by_id": regulators[1],
                }
            )
            refs.append(
                {
                    "id": ids.take(T["credit_input_refs"]),
                    "input_id": input_id,
                    "object_type": RefType.SANCTION,
                    "object_id": str(sid),
                    "label": f"sanction:{sid}",
                }
            )

        _insert(conn, T["approval_cases"], cases, counts)
        _insert(conn, approval_case_service_items, case_items, counts)
        _insert(conn, T["purchase_requests"], requests, counts)
        _insert(conn, T["bids"], bids, counts)
        _insert(conn, T["contracts"], contracts, counts)
        _insert(conn, T["rating_windows"], windows, counts)
        _insert(conn, T["credit_inputs"], inputs, counts)
        _insert(conn, T["credit_input_refs"], refs, counts)
        _insert(conn, T["ratings"], ratings, counts)
        _insert(conn, T["sanction_cases"], sanctions, counts)
        progress(
            f"  requests {len(requests)}, bids {len(bids)}, contracts {len(contracts)}, "
            f"ratings {len(ratings)}, credit inputs {len(inputs)}"
        )
        if conn.dialect.name == "postgresql":
            for name in ids.next:
                conn.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 1) FROM {name}))"
                    )
                )

    # Credit scores: the ledger folded by the app, scored by the formula in force.
    formula = current_formula()
    score_rows, history = [], []
    for org_id, agg in sorted(ledger_aggregates().items()):
        result = evaluate(formula, agg)
        score_rows.append(
            {
                "organisation_id": org_id,
                "version": 1,
                **agg.as_dict(),
                "score_centi": result.score_centi,
                "grade": result.grade,
                "formula_version": formula.version,
                "last_input_id": None,
                "updated_at": now,
            }
        )
        history.append(
            {
                "organisation_id": org_id,
                "score_centi": result.score_centi,
                "grade": result.grade,
                "previous_score_centi": None,
                "previous_grade": None,
                "formula_version": formula.version,
                "reason": HistoryReason.RECOMPUTE,
                "input_id": None,
                "created_at": now,
            }
        )
    db.session.remove()
    with db.engine.begin() as conn:
        _insert(conn, scores_t, score_rows, counts)
        _insert(conn, T["credit_score_history"], history, counts)
    counts.seconds = time.perf_counter() - t0
    counts.ids = {"blacklisted": sorted(blacklisted), "suspended": sorted(suspended)}
    return counts


def summary() -> dict[str, int]:
    """Counts read back through the app's own rules (what the public pages can show)."""
    from marketplace.accounts.models import Organisation, OrgKind
    from marketplace.agencies.eligibility import listing_visible_sql, today
    from marketplace.agencies.models import Listing, ListingStatus
    from marketplace.credit.models import CreditInput, CreditScore
    from marketplace.extensions import db
    from marketplace.procurement.models import Bid, PurchaseRequest, RequestStatus
    from marketplace.ratings.models import Rating

    def count(stmt) -> int:
        return db.session.execute(
            sa.select(sa.func.count()).select_from(stmt.subquery())
        ).scalar_one()

    on = today()
    return {
        "agencies": count(sa.select(Organisation.id).where(Organisation.kind == OrgKind.AGENCY)),
        "listings": count(sa.select(Listing.id)),
        "published listings": count(
            sa.select(Listing.id).where(Listing.status == ListingStatus.PUBLISHED)
        ),
        "visible listings": count(sa.select(Listing.id).where(listing_visible_sql(on))),
        "purchase requests": count(sa.select(PurchaseRequest.id)),
        "open for bids": count(
            sa.select(PurchaseRequest.id).where(PurchaseRequest.status == RequestStatus.PUBLISHED)
        ),
        "bids": count(sa.select(Bid.id)),
        "ratings": count(sa.select(Rating.id)),
        "credit inputs": count(sa.select(CreditInput.id)),
        "credit scores": count(sa.select(CreditScore.organisation_id)),
    }


def _chunks(values: list, size: int):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _search_documents(doc_type: str, provider, batch: int):
    """The app's own search documents of one type, a batch at a time (lists of documents)."""
    from sqlalchemy.orm import selectinload

    from marketplace.agencies.models import Listing
    from marketplace.credit.services import credit_grades_for
    from marketplace.extensions import db
    from marketplace.procurement.models import ApprovalCase, PurchaseRequest, RequestStatus
    from marketplace.procurement.search import announcement_search_document

    if doc_type == "listing":
        for ids in _chunks(sorted(provider.all_ids()), batch):
            visible = provider.is_visible_now(ids)
            listings = (
                db.session.execute(provider._query().where(Listing.id.in_(visible))).scalars().all()
            )
            grades = credit_grades_for({item.organisation_id for item in listings})
            yield [
                provider._document(item, True, grades.get(item.organisation_id))
                for item in listings
                if item.current is not None
            ]
            db.session.expunge_all()
    elif doc_type == "announcement":
        ids = list(
            db.session.execute(
                sa.select(PurchaseRequest.id)
                .where(PurchaseRequest.status != RequestStatus.DRAFT)
                .order_by(PurchaseRequest.id)
            ).scalars()
        )
        for chunk in _chunks(ids, batch):
            requests = (
                db.session.execute(
                    sa.select(PurchaseRequest)
                    .where(PurchaseRequest.id.in_(chunk))
                    .options(
                        selectinload(PurchaseRequest.service_item),
                        selectinload(PurchaseRequest.enterprise),
                        selectinload(PurchaseRequest.awarded_org),
                        selectinload(PurchaseRequest.required_qualifications),
                        selectinload(PurchaseRequest.approval_case).selectinload(
                            ApprovalCase.approval_item
                        ),
                    )
                )
                .scalars()
                .all()
            )
            yield [doc for doc in map(announcement_search_document, requests) if doc is not None]
            db.session.expunge_all()
    else:
        docs = [doc for doc in provider.iter_documents() if doc.visible]
        yield from _chunks(docs, batch)


def index_search(*, batch: int = 2000, progress=print) -> dict[str, int]:
    """Store every visible document as ``reindex_all`` does, then rebuild the index from the store.

    The documents are the app's own (its providers' document builders); only the batching is
    ours: ``reindex_all`` reads every visible listing through one ``IN`` list (about 98,000 bind
    parameters at full scale, over PostgreSQL's 65,535) and each announcement with a handful of
    lazy loads, which at 53,000 announcements takes longer than the rest of the benchmark.
    """
    from marketplace.extensions import db
    from marketplace.search import store
    from marketplace.search.documents import providers
    from marketplace.search.indexing import rebuild_index

    counts = {}
    for doc_type, provider in providers().items():
        t0, count = time.perf_counter(), 0
        for docs in _search_documents(doc_type, provider, batch):
            store.save_documents(docs)
            db.session.commit()
            count += len(docs)
        counts[doc_type] = count
        progress(f"  search documents: {doc_type} {count:,} in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    rebuild_index()
    progress(f"  search index rebuilt from the store in {time.perf_counter() - t0:.1f} s")
    return counts
