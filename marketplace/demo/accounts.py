"""Demonstration accounts: the five organisations of the demo and one user per role.

The first stage of ``marketplace.demo.load_demo``; every later stage finds its actors through
``DEMO_ACCOUNTS``.
"""

from __future__ import annotations

import random

import sqlalchemy as sa

# The documented password of the demo accounts (README): demo data is refused in production.
DEMO_PASSWORD = "demo-Passw0rd"  # noqa: S105

DEMO_ACCOUNTS = [
    # (role, email, name, organisation key)
    ("admin", "admin@demo.zhongjie.test", "平台管理员", "platform"),
    ("regulator", "regulator@demo.zhongjie.test", "市场监管 王监管", "regulator"),
    ("approval_officer", "officer@demo.zhongjie.test", "审批局 赵审批", "approval"),
    ("enterprise_staff", "enterprise@demo.zhongjie.test", "业主 钱经理", "enterprise"),
    ("agency_staff", "agency@demo.zhongjie.test", "中介 孙工", "agency"),
]


def demo_is_loaded() -> bool:
    """Whether the demo accounts already exist."""
    from marketplace.accounts.models import User
    from marketplace.extensions import db

    return db.session.execute(
        sa.select(User.id).where(User.email == DEMO_ACCOUNTS[0][1])
    ).first() is not None


def load_accounts_demo(rng: random.Random, password: str) -> tuple[dict, dict[str, str]]:
    """Create the demo organisations and one user per role; returns the organisations by key
    and email → password."""
    from marketplace.accounts.models import Role
    from marketplace.audit.services import record_event
    from marketplace.core.passwords import hash_password
    from tests.factories import (
        AgencyFactory,
        EnterpriseFactory,
        GovernmentFactory,
        UserFactory,
        make_uscc,
    )

    orgs = {
        "platform": GovernmentFactory(name="昆明市网上中介服务超市管理办公室", uscc=make_uscc(rng, "11"), region_code="530100"),
        "regulator": GovernmentFactory(name="昆明市市场监督管理局", uscc=make_uscc(rng, "11"), region_code="530100"),
        "approval": GovernmentFactory(name="昆明市行政审批局", uscc=make_uscc(rng, "11"), region_code="530100"),
        "enterprise": EnterpriseFactory(name="昆明滇池新区建设投资有限公司", uscc=make_uscc(rng), legal_representative="周建国", region_code="530112"),
        "agency": AgencyFactory(name="云南绿源环境科技咨询有限公司", uscc=make_uscc(rng), legal_representative="吴青山", region_code="530103"),
    }
    hashed = hash_password(password)
    created = {}
    for role, email, name, org_key in DEMO_ACCOUNTS:
        user = UserFactory(organisation=orgs[org_key], role=Role(role), email=email, name=name, password_hash=hashed)
        created[email] = password
        record_event("user.created", user, actor="seed", payload={"role": role, "demo": True})
    for org in orgs.values():
        record_event("organisation.created", org, actor="seed", payload={"name": org.name, "demo": True})
    return orgs, created
