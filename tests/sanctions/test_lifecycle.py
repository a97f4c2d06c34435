"""Due process: proposal, notice and response on working days, decision, appeal, withdrawal."""

import json
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from marketplace.core.errors import DomainError, InvalidTransition, PermissionDenied
from marketplace.credit.models import CreditInput, CreditInputKind
from marketplace.credit.services import credit_score_for
from marketplace.notifications.models import Notification
from marketplace.sanctions import services, signals
from marketplace.sanctions.eligibility import is_sanctioned
from marketplace.sanctions.models import SanctionStatus
from marketplace.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.factories.procurement import ApprovalCaseFactory
from tests.sanctions.conftest import NOW, TODAY, at


def _kinds_for(user, db):
    return [n.kind for n in db.session.execute(
        sa.select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)).scalars()]


def test_a_warning_is_decided_directly_by_a_second_regulator(db, world):
    case = world.propose("warning", end_date=TODAY + timedelta(days=180))
    services.decide_sanction(case, actor=world.r2, end_date=TODAY + timedelta(days=180), now=NOW)
    assert case.status is SanctionStatus.DECIDED
    assert (case.proposer_id, case.decider_id) == (world.r1.id, world.r2.id)
    assert not is_sanctioned(world.agency.id, TODAY)  # a warning does not exclude
    assert credit_score_for(world.agency.id) == 70.0
    assert _kinds_for(world.staff, db) == ["sanctions.proposed", "sanctions.decided"]


def test_response_deadline_counts_working_days(db, world):
    case = world.propose()
    services.notify_agency(case, actor=world.r1, now=NOW)
    assert case.status is SanctionStatus.NOTIFIED
    assert case.response_deadline == date(2026, 3, 9)  # Mon + 5 working days (weekend skipped)
    note = db.session.execute(sa.select(Notification).where(Notification.kind == "sanctions.notice")).scalar_one()
    assert json.loads(note.params)["deadline"] == "2026-03-09"


def test_response_deadline_skips_the_national_day_holiday(db, world):
    """Notified Wed 30 Sep 2026: 1–7 Oct are holidays, Sat 10 Oct is an adjusted working day."""
    now = at(date(2026, 9, 30))
    case = world.propose(now=now)
    services.notify_agency(case, actor=world.r1, now=now)
    assert case.response_deadline == date(2026, 10, 13)


def test_response_deadline_follows_the_setting(app, db, world, monkeypatch):
    monkeypatch.setitem(app.config, "SANCTION_RESPONSE_DAYS", 2)
    case = world.propose()
    services.notify_agency(case, actor=world.r1, now=NOW)
    assert case.response_deadline == date(2026, 3, 4)


def test_no_decision_while_the_response_period_is_open(db, world):
    case = world.propose()
    with pytest.raises(DomainError, match="notified"):
        services.decide_sanction(case, actor=world.r2, end_date=TODAY + timedelta(days=90), now=NOW)
    services.notify_agency(case, actor=world.r1, now=NOW)
    last_day = at(date(2026, 3, 9), 23)
    with pytest.raises(DomainError, match="respond until"):
        services.decide_sanction(case, actor=world.r2, end_date=date(2026, 6, 1), now=last_day)
    day_after = at(date(2026, 3, 10))
    services.decide_sanction(case, actor=world.r2, start_date=date(2026, 3, 10), end_date=date(2026, 6, 1),
                             now=day_after)
    assert case.status is SanctionStatus.DECIDED


def test_a_response_allows_an_early_decision(db, world):
    case = world.propose()
    services.notify_agency(case, actor=world.r1, now=NOW)
    services.respond_to_proposal(case, text="已补交成果，逾期系业主延迟提供资料。", actor=world.staff, now=NOW)
    assert case.response_text.startswith("已补交")
    assert "sanctions.responded" in _kinds_for(world.r1, db)
    with pytest.raises(DomainError):
        services.respond_to_proposal(case, text="再次答复", actor=world.staff, now=NOW)
    services.decide_sanction(case, actor=world.r2, end_date=TODAY + timedelta(days=30), now=NOW)
    assert is_sanctioned(world.agency.id, TODAY)


def test_no_response_after_the_deadline(db, world):
    case = world.propose()
    services.notify_agency(case, actor=world.r1, now=NOW)
    with pytest.raises(DomainError, match="over"):
        services.respond_to_proposal(case, text="迟到的答复", actor=world.staff, now=at(date(2026, 3, 10)))
    assert case.responded_at is None


@pytest.mark.parametrize("text", ["", "   ", "bad\x00text", "x" * 4001])
def test_bad_response_text_is_refused(db, world, text):
    case = world.propose()
    services.notify_agency(case, actor=world.r1, now=NOW)
    with pytest.raises(DomainError):
        services.respond_to_proposal(case, text=text, actor=world.staff, now=NOW)


def test_only_the_agency_concerned_responds(db, world):
    from tests.factories import AgencyFactory, UserFactory

    case = world.propose()
    stranger = UserFactory(organisation=AgencyFactory(), role=world.staff.role)
    with pytest.raises(PermissionDenied):
        services.respond_to_proposal(case, text="不是我们", actor=stranger, now=NOW)
    with pytest.raises(PermissionDenied):
        services.respond_to_proposal(case, text="监管答复", actor=world.r2, now=NOW)


def test_decision_records_credit_webhook_signal_and_notice(db, world):
    endpoint = WebhookEndpoint(organisation_id=world.r3.organisation_id, url="http://127.0.0.1:9/hook",
                               event_types="sanction.decided", secret="whsec_test", created_by_id=world.r3.id)
    db.session.add(endpoint)
    db.session.flush()
    seen = []

    def receiver(sender, **kwargs):
        seen.append(sender.id)

    signals.sanction_decided.connect(receiver)
    try:
        approval = ApprovalCaseFactory(case_number="SP2026000001")
        case = world.decided("blacklist", evidence=[("approval_case", "SP2026000001", "安全预评价"),
                                                   ("other", "HT-9", "")])
    finally:
        signals.sanction_decided.disconnect(receiver)
    assert seen == [case.id]
    entry = db.session.execute(sa.select(CreditInput).where(CreditInput.kind == CreditInputKind.SANCTION)).scalar_one()
    assert entry.level.value == "blacklist"
    # the evidence was resolved when entered: the ledger refers to the case itself
    assert {(r.object_type.value, r.object_id) for r in entry.refs} == {
        ("sanction", str(case.id)), ("approval_case", str(approval.id))}
    # the ledger names each piece of evidence by its number, the note only beside it
    assert {r.label for r in entry.refs} == {case.reference, "SP2026000001 · 安全预评价"}
    delivery = db.session.execute(sa.select(WebhookDelivery)).scalar_one()
    body = json.loads(delivery.payload)
    assert body["type"] == "sanction.decided"
    assert body["data"]["agency"]["uscc"] == world.agency.uscc
    assert body["data"]["kind"] == "blacklist" and body["data"]["end_date"] is None
    assert "sanctions.decided_indefinite" in _kinds_for(world.staff, db)


@pytest.mark.parametrize(("start", "end", "field"), [
    (TODAY - timedelta(days=1), TODAY + timedelta(days=30), "start_date"),
    (TODAY + timedelta(days=400), TODAY + timedelta(days=500), "start_date"),
    (TODAY + timedelta(days=10), TODAY + timedelta(days=5), "end_date"),
    (TODAY, None, "end_date"),  # a suspension needs an end
    (TODAY, TODAY + timedelta(days=4000), "end_date"),
])
def test_bad_periods_are_refused(db, world, start, end, field):
    case = world.propose()
    services.notify_agency(case, actor=world.r1, now=NOW)
    services.respond_to_proposal(case, text="答复", actor=world.staff, now=NOW)
    with pytest.raises(DomainError) as info:
        services.decide_sanction(case, actor=world.r2, start_date=start, end_date=end, now=NOW)
    assert info.value.field == field


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"kind": "fine"}, "kind"),
    ({"kind": "warning", "ground_code": "no_such_ground"}, "ground_code"),
    ({"kind": "warning", "ground_code": "falsified_report"}, "ground_code"),  # not for warnings
    ({"kind": "warning", "facts": ""}, "facts"),
    ({"kind": "warning", "facts": "x" * 4001}, "facts"),
    ({"kind": "warning", "evidence": [("invoice", "1", "")]}, "evidence"),
    ({"kind": "warning", "evidence": [("contract", "", "缺编号")]}, "evidence"),
    ({"kind": "warning", "evidence": [("contract", str(i), "") for i in range(11)]}, "evidence"),
])
def test_bad_proposals_are_refused(db, world, kwargs, field):
    kwargs.setdefault("ground_code", "serious_overrun")
    kwargs.setdefault("facts", "事实")
    with pytest.raises(DomainError) as info:
        services.propose_sanction(world.agency, actor=world.r1, now=NOW, **kwargs)
    assert info.value.field == field


def test_only_regulators_propose_and_decide(db, world):
    with pytest.raises(PermissionDenied):
        world.propose("warning", by=world.staff)
    case = world.propose("warning")
    with pytest.raises(PermissionDenied):
        services.decide_sanction(case, actor=world.staff, now=NOW)
    # An administrator acts as a regulator (never on their own proposal).
    services.decide_sanction(case, actor=world.admin, now=NOW)
    assert case.decider_id == world.admin.id


def test_withdrawal_needs_a_reason_and_ends_the_case(db, world):
    case = world.propose()
    with pytest.raises(DomainError):
        services.withdraw_sanction(case, actor=world.r2, reason=" ", now=NOW)
    services.withdraw_sanction(case, actor=world.r2, reason="证据不足", now=NOW)
    assert case.status is SanctionStatus.WITHDRAWN
    with pytest.raises(InvalidTransition):
        services.decide_sanction(case, actor=world.r3, now=NOW)
    assert "sanctions.withdrawn" in _kinds_for(world.staff, db)


def test_appeal_shortens_once(db, world):
    case = world.decided("suspension", end=TODAY + timedelta(days=90))
    services.appeal_sanction(case, text="处罚过重，请求缩短。", actor=world.staff, now=NOW + timedelta(days=1))
    assert case.status is SanctionStatus.APPEALED
    assert is_sanctioned(world.agency.id, TODAY + timedelta(days=2))  # in force during the appeal
    with pytest.raises(DomainError):
        services.decide_appeal(case, actor=world.r3, outcome="shortened", reason="缩短",
                               new_end_date=TODAY + timedelta(days=90), now=NOW)
    services.decide_appeal(case, actor=world.r3, outcome="shortened", reason="情节较轻",
                           new_end_date=TODAY + timedelta(days=30), now=NOW + timedelta(days=2))
    assert case.status is SanctionStatus.SHORTENED
    assert (case.end_date, case.original_end_date) == (TODAY + timedelta(days=30), TODAY + timedelta(days=90))
    assert is_sanctioned(world.agency.id, TODAY + timedelta(days=30))
    assert not is_sanctioned(world.agency.id, TODAY + timedelta(days=31))
    with pytest.raises(InvalidTransition):
        services.appeal_sanction(case, text="再次申诉", actor=world.staff, now=NOW + timedelta(days=3))
    assert "sanctions.appeal_decided" in _kinds_for(world.staff, db)


def test_revoking_on_appeal_lifts_the_sanction_and_its_credit_penalty(db, world):
    case = world.decided("blacklist")
    assert credit_score_for(world.agency.id) == 35.0
    services.appeal_sanction(case, text="事实认定错误", actor=world.staff, now=NOW)
    services.decide_appeal(case, actor=world.r3, outcome="revoked", reason="事实不清", now=NOW)
    assert case.status is SanctionStatus.REVOKED
    assert not is_sanctioned(world.agency.id, TODAY)
    assert credit_score_for(world.agency.id) == 75.0
    assert services.get_public_case(case.id) is case  # the revocation is public too


def test_upheld_keeps_the_sanction(db, world):
    case = world.decided("suspension")
    services.appeal_sanction(case, text="请求撤销", actor=world.staff, now=NOW)
    services.decide_appeal(case, actor=world.r3, outcome="upheld", reason="维持", now=NOW)
    assert case.status is SanctionStatus.UPHELD
    assert is_sanctioned(world.agency.id, TODAY)


def test_appeal_period_is_counted_in_working_days(db, world):
    case = world.decided("suspension")
    deadline = services.appeal_deadline(case)
    assert deadline == date(2026, 3, 23)  # 15 working days after Mon 2 March
    with pytest.raises(DomainError, match="over"):
        services.appeal_sanction(case, text="迟到的申诉", actor=world.staff, now=at(date(2026, 3, 24)))
    services.appeal_sanction(case, text="按期申诉", actor=world.staff, now=at(date(2026, 3, 23), 20))


def test_an_appeal_needs_an_outcome_and_a_reason(db, world):
    case = world.decided("suspension")
    services.appeal_sanction(case, text="申诉", actor=world.staff, now=NOW)
    with pytest.raises(DomainError):
        services.decide_appeal(case, actor=world.r3, outcome="decided", reason="x", now=NOW)
    with pytest.raises(DomainError):
        services.decide_appeal(case, actor=world.r3, outcome="upheld", reason="", now=NOW)
    with pytest.raises(DomainError):
        services.decide_appeal(case, actor=world.r3, outcome="shortened", reason="x", now=NOW)
