"""Demonstration agencies with qualifications and published listings (``flask seed demo``).

Validity dates are relative to today so that the demo stays current; everything else is fixed.
One agency's design qualification has lapsed, so its design listing is hidden: the demo shows
the rule at work.
"""

from __future__ import annotations

import random
from datetime import timedelta

from marketplace.agencies.eligibility import today

# name, registered region, regions served (empty: nationwide), legal representative,
# qualifications (type, level, issuer, years valid ahead — negative: lapsed),
# practitioners (name, specialty), listings (item, kind, min yuan, max yuan / discount %, days)
AGENCIES = [
    {
        "name": "昆明精诚测绘科技有限公司", "region": "530111", "serves": ["530100", "530400"],
        "legal": "杨建华",
        "quals": [("CH", "甲级", "自然资源部", 3)],
        "people": [("杨建华", "注册测绘师"), ("李卫东", "注册测绘师")],
        "listings": [
            ("ZJ-012", "discount", None, 10, 10), ("ZJ-013", "fixed", 8000, None, 3),
            ("ZJ-014", "range", 12000, 60000, 7), ("ZJ-015", "discount", None, 15, 7),
            ("ZJ-016", "range", 20000, 90000, 12),
        ],
    },
    {
        "name": "四川蜀安安全技术咨询有限公司", "region": "510100", "serves": ["510000", "530000"],
        "legal": "何志强",
        "quals": [("AQPJ", "甲级", "应急管理部", 2), ("ZYWS", "乙级", "四川省卫生健康委员会", 2)],
        "people": [("何志强", "注册安全工程师"), ("罗晓梅", "安全评价师（一级）")],
        "listings": [
            ("ZJ-006", "range", 60000, 120000, 25), ("ZJ-028", "fixed", 45000, None, 15),
            ("ZJ-029", "fixed", 38000, None, 15),
        ],
    },
    {
        "name": "云南滇建施工图审查中心有限公司", "region": "530102", "serves": ["530000"],
        "legal": "陈立新",
        "quals": [("STJS", "一类", "云南省住房和城乡建设厅", 2)],
        "people": [("陈立新", "一级注册结构工程师"), ("赵敏", "一级注册建筑师")],
        "listings": [("ZJ-021", "range", 20000, 200000, 12), ("ZJ-024", "fixed", 15000, None, 10)],
    },
    {
        "name": "昆明天衡气象防雷技术有限公司", "region": "530112", "serves": ["530100"],
        "legal": "马天衡",
        "quals": [("FLJC", "乙级", "云南省气象局", 1)],
        "people": [("马天衡", "防雷检测专业技术人员")],
        "listings": [
            ("ZJ-031", "fixed", 6000, None, 5), ("ZJ-032", "fixed", 3500, None, 3),
            ("ZJ-033", "range", 20000, 50000, 10),
        ],
    },
    {
        "name": "云南恒信工程咨询有限公司", "region": "530103", "serves": [],
        "legal": "刘恒信",
        "quals": [("GCSJ", "乙级", "云南省住房和城乡建设厅", -1)],
        "people": [("刘恒信", "注册咨询工程师（投资）")],
        "listings": [
            ("ZJ-026", "fixed", 80000, None, 20), ("ZJ-027", "fixed", 60000, None, 20),
            ("ZJ-030", "range", 150000, 400000, 40),
        ],
    },
    {
        "name": "北京中勘岩土工程有限公司", "region": "110000", "serves": [],
        "legal": "王中勘",
        "quals": [("GCKC", "甲级", "住房和城乡建设部", 4), ("GCSJ", "甲级", "住房和城乡建设部", 4)],
        "people": [("王中勘", "注册土木工程师（岩土）")],
        "listings": [("ZJ-022", "discount", None, 20, 20), ("ZJ-038", "range", 30000, 80000, 15)],
    },
]

DEMO_AGENCY = {
    "serves": ["530000"],
    "intro": "专注建设项目环境影响评价、水土保持和地质灾害评估，服务云南全省十余年，累计完成评价报告六百余份。",
    "quals": [("DZZH", "乙级", "云南省自然资源厅", 2), ("CH", "乙级", "云南省自然资源厅", 1)],
    "people": [("孙工", "环境影响评价工程师"), ("周雨", "注册土木工程师（岩土）"), ("吴青山", "注册环保工程师")],
    "listings": [
        ("ZJ-001", "range", 80000, 150000, 45), ("ZJ-002", "fixed", 45000, None, 20),
        ("ZJ-010", "range", 30000, 60000, 25),
    ],
    "draft": [("ZJ-003", "fixed", 30000, None, 25)],
}

STANDARDS = {
    "ZJ-001": "按《建设项目环境影响评价技术导则 总纲》(HJ 2.1) 及相关专项导则编制；含现场踏勘、监测方案、公众参与协助与技术评审修改。",
    "ZJ-002": "按《生产建设项目水土保持技术标准》(GB 50433) 编制；含现场调查、防治措施设计与专家评审修改。",
    "ZJ-010": "按《地质灾害危险性评估规范》(GB/T 40112) 开展现场调查与评估；成果通过专家审查。",
}
DEFAULT_STANDARD = "按国家和行业现行技术规范完成；承诺一次性告知所需资料，成果经专家或主管部门审查通过，免费修改至合格。"


def _terms(kind: str, low, high, days: int, code: str) -> dict:
    from marketplace.agencies.models import FeeKind

    terms = {"time_limit_days": days, "service_standard": STANDARDS.get(code, DEFAULT_STANDARD),
             "fee_kind": FeeKind(kind)}
    if kind == "fixed":
        terms.update(fee_min_fen=low * 100, fee_basis="按项目一次性包干收费，含专家评审修改。")
    elif kind == "range":
        terms.update(fee_min_fen=low * 100, fee_max_fen=high * 100,
                     fee_basis="按项目规模、技术复杂程度在区间内确定，签约前书面报价。")
    else:
        terms.update(discount_bp=high * 100, fee_basis="以政府指导价为基准下浮，按实际工作量计。")
    return terms


def _profile(org, *, serves, intro, quals, people, catalog, rng) -> None:
    from marketplace.agencies.models import ServiceRegion
    from marketplace.extensions import db
    from tests.factories import (
        AgencyProfileFactory,
        IndependenceDeclarationFactory,
        PractitionerFactory,
        QualificationFactory,
    )

    AgencyProfileFactory(organisation=org, introduction=intro, serves_nationwide=not serves)
    for code in serves:
        db.session.add(ServiceRegion(organisation_id=org.id, region_code=code))
    IndependenceDeclarationFactory(
        organisation_id=org.id, signer_name=org.legal_representative, signer_position="法定代表人",
        statement=f"{org.name}声明：本机构与任何政府部门及其下属单位无隶属、挂靠、人员或财务关系，已与原主管部门脱钩。",
    )
    on = today()
    for qcode, level, issuer, years in quals:
        start = on - timedelta(days=365 * 2 + rng.randint(0, 200))
        end = on + timedelta(days=365 * years - rng.randint(0, 60)) if years > 0 else on - timedelta(days=40)
        QualificationFactory(
            organisation_id=org.id, qualification_type=catalog["qualification_types"][qcode],
            level=level, issuer=issuer, valid_from=start, valid_to=end,
            certificate_no=f"{qcode}-{rng.randint(10**7, 10**8 - 1)}",
        )
    for name, specialty in people:
        PractitionerFactory(organisation_id=org.id, name=name, specialty=specialty,
                            certificate_no=f"{rng.randint(10**9, 10**10 - 1)}")


def load_agency_demo(demo_agency, catalog: dict, rng: random.Random) -> list:
    """Give the demo agency a full profile and listings, and add the other demo agencies."""
    from marketplace.agencies.models import ListingStatus
    from marketplace.audit.services import record_event
    from marketplace.demo.accounts import demo_contact
    from tests.factories import AgencyFactory, ListingFactory, make_uscc

    items = catalog["service_items"]
    _profile(demo_agency, serves=DEMO_AGENCY["serves"], intro=DEMO_AGENCY["intro"],
             quals=DEMO_AGENCY["quals"], people=DEMO_AGENCY["people"], catalog=catalog, rng=rng)
    listings = []
    for code, kind, low, high, days in DEMO_AGENCY["listings"]:
        listings.append(ListingFactory(organisation=demo_agency, service_item=items[code],
                                       status=ListingStatus.PUBLISHED, **_terms(kind, low, high, days, code)))
    for code, kind, low, high, days in DEMO_AGENCY["draft"]:
        listings.append(ListingFactory(organisation=demo_agency, service_item=items[code],
                                       status=ListingStatus.DRAFT, **_terms(kind, low, high, days, code)))
    for spec in AGENCIES:
        org = AgencyFactory(name=spec["name"], region_code=spec["region"], uscc=make_uscc(rng),
                            legal_representative=spec["legal"],
                            **demo_contact(spec["name"], spec["region"]))
        record_event("organisation.created", org, actor="seed", payload={"name": org.name, "demo": True})
        _profile(org, serves=spec["serves"], intro="", quals=spec["quals"], people=spec["people"],
                 catalog=catalog, rng=rng)
        for code, kind, low, high, days in spec["listings"]:
            listings.append(ListingFactory(organisation=org, service_item=items[code],
                                           status=ListingStatus.PUBLISHED,
                                           **_terms(kind, low, high, days, code)))
    for listing in listings:
        record_event("listing.created", listing, actor="seed",
                     payload={"service_item": listing.service_item.code, "status": str(listing.status),
                              "demo": True})
    return listings
