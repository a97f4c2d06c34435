"""Payout accounts: the agency's Stripe Connect (Express) account, its onboarding link, and whether
it can receive transfers."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import Organisation, OrgKind
from marketplace.audit.services import record_event
from marketplace.core.db import utcnow
from marketplace.core.errors import PermissionDenied
from marketplace.extensions import db
from marketplace.payments.models import PaymentAccount
from marketplace.payments.providers import get_provider
from marketplace.payments.records import STRIPE, PaymentRefused, _insert_once


def account_of(org_id: int) -> PaymentAccount | None:
    """The organisation's Stripe Connect account, if it has one."""
    return db.session.execute(
        sa.select(PaymentAccount).where(PaymentAccount.organisation_id == org_id)
    ).scalar_one_or_none()


def start_onboarding(org: Organisation, *, actor, refresh_url: str, return_url: str) -> str:
    """Create the agency's Express account (once) and a fresh Account Link; returns its URL.

    Raises:
        PermissionDenied: not an agency.
        PaymentRefused: online payment is not configured.
        ProviderError: Stripe refused or is unreachable.
    """
    if org.kind is not OrgKind.AGENCY:
        raise PermissionDenied(_l("Only agencies receive payments."))
    provider = get_provider()
    if not provider.is_online:
        raise PaymentRefused(_l("Online payment is not configured on this platform; pay by bank transfer."))
    account = account_of(org.id)
    if account is None:
        created = provider.create_account(organisation_id=org.id, email=org.contact_email or "",
                                          idempotency_key=f"account:{org.id}")
        now = utcnow()
        inserted = _insert_once(PaymentAccount, {
            "organisation_id": org.id, "stripe_account_id": created.id,
            "details_submitted": created.details_submitted, "payouts_enabled": created.payouts_enabled,
            "links_created": 0, "created_at": now, "updated_at": now}, "organisation_id")
        account = account_of(org.id)
        if inserted:
            record_event("payment_account.created", account, actor=actor,
                         payload={"organisation": org.id, "account": created.id})
    account.links_created = account.links_created + 1
    db.session.flush()
    return provider.create_account_link(
        account.stripe_account_id, refresh_url=refresh_url, return_url=return_url,
        idempotency_key=f"account_link:{org.id}:{account.links_created}",
    )


def refresh_account(account: PaymentAccount, *, actor=STRIPE) -> PaymentAccount:
    """Ask Stripe whether the account can receive transfers now.

    Raises:
        ProviderError: Stripe refused or is unreachable.
    """
    remote = get_provider().retrieve_account(account.stripe_account_id)
    changed = (remote.details_submitted, remote.payouts_enabled) != (account.details_submitted,
                                                                   account.payouts_enabled)
    if changed:
        account.details_submitted = remote.details_submitted
        account.payouts_enabled = remote.payouts_enabled
        account.updated_at = utcnow()
        record_event("payment_account.updated", account, actor=actor, payload={
            "details_submitted": remote.details_submitted, "payouts_enabled": remote.payouts_enabled})
    return account
