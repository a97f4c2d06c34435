"""The demo market (``flask seed demo``), built through the domains' services in lifecycle order.

One module per stage, each using the domains' public services and models (and the test
factories) and only the stages before it:

1. ``accounts``: the platform, regulator, approval office, enterprise and agency organisations,
   one user per role;
2. ``catalog``: approval items, service categories, qualification types and service items;
3. ``agencies``: the demo agency's profile and listings, and six other agencies;
4. ``procurement``: approval cases and purchase requests in every state, with bids and awards;
5. ``contracts``: the awarded contracts signed, then delivered, paid, rated or terminated;
6. ``credit``: credit inputs, a decided warning and a blacklisting.

No domain imports this package: only ``flask seed demo`` (``cli.py``), the tests and the
benchmarks do.
"""

from __future__ import annotations

import random
import secrets

from marketplace.demo.accounts import (
    DEMO_ACCOUNTS,
    DEMO_PASSWORD,
    demo_is_loaded,
    load_accounts_demo,
)
from marketplace.demo.agencies import load_agency_demo
from marketplace.demo.catalog import load_catalog_demo
from marketplace.demo.contracts import load_contracts_demo
from marketplace.demo.credit import load_credit_demo
from marketplace.demo.procurement import load_procurement_demo

__all__ = ["DEMO_ACCOUNTS", "DEMO_PASSWORD", "demo_is_loaded", "load_demo"]


def load_demo(password: str | None = None, *, with_market: bool = True) -> dict[str, str]:
    """Create the demo organisations and one user per role; returns email → password.

    ``with_market``: also the purchase requests, bids and credit records built on them.
    """
    from marketplace.extensions import db
    from marketplace.search.synonyms import install_default_synonyms
    from marketplace.workdays.services import seed_from_chinesecalendar

    rng = random.Random(20261123)
    seed_from_chinesecalendar()
    install_default_synonyms(actor="seed")  # a no-op after `flask db upgrade`, which adds them
    password = password or secrets.token_urlsafe(9) + "-7"
    orgs, created = load_accounts_demo(rng, password)
    load_agency_demo(orgs["agency"], load_catalog_demo(), rng)
    db.session.flush()
    if not with_market:
        _sign_head()
        return created
    request_ids = load_procurement_demo()
    load_contracts_demo(password, request_ids)
    load_credit_demo(rng)
    db.session.flush()
    _sign_head()
    return created


def _sign_head() -> None:
    """Sign the chain head at once, so the demo's whole history is covered by a checkpoint."""
    from marketplace.audit.services import create_checkpoint

    create_checkpoint()
