"""Payment test helpers: a contract in force, a fake Stripe HTTP client, locally signed events."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import parse_qsl, urlsplit

import pytest
import stripe

from marketplace.payments.providers import HTTP_CLIENT_EXTENSION

WEBHOOK_SECRET = "whsec_test_secret"  # noqa: S105 - a test secret


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the English strings."""


def in_force_contract(db):
    """A contract both parties signed (scenario ``s``: ``s.owner`` the buyer, ``s.staff[1]`` the agency)."""
    from tests.contracts.test_lifecycle import _final_award, _in_force

    return _in_force(db, _final_award(db))


@pytest.fixture
def in_force(db):
    return in_force_contract(db)


class FakeStripe(stripe.HTTPClient):
    """Answers the Stripe API calls the platform makes, from memory, and records each request.

    Like Stripe, a repeated idempotency key returns the first answer without acting again.
    """

    name = "fake"

    def __init__(self):
        super().__init__()
        self.calls: list[dict] = []
        self.objects: dict[str, dict] = {}
        self.by_key: dict[str, tuple[str, int, dict]] = {}
        self.counter = 0
        self.fail_next: int | None = None  # HTTP status to answer the next request with
        self.refund_status = "succeeded"

    # -- helpers for tests
    def _new_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_test_{self.counter}"

    def posts(self, path: str) -> list[dict]:
        return [c for c in self.calls if c["method"] == "post" and c["path"] == path]

    def gets(self, prefix: str) -> list[dict]:
        return [c for c in self.calls if c["method"] == "get" and c["path"].startswith(prefix)]

    def complete(self, session_id: str) -> dict:
        session = self.objects[session_id]
        intent = self._new_id("pi")
        session.update(status="complete", payment_status="paid", payment_intent=intent)
        self.objects[intent] = {"id": intent, "object": "payment_intent", "status": "succeeded",
                                "amount": session["amount_total"]}
        return session

    def expire(self, session_id: str) -> dict:
        self.objects[session_id].update(status="expired", url=None)
        return self.objects[session_id]

    # -- the HTTP client interface
    def request(self, method, url, headers, post_data=None, *, _usage=None):
        parts = urlsplit(url)
        form = dict(parse_qsl(post_data or "", keep_blank_values=True))
        query = dict(parse_qsl(parts.query))
        call = {"method": method, "path": parts.path, "headers": dict(headers or {}), "form": form,
                "query": query}
        self.calls.append(call)
        if self.fail_next:
            status, self.fail_next = self.fail_next, None
            body = {"error": {"type": "api_error", "message": "the fake says no"}}
            return json.dumps(body), status, {}
        key = (headers or {}).get("Idempotency-Key")
        if method == "post" and key in self.by_key:
            return self.by_key[key]
        result = self._route(method, parts.path, form, query)
        if method == "post" and key:
            self.by_key[key] = result
        return result

    def request_stream(self, *args, **kwargs):  # pragma: no cover - not used
        raise NotImplementedError

    def close(self):
        pass

    def _ok(self, obj):
        return json.dumps(obj), 200, {"Request-Id": "req_fake"}

    def _route(self, method, path, form, query):  # noqa: PLR0911 - one branch per endpoint
        segments = path.strip("/").split("/")[1:]
        if segments == ["checkout", "sessions"] and method == "post":
            sid = self._new_id("cs")
            obj = {"id": sid, "object": "checkout.session", "url": f"https://checkout.stripe.test/{sid}",
                   "status": "open", "payment_status": "unpaid", "payment_intent": None,
                   "amount_total": int(form["line_items[0][price_data][unit_amount]"]),
                   "currency": form["line_items[0][price_data][currency]"],
                   "metadata": {"contract_id": form.get("metadata[contract_id]")}}
            self.objects[sid] = obj
            return self._ok(obj)
        if segments[:2] == ["checkout", "sessions"] and len(segments) == 3 and method == "get":
            return self._ok(self.objects[segments[2]])
        if segments[:2] == ["checkout", "sessions"] and segments[3:] == ["expire"]:
            session = self.objects[segments[2]]
            if session["status"] == "open":
                self.expire(segments[2])
            return self._ok(session)
        if segments == ["transfers"] and method == "post":
            tid = self._new_id("tr")
            obj = {"id": tid, "object": "transfer", "amount": int(form["amount"]), "currency": form["currency"],
                   "destination": form["destination"], "transfer_group": form["transfer_group"]}
            self.objects[tid] = obj
            return self._ok(obj)
        if segments[0] == "transfers" and method == "get":
            return self._ok(self.objects[segments[1]])
        if segments == ["refunds"] and method == "post":
            rid = self._new_id("re")
            intent = self.objects.get(form["payment_intent"], {})
            obj = {"id": rid, "object": "refund", "status": self.refund_status,
                   "payment_intent": form["payment_intent"],
                   "amount": int(form.get("amount") or intent.get("amount") or 0)}
            self.objects[rid] = obj
            return self._ok(obj)
        if segments == ["refunds"] and method == "get":
            data = [o for o in self.objects.values()
                    if o["object"] == "refund" and o["payment_intent"] == query.get("payment_intent")]
            return self._ok({"object": "list", "data": data, "has_more": False, "url": "/v1/refunds"})
        if segments[0] == "refunds" and method == "get":
            return self._ok(self.objects[segments[1]])
        if segments == ["accounts"] and method == "post":
            aid = self._new_id("acct")
            obj = {"id": aid, "object": "account", "details_submitted": False, "payouts_enabled": False}
            self.objects[aid] = obj
            return self._ok(obj)
        if segments[0] == "disputes" and method == "get":
            return self._ok(self.objects[segments[1]])
        if segments[0] == "accounts" and method == "get":
            return self._ok(self.objects[segments[1]])
        if segments == ["account_links"]:
            return self._ok({"object": "account_link", "url": f"https://connect.stripe.test/{form['account']}"})
        return json.dumps({"error": {"type": "invalid_request_error", "message": "unknown"}}), 404, {}


@pytest.fixture
def fake_stripe(app, monkeypatch):
    """Stripe configured, with every request answered by :class:`FakeStripe`."""
    fake = FakeStripe()
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_fake")
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setitem(app.extensions, HTTP_CLIENT_EXTENSION, fake)
    return fake


def sign(payload: str, *, secret: str = WEBHOOK_SECRET, t: int | None = None) -> str:
    """A ``Stripe-Signature`` header: v1 = HMAC-SHA256 over "{t}.{payload}"."""
    t = int(time.time()) if t is None else t
    digest = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def event(event_type: str, obj: dict, *, event_id: str | None = None) -> str:
    """A Stripe event body (only the object's id is used: the platform fetches it again)."""
    return json.dumps({
        "id": event_id or f"evt_{event_type}_{obj['id']}", "object": "event", "type": event_type,
        "api_version": "2026-10-28", "created": int(time.time()), "livemode": False,
        "data": {"object": obj},
    })


def post_event(client, body: str, *, signature: str | None = None):
    headers = {"Stripe-Signature": signature if signature is not None else sign(body)}
    return client.post("/payments/stripe/webhook", data=body, headers=headers,
                       content_type="application/json")
