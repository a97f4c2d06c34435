"""Payment configuration: the provider follows STRIPE_SECRET_KEY; production refuses test keys."""

from __future__ import annotations

import pytest

from config import ProductionConfig
from marketplace.payments.models import ProviderName
from marketplace.payments.providers import (
    OfflineProvider,
    PaymentProvider,
    StripeProvider,
    get_provider,
)
from tests.payments.conftest import post_event, sign


def test_offline_by_default_stripe_with_a_key(app, db, monkeypatch):
    assert app.config["PLATFORM_FEE_BASIS_POINTS"] == 0
    provider = get_provider()
    assert isinstance(provider, OfflineProvider) and provider.name is ProviderName.OFFLINE
    assert isinstance(provider, PaymentProvider)
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_x")
    provider = get_provider()
    assert isinstance(provider, StripeProvider) and isinstance(provider, PaymentProvider)


@pytest.mark.parametrize(("env", "error"), [
    ({"STRIPE_SECRET_KEY": "sk_live_x"}, "STRIPE_WEBHOOK_SECRET must be set"),
    ({"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_WEBHOOK_SECRET": "whsec"}, "test key in production"),
    ({"STRIPE_SECRET_KEY": "sk_live_x", "STRIPE_WEBHOOK_SECRET": "whsec"}, None),
    ({"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_WEBHOOK_SECRET": "whsec", "STRIPE_ALLOW_TEST_KEY": "1"}, None),
])
def test_production_checks_the_stripe_keys(monkeypatch, env, error):
    monkeypatch.setenv("SECRET_KEY", "s")
    monkeypatch.setenv("DATABASE_URL", "postgresql://x/y")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    for key in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_ALLOW_TEST_KEY"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    if error:
        with pytest.raises(RuntimeError, match=error):
            ProductionConfig.check()
    else:
        ProductionConfig.check()


def test_garbage_webhook_bodies_are_400_not_500(fake_stripe, db, client):
    for body in ["", "[]", "{}", '{"id": 5, "type": null}', '{"id": "evt", "type": "x", "data": []}']:
        assert post_event(client, body).status_code == 400, body
    raw = b"\xff\xfe\x00"
    resp = client.post("/payments/stripe/webhook", data=raw, headers={"Stripe-Signature": sign("x")})
    assert resp.status_code == 400
    # an unknown but well-formed event is accepted and ignored
    resp = post_event(client, '{"id": "evt_other", "type": "invoice.paid", "data": {"object": {"id": "in_1"}}}')
    assert resp.status_code == 200 and resp.get_json()["outcome"] == "ignored"
