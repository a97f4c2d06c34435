"""Payment providers behind one small protocol: Stripe when ``STRIPE_SECRET_KEY`` is set, the
offline (bank transfer) provider otherwise.

Every Stripe call carries an idempotency key derived from the object and the action, so a retry
(a double click, a job run again after a crash) never charges, transfers or refunds twice.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from flask import current_app
from flask_babel import lazy_gettext as _l

from marketplace.core.errors import DomainError
from marketplace.payments.models import ProviderName

WEBHOOK_TOLERANCE_SECONDS = 300
# Stripe's own check only refuses old events; one stamped further ahead than this clock skew is
# refused too, or a leaked signature of a future timestamp would stay replayable for that long.
WEBHOOK_MAX_CLOCK_SKEW_SECONDS = 300
# Tests put a fake ``stripe.HTTPClient`` here so that no request leaves the machine.
HTTP_CLIENT_EXTENSION = "payments.stripe_http_client"


class ProviderError(DomainError):
    """The payment provider refused the call or could not be reached."""

    http_status = 502


class SignatureInvalid(Exception):
    """A webhook's ``Stripe-Signature`` does not match, or is too old."""


@dataclass(frozen=True)
class CheckoutSession:
    """What the platform needs to know about a Checkout Session."""

    id: str
    url: str | None
    status: str  # open | complete | expired
    payment_status: str  # paid | unpaid | no_payment_required
    payment_intent_id: str | None
    amount_total: int | None
    currency: str | None
    contract_id: str | None


@dataclass(frozen=True)
class ConnectedAccount:
    id: str
    details_submitted: bool
    payouts_enabled: bool


@dataclass(frozen=True)
class Refund:
    id: str
    status: str  # pending | requires_action | succeeded | failed | canceled
    payment_intent_id: str | None
    amount: int = 0


@dataclass(frozen=True)
class Transfer:
    id: str
    amount: int
    transfer_group: str | None
    destination: str | None
    amount_reversed: int = 0


@dataclass(frozen=True)
class Dispute:
    """A card holder's chargeback of a payment."""

    id: str
    status: str  # warning_needs_response | needs_response | under_review | won | lost | ...
    amount: int
    reason: str
    payment_intent_id: str | None


@runtime_checkable
class PaymentProvider(Protocol):
    """A way of paying a contract. The offline provider supports no online operation."""

    name: ProviderName
    is_online: bool

    def create_checkout(self, *, contract_id: int, contract_no: str, title: str, amount_fen: int,
                        success_url: str, cancel_url: str, idempotency_key: str) -> CheckoutSession: ...

    def retrieve_checkout(self, session_id: str) -> CheckoutSession: ...

    def expire_checkout(self, session_id: str, *, idempotency_key: str) -> CheckoutSession: ...

    def create_transfer(self, *, amount_fen: int, destination: str, transfer_group: str,
                        contract_id: int, idempotency_key: str) -> Transfer: ...

    def retrieve_transfer(self, transfer_id: str) -> Transfer: ...

    def create_refund(self, *, payment_intent_id: str, contract_id: int, reason: str,
                      idempotency_key: str) -> Refund: ...

    def retrieve_refund(self, refund_id: str) -> Refund: ...

    def retrieve_payment_intent_refunds(self, payment_intent_id: str) -> list[Refund]: ...

    def retrieve_dispute(self, dispute_id: str) -> Dispute: ...

    def create_account(self, *, organisation_id: int, email: str, idempotency_key: str) -> ConnectedAccount: ...

    def retrieve_account(self, account_id: str) -> ConnectedAccount: ...

    def create_account_link(self, account_id: str, *, refresh_url: str, return_url: str,
                            idempotency_key: str) -> str: ...

    def verify_webhook(self, payload: bytes, signature: str | None) -> dict: ...


class OfflineProvider:
    """Bank transfer: the enterprise records it and the agency confirms it; nothing online."""

    name = ProviderName.OFFLINE
    is_online = False

    def _unavailable(self, *_args, **_kwargs):
        raise ProviderError(_l("Online payment is not configured on this platform; pay by bank transfer."))

    create_checkout = retrieve_checkout = expire_checkout = _unavailable
    create_transfer = retrieve_transfer = create_refund = retrieve_refund = _unavailable
    retrieve_payment_intent_refunds = create_account = retrieve_account = _unavailable
    create_account_link = verify_webhook = retrieve_dispute = _unavailable


def _get(obj, key, default=None):
    try:
        value = obj[key]
    except (KeyError, TypeError, IndexError):
        return default
    return default if value is None else value


def _id_of(value) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else _get(value, "id")


def _session(obj) -> CheckoutSession:
    metadata = _get(obj, "metadata", {}) or {}
    return CheckoutSession(
        id=obj["id"], url=_get(obj, "url"), status=_get(obj, "status", ""),
        payment_status=_get(obj, "payment_status", ""),
        payment_intent_id=_id_of(_get(obj, "payment_intent")),
        amount_total=_get(obj, "amount_total"), currency=_get(obj, "currency"),
        contract_id=_get(metadata, "contract_id"),
    )


def _refund(obj) -> Refund:
    return Refund(id=obj["id"], status=_get(obj, "status", ""), payment_intent_id=_id_of(_get(obj, "payment_intent")),
                  amount=int(_get(obj, "amount", 0)))


def _transfer(obj) -> Transfer:
    return Transfer(id=obj["id"], amount=int(_get(obj, "amount", 0)),
                    transfer_group=_get(obj, "transfer_group"), destination=_id_of(_get(obj, "destination")),
                    amount_reversed=int(_get(obj, "amount_reversed", 0)))


def _dispute(obj) -> Dispute:
    return Dispute(id=obj["id"], status=_get(obj, "status", ""), amount=int(_get(obj, "amount", 0)),
                   reason=_get(obj, "reason", ""), payment_intent_id=_id_of(_get(obj, "payment_intent")))


def _account(obj) -> ConnectedAccount:
    return ConnectedAccount(id=obj["id"], details_submitted=bool(_get(obj, "details_submitted", False)),
                            payouts_enabled=bool(_get(obj, "payouts_enabled", False)))


class StripeProvider:
    """Stripe: Checkout Sessions charged to the platform, Connect transfers, refunds."""

    name = ProviderName.STRIPE
    is_online = True

    def __init__(self, api_key: str, *, webhook_secret: str | None = None, http_client=None):
        import stripe

        self._stripe = stripe
        self.client = stripe.StripeClient(api_key, http_client=http_client, max_network_retries=2)
        self.webhook_secret = webhook_secret

    def _call(self, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except self._stripe.StripeError as exc:
            current_app.logger.warning("Stripe call failed: %s", exc)
            raise ProviderError(_l("The payment service refused the request or could not be reached. "
                                   "Nothing was changed; please try again later.")) from exc

    def create_checkout(self, *, contract_id, contract_no, title, amount_fen, success_url, cancel_url,
                        idempotency_key):
        metadata = {"contract_id": str(contract_id), "contract_no": contract_no}
        params = {
            "mode": "payment",
            "client_reference_id": str(contract_id),
            "line_items": [{
                "quantity": 1,
                "price_data": {"currency": "cny", "unit_amount": int(amount_fen),
                               "product_data": {"name": f"{contract_no} {title}"[:250]}},
            }],
            "payment_intent_data": {"transfer_group": contract_no, "metadata": metadata},
            "metadata": metadata,
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        obj = self._call(self.client.v1.checkout.sessions.create, params,
                         {"idempotency_key": idempotency_key})
        return _session(obj)

    def retrieve_checkout(self, session_id):
        return _session(self._call(self.client.v1.checkout.sessions.retrieve, session_id))

    def expire_checkout(self, session_id, *, idempotency_key):
        return _session(self._call(self.client.v1.checkout.sessions.expire, session_id, None,
                                   {"idempotency_key": idempotency_key}))

    def create_transfer(self, *, amount_fen, destination, transfer_group, contract_id, idempotency_key):
        params = {"amount": int(amount_fen), "currency": "cny", "destination": destination,
                  "transfer_group": transfer_group, "metadata": {"contract_id": str(contract_id)}}
        return _transfer(self._call(self.client.v1.transfers.create, params,
                                    {"idempotency_key": idempotency_key}))

    def retrieve_transfer(self, transfer_id):
        return _transfer(self._call(self.client.v1.transfers.retrieve, transfer_id))

    def create_refund(self, *, payment_intent_id, contract_id, reason, idempotency_key):
        params = {"payment_intent": payment_intent_id, "reason": "requested_by_customer",
                  "metadata": {"contract_id": str(contract_id), "reason": reason[:450]}}
        return _refund(self._call(self.client.v1.refunds.create, params,
                                  {"idempotency_key": idempotency_key}))

    def retrieve_refund(self, refund_id):
        return _refund(self._call(self.client.v1.refunds.retrieve, refund_id))

    def retrieve_dispute(self, dispute_id):
        return _dispute(self._call(self.client.v1.disputes.retrieve, dispute_id))

    def retrieve_payment_intent_refunds(self, payment_intent_id):
        page = self._call(self.client.v1.refunds.list, {"payment_intent": payment_intent_id, "limit": 10})
        return [_refund(obj) for obj in _get(page, "data", [])]

    def create_account(self, *, organisation_id, email, idempotency_key):
        params = {"type": "express", "metadata": {"organisation_id": str(organisation_id)},
                  "capabilities": {"transfers": {"requested": True}}}
        if email:
            params["email"] = email
        return _account(self._call(self.client.v1.accounts.create, params,
                                   {"idempotency_key": idempotency_key}))

    def retrieve_account(self, account_id):
        return _account(self._call(self.client.v1.accounts.retrieve, account_id))

    def create_account_link(self, account_id, *, refresh_url, return_url, idempotency_key):
        params = {"account": account_id, "refresh_url": refresh_url, "return_url": return_url,
                  "type": "account_onboarding"}
        obj = self._call(self.client.v1.account_links.create, params, {"idempotency_key": idempotency_key})
        return obj["url"]

    def verify_webhook(self, payload, signature):
        """The event as a dict, once its signature (and age, at most 300 s) is checked.

        Raises:
            SignatureInvalid: no secret configured, a bad or missing signature, or too old.
        """
        if not self.webhook_secret or not signature:
            raise SignatureInvalid("missing secret or signature")
        try:
            text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
        except UnicodeDecodeError as exc:
            raise SignatureInvalid("not UTF-8") from exc
        try:
            self._stripe.WebhookSignature.verify_header(text, signature, self.webhook_secret,
                                                        WEBHOOK_TOLERANCE_SECONDS)
        except self._stripe.SignatureVerificationError as exc:
            raise SignatureInvalid(str(exc)) from exc
        if _signed_at(signature) > time.time() + WEBHOOK_MAX_CLOCK_SKEW_SECONDS:
            raise SignatureInvalid("timestamp in the future")
        try:
            event = json.loads(text)
        except ValueError as exc:
            raise SignatureInvalid("not JSON") from exc
        if not isinstance(event, dict):
            raise SignatureInvalid("not an event")
        return event


def _signed_at(signature: str) -> int:
    """The ``t=`` timestamp of a ``Stripe-Signature`` header (the latest, if several)."""
    stamps = [int(v) for k, _, v in (item.strip().partition("=") for item in signature.split(","))
              if k == "t" and v.isascii() and v.isdigit()]
    return max(stamps, default=0)


def get_provider() -> PaymentProvider:
    """Stripe when ``STRIPE_SECRET_KEY`` is configured, else the offline provider."""
    key = current_app.config.get("STRIPE_SECRET_KEY")
    if not key:
        return OfflineProvider()
    return StripeProvider(key, webhook_secret=current_app.config.get("STRIPE_WEBHOOK_SECRET"),
                          http_client=current_app.extensions.get(HTTP_CLIENT_EXTENSION))


def provider_for(name: ProviderName) -> PaymentProvider:
    """The provider that handles payments made with ``name``.

    Raises:
        ProviderError: a Stripe payment while Stripe is no longer configured.
    """
    provider = get_provider()
    if provider.name is not name:
        raise ProviderError(_l("This payment was made online, but online payment is not configured."))
    return provider
