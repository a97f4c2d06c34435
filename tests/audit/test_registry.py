"""Every audit event type written anywhere has a translated label and a visibility (issue 16 item 13)."""

import ast
import pathlib

import pytest

from marketplace.audit.registry import (
    PUBLIC_FACTS,
    SUBJECTS,
    Visibility,
    _machines,
    event_label,
    registry,
    visibility_of,
)

ROOT = pathlib.Path(__file__).resolve().parents[2] / "marketplace"

# Calls whose event type is computed: what each can produce. A new computed call fails the test
# until its types are listed here (and labelled in the registry).
COMPUTED = {
    ("credit/ledger.py", "f'credit.input_{effect.value}'"): {
        "credit.input_expiry",
        "credit.input_reversal",
    },
    ("procurement/award.py", "f'bid.abnormal_{decision}'"): {
        "bid.abnormal_confirmed",
        "bid.abnormal_rejected",
    },
    ("payments/stripe_events.py", "action"): {"payment.chargeback_opened", "payment.chargeback_updated"},
    (
        "webhooks/services.py",
        "'webhook.endpoint_resumed' if active else 'webhook.endpoint_paused'",
    ): {"webhook.endpoint_resumed", "webhook.endpoint_paused"},
    ("accounts/services.py", "'user.enabled' if enabled else 'user.disabled'"): {
        "user.enabled",
        "user.disabled",
    },
    ("core/states.py", "f'{self.audit_type}.{target}'"): set(),  # the machines, checked below
}


def _emitted() -> set[str]:
    found, unknown = set(), []
    for path in ROOT.rglob("*.py"):
        if path.parent.name == "audit":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None)) == "record_event"
            ):
                continue
            arg = node.args[0]
            if isinstance(arg, ast.Constant):
                found.add(arg.value)
                continue
            key = (str(path.relative_to(ROOT)), ast.unparse(arg))
            if key in COMPUTED:
                found |= COMPUTED[key]
            else:
                unknown.append(key)
    assert not unknown, f"computed event types not listed in COMPUTED: {unknown}"
    for machine in _machines():
        found |= {f"{machine.audit_type}.{status}" for status in machine.status_enum}
    return found


def test_every_emitted_event_type_has_a_label_and_a_visibility():
    known = registry()
    emitted = _emitted()
    assert len(emitted) > 150
    missing = sorted(emitted - set(known))
    assert not missing, f"event types without a label: {missing}"
    assert set(known) >= PUBLIC_FACTS


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_label_is_translated(app, locale):
    from flask_babel import force_locale

    with app.test_request_context(), force_locale(locale):
        for action in _emitted():
            label = event_label(action)
            assert label and label != action and "." not in label.split()[0], action
            if locale == "zh_CN":
                assert any("\u4e00" <= ch <= "\u9fff" for ch in label), (action, label)
        for object_type, subject in SUBJECTS.items():
            if locale == "zh_CN":
                assert any("\u4e00" <= ch <= "\u9fff" for ch in str(subject.label)), object_type


def test_account_events_are_never_public_and_bids_wait_for_the_deadline():
    for action in (
        "user.login",
        "user.created",
        "user.sessions_ended",
        "api_token.created",
        "webhook.endpoint_created",
        "payment_account.created",
    ):
        assert visibility_of(action) is Visibility.PRIVATE
    for action in ("bid.submitted", "bid.revised", "bid.withdrawn", "bid.revealed", "bid.won"):
        assert visibility_of(action) is Visibility.AFTER_BIDDING
    assert visibility_of("no.such_type") is Visibility.PRIVATE


def test_the_audit_page_names_subjects_by_their_public_number(client, db, english):
    from marketplace.audit.services import record_event
    from tests.factories import AgencyFactory, UserFactory

    org = AgencyFactory(name="云南绿源环境科技咨询有限公司")
    user = UserFactory(organisation=org)
    record_event("organisation.created", org, actor=user, payload={"secret": "秘密"})
    record_event("user.created", user, actor=user)
    db.session.commit()
    html = client.get("/audit/").get_data(as_text=True)
    assert "Organisation created" in html and "Organisation 云南绿源环境科技咨询有限公司" in html
    assert "organisations" not in html and f"#{org.id}<" not in html
    assert "User account created" not in html and "users" not in html  # accounts are private


def _statements_on_the_audit_page(client, db) -> int:
    from tests.conftest import count_statements

    db.session.expire_all()
    with count_statements(db) as seen:
        assert client.get("/audit/").status_code == 200
    return len(seen)


def test_the_audit_page_names_a_page_of_events_in_a_constant_number_of_statements(client, db, english):
    """Naming each event's subject (a listing: its agency and service) is loaded per page, not per event."""
    from marketplace.audit.services import record_event
    from tests.factories import AgencyFactory, ListingFactory, ServiceItemFactory

    def add(n):
        for _ in range(n):
            listing = ListingFactory(organisation=AgencyFactory(), service_item=ServiceItemFactory())
            record_event("listing.created", listing)
        db.session.commit()

    add(5)
    few = _statements_on_the_audit_page(client, db)
    add(45)
    html = client.get("/audit/").get_data(as_text=True)
    assert html.count("Service listing created") >= 50
    assert _statements_on_the_audit_page(client, db) == few
