"""Imports every model module so that metadata (and migrations) see every table."""

from marketplace.accounts import models as accounts_models  # noqa: F401
from marketplace.agencies import models as agencies_models  # noqa: F401
from marketplace.api import models as api_models  # noqa: F401
from marketplace.audit import models as audit_models  # noqa: F401
from marketplace.catalog import models as catalog_models  # noqa: F401
from marketplace.complaints import models as complaints_models  # noqa: F401
from marketplace.contracts import models as contracts_models  # noqa: F401
from marketplace.core import uploads as uploads_models  # noqa: F401
from marketplace.credit import models as credit_models  # noqa: F401
from marketplace.delivery import models as delivery_models  # noqa: F401
from marketplace.independence import models as independence_models  # noqa: F401
from marketplace.inspections import models as inspections_models  # noqa: F401
from marketplace.notifications import models as notifications_models  # noqa: F401
from marketplace.payments import models as payments_models  # noqa: F401
from marketplace.procurement import models as procurement_models  # noqa: F401
from marketplace.ratings import models as ratings_models  # noqa: F401
from marketplace.sanctions import models as sanctions_models  # noqa: F401
from marketplace.search import models as search_models  # noqa: F401
from marketplace.webhooks import models as webhooks_models  # noqa: F401
from marketplace.workdays import models as workdays_models  # noqa: F401
