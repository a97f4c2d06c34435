"""Payment rules: one payment per contract, Stripe checkout/transfer/refund, bank transfers.

Services flush and never commit; the caller commits once. Stripe calls that move money after a
contract event (the transfer on acceptance, the refund on termination) are only *requested* in
that event's transaction and made by the ``payments.settle`` job after the commit, each with an
idempotency key derived from the payment, so a crash or a second runner never pays twice.

This module is the package's public façade: callers import from here; the rules live in

- ``records``: the payment record, its creation, its state moves, the shared helpers;
- ``history``: the payment's audit trail and its rows on the contract's timeline;
- ``payout_accounts``: the agency's Stripe Connect account and its onboarding;
- ``checkout``: Stripe Checkout sessions, opened, returned from, synced, expired;
- ``refunds``: refund or cancellation when the contract ends before acceptance;
- ``settlement``: the transfer on acceptance and the job's pending Stripe calls;
- ``offline``: bank transfers recorded, confirmed or disputed;
- ``stripe_events``: the Stripe webhook (checkout, refunds, chargebacks, transfers, accounts);
- ``receivers``: the answers to the contracts and delivery signals.
(The provider behind a small Protocol, Stripe or offline, is in ``providers``.)
"""

from __future__ import annotations

from marketplace.payments.checkout import (  # noqa: F401
    _checkout_paid,
    expire_cancelled_checkout,
    return_from_checkout,
    start_checkout,
    sync_checkout,
)
from marketplace.payments.history import HistoryEntry, history, timeline_rows  # noqa: F401
from marketplace.payments.offline import (  # noqa: F401
    OfflineInput,
    confirm_offline_payment,
    dispute_offline_payment,
    record_offline_payment,
)
from marketplace.payments.payout_accounts import account_of, refresh_account, start_onboarding  # noqa: F401
from marketplace.payments.receivers import (  # noqa: F401
    _on_contract_terminated,
    _on_delivery_accepted,
    connect_signals,
)
from marketplace.payments.records import (  # noqa: F401
    PAYABLE_CONTRACT,
    SETTLED,
    STRIPE,
    SYSTEM,
    P,
    PaymentRefused,
    _create,
    _insert_once,
    _move,
    _params,
    _require_party,
    close_if_settled,
    current_provider_name,
    ensure_payment,
    fee_for,
    payment_of,
)
from marketplace.payments.refunds import _apply_refund_status, execute_refund, refund_contract  # noqa: F401
from marketplace.payments.settlement import (  # noqa: F401
    _record_transfer,
    due_settlements,
    execute_transfer,
    request_transfer,
    settle,
)
from marketplace.payments.stripe_events import (  # noqa: F401
    WebhookRejected,
    _handle_account,
    _handle_checkout,
    _handle_dispute,
    _handle_refund,
    _handle_transfer,
    _payment_by,
    _record_partial_refund,
    _record_reversal,
    handle_webhook,
)
