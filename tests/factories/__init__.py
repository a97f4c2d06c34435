"""factory_boy factories, shared by the tests and ``flask seed demo``."""

from tests.factories.accounts import (  # noqa: F401
    AgencyFactory,
    EnterpriseFactory,
    GovernmentFactory,
    UserFactory,
    make_uscc,
)
