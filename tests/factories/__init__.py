"""factory_boy factories, shared by the tests and ``flask seed demo``."""

from tests.factories.accounts import (  # noqa: F401
    AgencyFactory,
    EnterpriseFactory,
    GovernmentFactory,
    UserFactory,
    make_uscc,
)
from tests.factories.agencies import (  # noqa: F401
    AgencyProfileFactory,
    IndependenceDeclarationFactory,
    ListingFactory,
    PractitionerFactory,
    QualificationFactory,
    ServiceRegionFactory,
)
from tests.factories.catalog import (  # noqa: F401
    ApprovalItemFactory,
    QualificationTypeFactory,
    ServiceCategoryFactory,
    ServiceItemFactory,
)
from tests.factories.sanctions import (  # noqa: F401
    RegulatorFactory,
    SanctionCaseFactory,
)
