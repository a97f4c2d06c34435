"""``flask seed demo``: demonstration data for development, built with the test factories."""

from __future__ import annotations

import hashlib
import random
import secrets
import sys

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

seed_cli = AppGroup("seed", help="Demonstration data (development only).")

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


def load_demo(password: str | None = None, *, with_market: bool = True) -> dict[str, str]:
    """Create the demo organisations and one user per role; returns email → password.

    ``with_market``: also the purchase requests, bids and credit records built on them.
    """
    from marketplace.accounts.models import Role
    from marketplace.audit.services import record_event
    from marketplace.core.passwords import hash_password
    from marketplace.extensions import db
    from marketplace.search.synonyms import install_default_synonyms
    from marketplace.workdays.services import seed_from_chinesecalendar
    from tests.factories import (
        AgencyFactory,
        EnterpriseFactory,
        GovernmentFactory,
        UserFactory,
        make_uscc,
    )

    rng = random.Random(20261123)
    seed_from_chinesecalendar()
    install_default_synonyms(actor="seed")  # a no-op after `flask db upgrade`, which adds them

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
    password = password or secrets.token_urlsafe(9) + "-7"
    hashed = hash_password(password)
    created = {}
    for role, email, name, org_key in DEMO_ACCOUNTS:
        user = UserFactory(organisation=orgs[org_key], role=Role(role), email=email, name=name, password_hash=hashed)
        created[email] = password
        record_event("user.created", user, actor="seed", payload={"role": role, "demo": True})
    for org in orgs.values():
        record_event("organisation.created", org, actor="seed", payload={"name": org.name, "demo": True})
    from marketplace.agencies.demo import load_agency_demo
    from marketplace.catalog.demo import load_catalog_demo

    load_agency_demo(orgs["agency"], load_catalog_demo(), rng)
    db.session.flush()
    if not with_market:
        _sign_head()
        return created
    from marketplace.procurement.demo import load_procurement_demo

    request_ids = load_procurement_demo()
    from marketplace.contracts.demo import load_contracts_demo

    load_contracts_demo(password, request_ids)
    from marketplace.credit.demo import load_credit_demo

    load_credit_demo(rng)
    db.session.flush()
    _sign_head()
    return created


def _sign_head() -> None:
    """Sign the chain head at once, so the demo's whole history is covered by a checkpoint."""
    from marketplace.audit.services import create_checkpoint

    create_checkpoint()


@seed_cli.command("demo")
@click.option("--password", envvar="DEMO_PASSWORD", default=DEMO_PASSWORD, show_default=True,
              help="The password of every demo account (or set DEMO_PASSWORD).")
@click.option("--if-empty", is_flag=True, help="Do nothing when the demo data is already loaded.")
def demo(password: str, if_empty: bool) -> None:
    """Create demo organisations and one user per role, and print the accounts (never in
    production)."""
    from marketplace.extensions import db

    if current_app.config.get("ENV_NAME") == "production":
        click.echo("refusing to load demo data in production", err=True)
        sys.exit(1)
    if demo_is_loaded():
        if if_empty:
            return
        click.echo("demo data is already loaded", err=True)
        sys.exit(1)
    accounts = load_demo(password)
    db.session.commit()
    from marketplace.search.indexing import reindex_all

    counts = reindex_all()
    click.echo("Search index: " + ", ".join(f"{n} {doc_type}" for doc_type, n in sorted(counts.items())))
    click.echo("Demo accounts:")
    for role, email, _name, _org in DEMO_ACCOUNTS:
        click.echo(f"  {role:18} {email:36} {accounts[email]}")
