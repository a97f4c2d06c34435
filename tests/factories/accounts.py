"""Organisations and users."""

import random

import factory

from marketplace.accounts.models import Organisation, OrgKind, Role, User
from marketplace.core.passwords import hash_password
from marketplace.core.uscc import ALPHABET, check_character
from tests.factories.base import BaseFactory

DEFAULT_PASSWORD = "Passw0rd-demo"
_PASSWORD_HASH = None


def make_uscc(rng: random.Random | None = None, prefix: str = "91") -> str:
    """A valid random unified social credit code (91 = enterprise registered with SAMR)."""
    rng = rng or random
    body = prefix + "530102" + "".join(rng.choice(ALPHABET[:10] + "ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    return body + check_character(body)


def _default_hash() -> str:
    global _PASSWORD_HASH  # noqa: PLW0603 - a cache of an immutable value, safe across threads
    if _PASSWORD_HASH is None:
        _PASSWORD_HASH = hash_password(DEFAULT_PASSWORD)
    return _PASSWORD_HASH


class OrganisationFactory(BaseFactory):
    class Meta:
        model = Organisation

    kind = OrgKind.ENTERPRISE
    name = factory.Sequence(lambda n: f"测试组织{n}有限公司")
    uscc = factory.LazyFunction(make_uscc)
    legal_representative = "张三"
    region_code = "530102"
    contact_name = "李四"
    contact_phone = "0871-12345678"


class AgencyFactory(OrganisationFactory):
    kind = OrgKind.AGENCY
    name = factory.Sequence(lambda n: f"云南测试中介服务{n}有限公司")


class EnterpriseFactory(OrganisationFactory):
    kind = OrgKind.ENTERPRISE
    name = factory.Sequence(lambda n: f"昆明测试建设{n}有限公司")


class GovernmentFactory(OrganisationFactory):
    kind = OrgKind.GOVERNMENT
    name = factory.Sequence(lambda n: f"测试市行政审批局{n}")
    uscc = factory.LazyFunction(lambda: make_uscc(prefix="11"))


class UserFactory(BaseFactory):
    class Meta:
        model = User

    organisation = factory.SubFactory(EnterpriseFactory)
    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Sequence(lambda n: f"用户{n}")
    role = factory.LazyAttribute(
        lambda o: {
            OrgKind.AGENCY: Role.AGENCY_STAFF,
            OrgKind.ENTERPRISE: Role.ENTERPRISE_STAFF,
            OrgKind.GOVERNMENT: Role.APPROVAL_OFFICER,
        }[o.organisation.kind]
    )
    password_hash = factory.LazyFunction(_default_hash)
