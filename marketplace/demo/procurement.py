"""Demonstration approval cases and purchase requests in every interesting state.

``load_procurement_demo()`` runs after the accounts, catalogue and agency demo data
(``marketplace.demo.load_demo`` calls it). It goes through the same services as the web pages, on a
clock set two weeks back for the rounds that are already decided, so every record (bids,
sealing, draw, award, objection period) is real. Deterministic except for the draw seeds.
"""

from __future__ import annotations

import random
from datetime import timedelta

import sqlalchemy as sa

from marketplace.demo.accounts import DEMO_ACCOUNTS

# name, legal representative, registered region, listings (item code, min yuan, max yuan, days)
BIDDERS = [
    ("云南碧水环境工程咨询有限公司", "段海明", "530102",
     [("ZJ-001", 60000, 180000, 50), ("ZJ-002", 30000, 80000, 25), ("ZJ-010", 20000, 80000, 28)]),
    ("昆明中环环保科技有限公司", "李春燕", "530111",
     [("ZJ-001", 70000, 160000, 40), ("ZJ-002", 35000, 90000, 20), ("ZJ-010", 25000, 90000, 30)]),
    ("贵州黔源生态技术服务有限公司", "张黔生", "520100",
     [("ZJ-001", 65000, 170000, 45), ("ZJ-002", 28000, 75000, 30), ("ZJ-010", 22000, 70000, 25)]),
]

# key, case number, project, project code, approval item, service items
CASES = [
    ("road", "昆审批环〔2026〕0101号", "滇池新区环湖东路道路工程", "2026-530112-48-01-000101", "XK-001", ["ZJ-001"]),
    ("park", "昆审批水〔2026〕0102号", "滇池新区湿地公园配套设施", "2026-530112-78-01-000102", "XK-002", ["ZJ-002"]),
    ("land", "昆审批地〔2026〕0103号", "滇池新区安置房（二期）用地", "2026-530112-70-01-000103", "XK-011", ["ZJ-010"]),
    ("school", "昆审批环〔2026〕0104号", "滇池新区第一中学新建工程", "2026-530112-83-01-000104", "XK-001", ["ZJ-001"]),
    ("pipe", "昆审批水〔2026〕0105号", "滇池新区雨污分流管网工程", "2026-530112-48-01-000105", "XK-002", ["ZJ-002"]),
    ("clinic", "昆审批地〔2026〕0106号", "滇池新区社区卫生服务中心", "2026-530112-84-01-000106", "XK-010", ["ZJ-010"]),
    ("depot", "昆审批环〔2026〕0107号", "滇池新区公交首末站", "2026-530112-54-01-000107", "XK-001", ["ZJ-001"]),
]

CONTENT = (
    "一、服务内容：按国家和行业技术规范完成{service}，提交成果文件并配合主管部门审查、按审查意见修改至通过。\n"
    "二、服务期限：以中选机构承诺的工作日为准，自合同签订之日起计算。\n"
    "三、资格要求：具备本服务事项在目录中列明的资质（如有），未被暂停或列入黑名单。\n"
    "四、其他：报价包含现场踏勘、专家评审配合等全部费用。"
)


def _find(model, **by):
    from marketplace.extensions import db

    return db.session.execute(sa.select(model).filter_by(**by)).scalar_one()


def _bidders(items: dict, password_hash: str):
    """Three extra agencies listing the demo items, their terms in force since months ago."""
    from marketplace.accounts.models import Role
    from marketplace.agencies.eligibility import today
    from marketplace.agencies.models import FeeKind, ListingStatus, ListingVersion
    from marketplace.core.db import utcnow
    from marketplace.demo.accounts import demo_contact
    from marketplace.extensions import db
    from tests.factories import (
        AgencyFactory,
        IndependenceDeclarationFactory,
        ListingFactory,
        QualificationFactory,
        UserFactory,
        make_uscc,
    )

    rng = random.Random(20261124)
    agencies, staff = [], []
    for n, (name, legal, region, listings) in enumerate(BIDDERS, start=1):
        org = AgencyFactory(name=name, legal_representative=legal, region_code=region, uscc=make_uscc(rng),
                            **demo_contact(name, region))
        IndependenceDeclarationFactory(organisation_id=org.id, signer_name=legal, signer_position="法定代表人")
        for code, low, high, days in listings:
            item = items[code]
            for qtype in item.qualification_types:
                QualificationFactory(organisation_id=org.id, qualification_type=qtype,
                                     valid_from=today() - timedelta(days=400),
                                     valid_to=today() + timedelta(days=365 * (1 + n)))
            listing = ListingFactory(organisation=org, service_item=item, status=ListingStatus.PUBLISHED,
                                     fee_kind=FeeKind.RANGE, fee_min_fen=low * 100, fee_max_fen=high * 100,
                                     time_limit_days=days, fee_basis="按项目规模在区间内确定。")
            db.session.execute(
                sa.update(ListingVersion).where(ListingVersion.listing_id == listing.id)
                .values(valid_from=utcnow() - timedelta(days=120))
            )
        agencies.append(org)
        staff.append(UserFactory(organisation=org, role=Role.AGENCY_STAFF, name=f"{legal}",
                                 email=f"bidder{n}@demo.zhongjie.test", password_hash=password_hash))
    db.session.flush()
    return agencies, staff


def load_procurement_demo() -> dict[str, int]:
    """Cases and purchase requests in various states for the demo accounts; returns ids by key."""
    from marketplace.accounts.models import User
    from marketplace.catalog.models import ApprovalItem, ServiceItem
    from marketplace.core.db import utcnow
    from marketplace.extensions import db
    from marketplace.procurement import services
    from marketplace.procurement.models import SelectionMethod

    emails = {role: email for role, email, _name, _org in DEMO_ACCOUNTS}
    owner = _find(User, email=emails["enterprise_staff"])
    officer = _find(User, email=emails["approval_officer"])
    agency_user = _find(User, email=emails["agency_staff"])
    items = {code: _find(ServiceItem, code=code) for code in ("ZJ-001", "ZJ-002", "ZJ-010")}
    agencies, staff = _bidders(items, owner.password_hash)

    cases = {}
    for key, number, project, code, approval, needed in CASES:
        cases[key] = services.create_approval_case(
            actor=owner, approval_item_id=_find(ApprovalItem, code=approval).id, project_name=project,
            service_item_ids=[items[c].id for c in needed], case_number=number, project_code=code,
            department_id=officer.organisation_id,
        )

    now = utcnow()
    past = now - timedelta(days=14)

    def request_for(key, method=SelectionMethod.LOWEST_PRICE, at=now, ceiling=150_000_00, **extra):
        case = cases[key]
        item = case.service_items[0]
        data = services.RequestInput(
            title=f"{case.project_name}{item.name}采购公告", content=CONTENT.format(service=item.name),
            scale=f"总投资约{len(case.project_name) * 0.3:.1f}亿元", selection_method=method,
            bidding_deadline=services.default_deadline(at), contact_name=owner.name,
            contact_phone="0871-64600000", complaint_phone="0871-12345", is_budgeted=True,
            budget_ceiling_fen=ceiling, **extra,
        )
        return services.create_request(case, item, data, actor=owner)

    def publish(req, at):
        services.publish_request(req, actor=owner, now=at)

    def bid(req, who, price_yuan, days, at):
        org, user = who
        services.submit_bid(req, org=org, price_fen=price_yuan * 100, days=days, actor=user, now=at)

    bidders = list(zip(agencies, staff, strict=True))
    ids = {}

    # Decided two weeks ago: lowest price (final), comprehensive scoring, random draw, direct.
    decided = [
        ("park", SelectionMethod.LOWEST_PRICE, {}, [(0, 62000, 22), (1, 58800, 20), (2, 60500, 28)]),
        ("school", SelectionMethod.SCORING, {"weight_price": 60, "weight_time": 30, "weight_credit": 10},
         [(0, 128000, 48), (1, 139000, 35), (2, 121000, 44)]),
        ("pipe", SelectionMethod.RANDOM_DRAW, {}, [(0, 70000, 24), (1, 72000, 18), (2, 68000, 30)]),
        ("clinic", SelectionMethod.DIRECT,
         {"direct_agency_id": agencies[2].id,
          "direct_reason": "该机构已承担本地块前期地质勘查，掌握现场资料，可缩短评估周期。"},
         [(2, 45000, 20)]),
    ]
    for key, method, extra, offers in decided:
        req = request_for(key, method, at=past, **extra)
        publish(req, past)
        for n, (who, price, days) in enumerate(offers):
            bid(req, bidders[who], price, days, past + timedelta(hours=n + 1))
        services.advance_request(req, req.bidding_deadline + timedelta(minutes=5))
        services.advance_request(req, now)  # the objection period is over: the award is final
        ids[key] = req.id

    # Failed two weeks ago (one valid bid) and published again as round 2, open now.
    failed = request_for("land", at=past)
    publish(failed, past)
    bid(failed, bidders[0], 52000, 25, past + timedelta(hours=2))
    services.advance_request(failed, failed.bidding_deadline + timedelta(minutes=5))
    second = services.republish_request(failed, actor=owner, now=now)
    publish(second, now)
    bid(second, bidders[1], 49000, 26, now)
    ids["land"], ids["land_round2"] = failed.id, second.id

    # Open now: a random draw the demo agency has bid on (its bid is sealed to everyone else).
    road = request_for("road", SelectionMethod.RANDOM_DRAW)
    publish(road, now)
    bid(road, (agency_user.organisation, agency_user), 118000, 40, now)
    bid(road, bidders[0], 125000, 45, now)
    ids["road"] = road.id

    # A draft the enterprise has not published yet.
    ids["depot"] = request_for("depot").id
    db.session.flush()
    return ids
