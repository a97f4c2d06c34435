"""API scopes: what a token may do, and which kinds of organisation may hold each."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import OrgKind

SCOPES: dict[str, tuple[object, frozenset[OrgKind]]] = {
    "org:read": (_l("Read your organisation's own data"), frozenset(OrgKind)),
    "cases:read": (_l("Read approval cases and the results attached to them"),
                   frozenset({OrgKind.GOVERNMENT, OrgKind.ENTERPRISE})),
    "cases:write": (_l("Create and update approval cases"),
                    frozenset({OrgKind.GOVERNMENT, OrgKind.ENTERPRISE})),
    "requests:read": (_l("Read the status of purchase requests"), frozenset(OrgKind)),
    "requests:write": (_l("Create, publish and award purchase requests"), frozenset({OrgKind.ENTERPRISE})),
    "bids:write": (_l("Submit, revise and withdraw bids"), frozenset({OrgKind.AGENCY})),
    "webhooks:manage": (_l("Register endpoints for event push"), frozenset(OrgKind)),
    "delivery:review": (_l("Accept delivered results, ask for revisions and answer due-date proposals"),
                        frozenset({OrgKind.ENTERPRISE})),
    "listings:write": (_l("Read, publish, change and withdraw your listings"), frozenset({OrgKind.AGENCY})),
    "contracts:read": (_l("Read your contracts and the delivery of their results"),
                       frozenset({OrgKind.ENTERPRISE, OrgKind.AGENCY, OrgKind.GOVERNMENT})),
    "audit:read": (_l("Read the whole audit trail, with private events and payloads (regulators)"),
                   frozenset({OrgKind.GOVERNMENT})),
    "delivery:write": (_l("Deliver results (agencies) and propose later due dates (either party)"),
                       frozenset({OrgKind.ENTERPRISE, OrgKind.AGENCY})),
}


def scopes_for(kind: OrgKind) -> list[str]:
    """The scopes an organisation of ``kind`` may grant its tokens."""
    return [name for name, (_label, kinds) in SCOPES.items() if kind in kinds]


def scope_label(name: str) -> str:
    """The translated description of a scope."""
    return str(SCOPES[name][0]) if name in SCOPES else name
