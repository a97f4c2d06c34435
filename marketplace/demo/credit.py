"""Demonstration credit data and sanctions (``flask seed demo`` calls ``load_credit_demo``).

Needs the demo accounts and agencies of the earlier stages of ``marketplace.demo.load_demo``.
Adds a second regulator (same password as the other demo accounts) so that the two-person rule
can be tried, ratings and penalties for the demo agencies, one decided warning and one
blacklisting of an extra agency. Dates are relative to today so that the demo stays current.
"""

from __future__ import annotations

import random
from datetime import timedelta

import sqlalchemy as sa

from marketplace.demo.accounts import DEMO_ACCOUNTS

SECOND_REGULATOR_EMAIL = "regulator2@demo.zhongjie.test"

# agency name → enterprise ratings, approval-office ratings, overrun days, complaints upheld
CREDIT = {
    "云南绿源环境科技咨询有限公司": ([4.8, 4.6, 5.0, 4.4, 4.8, 4.6], [4.5, 5.0], [], 0),
    "昆明精诚测绘科技有限公司": ([4.6, 4.2, 4.8, 4.4], [4.5], [], 0),
    "四川蜀安安全技术咨询有限公司": ([4.0, 3.8, 4.2], [4.0], [3], 0),
    "云南滇建施工图审查中心有限公司": ([4.4, 4.6, 4.2], [4.5, 4.0], [], 0),
    "昆明天衡气象防雷技术有限公司": ([3.2, 2.8, 3.6], [3.0], [12], 1),
    "北京中勘岩土工程有限公司": ([4.2, 4.0], [], [2], 0),
}
BLACKLISTED = "云南速达工程咨询服务有限公司"


def _demo_case(case_number: str, project: str, item_code: str):
    """An approval case of the demo enterprise at the demo approval office, for sanction evidence
    (evidence names a real record: unknown numbers are refused)."""
    from marketplace.accounts.models import Role, User
    from marketplace.catalog.models import ServiceItem
    from marketplace.extensions import db
    from marketplace.procurement.models import ApprovalCase
    from tests.factories.procurement import ApprovalCaseFactory

    found = db.session.execute(sa.select(ApprovalCase).where(ApprovalCase.case_number == case_number)).scalar_one_or_none()
    if found is not None:
        return found
    emails = {role: email for role, email, _name, _org in DEMO_ACCOUNTS}
    owner = db.session.execute(sa.select(User).where(User.email == emails["enterprise_staff"])).scalar_one()
    officer = db.session.execute(
        sa.select(User).where(User.role == Role.APPROVAL_OFFICER).order_by(User.id).limit(1)
    ).scalar_one()
    item = db.session.execute(sa.select(ServiceItem).where(ServiceItem.code == item_code)).scalar_one()
    return ApprovalCaseFactory(case_number=case_number, project_name=project, approval_item=item.approval_items[0],
                               applicant=owner.organisation, department=officer.organisation,
                               service_items=[item])


def load_credit_demo(rng: random.Random | None = None) -> dict[str, int]:
    """Credit inputs, a decided warning and a blacklisting for the demo agencies (flushes only)."""
    from marketplace.accounts.models import Organisation, OrgKind, Role, User
    from marketplace.core.db import utcnow
    from marketplace.credit.models import CreditInputKind
    from marketplace.credit.services import record_credit_input
    from marketplace.demo.accounts import demo_contact
    from marketplace.extensions import db
    from marketplace.sanctions import services as sanctions
    from tests.factories import AgencyFactory, UserFactory, make_uscc

    rng = rng or random.Random(20261124)
    now = utcnow()
    regulator = db.session.execute(
        sa.select(User).where(User.role == Role.REGULATOR).order_by(User.id).limit(1)
    ).scalar_one()
    second = db.session.execute(sa.select(User).where(User.email == SECOND_REGULATOR_EMAIL)).scalar_one_or_none()
    if second is None:
        second = UserFactory(organisation=regulator.organisation, role=Role.REGULATOR,
                             email=SECOND_REGULATOR_EMAIL, name="市场监管 李复核",
                             password_hash=regulator.password_hash)
    agencies = {
        org.name: org for org in db.session.execute(
            sa.select(Organisation).where(Organisation.kind == OrgKind.AGENCY)
        ).scalars()
    }
    inputs = 0
    for n, (name, (ent, office, overruns, complaints)) in enumerate(CREDIT.items()):
        org = agencies.get(name)
        if org is None:
            continue
        for i, rating in enumerate(ent):
            contract = f"HT2026{n:02d}{i:03d}"
            record_credit_input(org.id, CreditInputKind.RATING_ENTERPRISE, value=rating,
                                occurred_at=now - timedelta(days=rng.randint(20, 400)), now=now,
                                refs=[("contract", contract, contract)], actor="seed")
            inputs += 1
        for i, rating in enumerate(office):
            case_no = f"SP2026{n:02d}{i:04d}"
            record_credit_input(org.id, CreditInputKind.RATING_APPROVAL_OFFICE, value=rating,
                                occurred_at=now - timedelta(days=rng.randint(20, 400)), now=now,
                                refs=[("approval_case", case_no, case_no)], actor="seed")
            inputs += 1
        for days in overruns:
            contract = f"HT2026{n:02d}9{days:02d}"
            record_credit_input(org.id, CreditInputKind.OVERRUN_DAYS, value=days,
                                occurred_at=now - timedelta(days=rng.randint(30, 200)), now=now,
                                refs=[("contract", contract, contract)], actor="seed")
            inputs += 1
        for i in range(complaints):
            record_credit_input(org.id, CreditInputKind.COMPLAINT_UPHELD,
                                occurred_at=now - timedelta(days=rng.randint(30, 200)), now=now,
                                refs=[("complaint", f"TS2026{n:02d}{i:03d}", "")], actor="seed")
            inputs += 1

    cases = 0
    warned = agencies.get("昆明天衡气象防雷技术有限公司")
    if warned is not None:
        case = sanctions.propose_sanction(
            warned, kind="warning", ground_code="serious_overrun", actor=regulator, now=now - timedelta(days=3),
            facts="防雷装置检测合同承诺5个工作日完成，实际逾期12个工作日提交检测报告，影响审批办理时限。",
            end_date=(now + timedelta(days=180)).date(),
            evidence=[("approval_case", _demo_case("SP2026040000", "滇池新区物流仓储中心防雷工程", "ZJ-032").case_number,
                       "防雷装置检测"),
                      ("other", "防雷装置检测服务合同 HT2026049012", "平台上线前线下签订")],
        )
        sanctions.decide_sanction(case, actor=second, end_date=(now + timedelta(days=180)).date(),
                                  reason="逾期事实清楚，予以警示并公示。", now=now - timedelta(days=2))
        cases += 1

    bad = agencies.get(BLACKLISTED) or AgencyFactory(
        name=BLACKLISTED, uscc=make_uscc(rng), legal_representative="钱速达", region_code="530102",
        **demo_contact(BLACKLISTED, "530102"))
    for i, rating in enumerate([1.8, 2.2, 1.6]):
        record_credit_input(bad.id, CreditInputKind.RATING_ENTERPRISE, value=rating, now=now,
                            occurred_at=now - timedelta(days=60 + 10 * i),
                            refs=[("contract", f"HT20269900{i}", f"HT20269900{i}")], actor="seed")
    record_credit_input(bad.id, CreditInputKind.RATING_APPROVAL_OFFICE, value=1.5, now=now,
                        occurred_at=now - timedelta(days=50), refs=[("approval_case", "SP2026990001", "")],
                        actor="seed")
    inputs += 4
    proposed_at = now - timedelta(days=30)
    case = sanctions.propose_sanction(
        bad, kind="blacklist", ground_code="falsified_report", actor=regulator, now=proposed_at,
        facts="在建设项目安全预评价报告中伪造现场检测数据，经核查属实；审批部门据此撤销审批。",
        evidence=[("approval_case", _demo_case("SP2026990001", "滇池新区化工仓储项目", "ZJ-006").case_number,
                   "安全预评价"),
                  ("other", "安全预评价服务合同 HT202699001", "平台上线前线下签订")],
    )
    sanctions.notify_agency(case, actor=regulator, now=proposed_at + timedelta(hours=1))
    sanctions.decide_sanction(case, actor=second, end_date=None, now=now - timedelta(days=10),
                              reason="伪造检测数据，情节严重，列入黑名单并清退出中介超市。")
    cases += 1
    db.session.flush()
    return {"credit_inputs": inputs, "sanctions": cases}
