"""Demonstration accounts: the five organisations of the demo and one user per role.

The first stage of ``marketplace.demo.load_demo``; every later stage finds its actors through
``DEMO_ACCOUNTS``.
"""

from __future__ import annotations

import hashlib
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


_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
_GIVEN_NAMES = ("晓燕", "建军", "丽华", "志刚", "海燕", "文博", "雪梅", "国庆", "春花", "明辉", "静怡", "宏伟")
_STREETS = ("人民中路", "北京路", "滇池路", "环城南路", "春城路", "广福路", "金碧路", "白塔路")


def demo_contact(name: str, region_code: str) -> dict[str, str]:
    """The contact person, telephone and address of the demo organisation ``name``.

    Derived from the name, so each organisation has its own and reloading the demo gives the
    same. (The factories give every organisation the same contact, 李四 on 0871-12345678, and
    no address: the demo contracts printed the same telephone for both parties.)
    """
    from marketplace.core.regions import PROVINCES, region_name

    digest = hashlib.sha256(name.encode()).digest()
    area = {"52": "0851", "53": "0871"}.get(region_code[:2], "010")
    place = region_name(region_code)
    if "（" in place:  # a code the region table does not name: the province only
        place = PROVINCES.get(region_code[:2], "")
    return {
        "contact_name": _SURNAMES[digest[0] % len(_SURNAMES)] + _GIVEN_NAMES[digest[1] % len(_GIVEN_NAMES)],
        "contact_phone": f"{area}-6{int.from_bytes(digest[2:5], 'big') % 10**6:06d}",
        "address": f"{place}{_STREETS[digest[5] % len(_STREETS)]}{digest[6] % 300 + 1}号",
    }


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

    def org(factory, name: str, region_code: str, **fields):
        return factory(name=name, region_code=region_code, **demo_contact(name, region_code), **fields)

    orgs = {
        "platform": org(GovernmentFactory, "昆明市网上中介服务超市管理办公室", "530100", uscc=make_uscc(rng, "11")),
        "regulator": org(GovernmentFactory, "昆明市市场监督管理局", "530100", uscc=make_uscc(rng, "11")),
        "approval": org(GovernmentFactory, "昆明市行政审批局", "530100", uscc=make_uscc(rng, "11")),
        "enterprise": org(EnterpriseFactory, "昆明滇池新区建设投资有限公司", "530112", uscc=make_uscc(rng),
                          legal_representative="周建国"),
        "agency": org(AgencyFactory, "云南绿源环境科技咨询有限公司", "530103", uscc=make_uscc(rng),
                      legal_representative="吴青山"),
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
