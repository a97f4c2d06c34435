"""Dual evaluation: blind until both sides rated or the window closed; once; parties only; credit."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Role
from marketplace.audit.models import AuditEvent
from marketplace.contracts.models import ContractStatus
from marketplace.contracts.states import CONTRACT_MACHINE
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, PermissionDenied
from marketplace.credit.models import CreditInput, CreditInputKind
from marketplace.notifications.models import Notification
from marketplace.ratings import services
from marketplace.ratings.jobs import run_rating_reveals
from marketplace.ratings.models import Rating, RatingRole, RatingStatus, RatingWindow
from tests.delivery.conftest import make_in_force
from tests.factories import EnterpriseFactory, GovernmentFactory, RegulatorFactory, UserFactory
from tests.ratings.conftest import ENTERPRISE_SCORES, OFFICE_SCORES, other_user


def _credit_inputs(db, org_id):
    return list(db.session.execute(
        sa.select(CreditInput).where(CreditInput.organisation_id == org_id,
                                     CreditInput.kind.in_([CreditInputKind.RATING_ENTERPRISE,
                                                           CreditInputKind.RATING_APPROVAL_OFFICE]))
        .order_by(CreditInput.id)
    ).scalars())


def _ratings(db):
    return db.session.execute(sa.select(sa.func.count(Rating.id))).scalar_one()


def test_accepting_the_result_opens_the_window(finished, db):
    window = services.window_of(finished.contract)
    assert window is not None and window.revealed_at is None
    assert window.opened_at == finished.finished_at
    assert window.closes_at == finished.closes_at
    assert window.approval_case_id == finished.f.s.case.id


def test_both_sides_rated_reveals_both_and_records_the_enterprise_rating(finished, db):
    enterprise = finished.rate_enterprise()
    db.session.commit()
    assert enterprise.status is RatingStatus.SUBMITTED
    # blind: the agency sees nothing of it, the enterprise sees its own
    assert services.visible_ratings(finished.agent, finished.contract) == []
    assert services.visible_ratings(finished.owner, finished.contract) == [enterprise]
    assert services.public_ratings_about(finished.contract.agency_org_id) == []
    assert _credit_inputs(db, finished.contract.agency_org_id) == []
    told = db.session.execute(sa.select(Notification).where(
        Notification.user_id == finished.agent.id, Notification.kind == "ratings.received")).scalars().all()
    assert len(told) == 1

    agency = finished.rate_agency()
    db.session.commit()
    assert enterprise.status is RatingStatus.REVEALED and agency.status is RatingStatus.REVEALED
    assert services.window_of(finished.contract).revealed_at is not None
    assert {r.id for r in services.visible_ratings(finished.agent, finished.contract)} == {enterprise.id, agency.id}

    [entry] = _credit_inputs(db, finished.contract.agency_org_id)
    assert entry.kind is CreditInputKind.RATING_ENTERPRISE
    assert entry.rating == Decimal("2.20")  # (2 + 1 + 3 + 2 + 3) / 5
    refs = {(r.object_type.value, r.object_id, r.label) for r in entry.refs}
    contract, case = finished.contract, finished.f.s.case
    assert ("contract", str(contract.id), contract.contract_no) in refs
    assert ("approval_case", str(case.id), case.case_number) in refs
    assert enterprise.credit_input_id == entry.id
    # the agency's rating of the enterprise never reaches the agency's credit
    assert _credit_inputs(db, finished.contract.buyer_org_id) == []
    assert [r.id for r in services.public_ratings_about(contract.buyer_org_id)] == [agency.id]


def test_one_side_stays_sealed_until_the_window_job(finished, db):
    rating = finished.rate_enterprise()
    db.session.commit()
    assert run_rating_reveals(finished.closes_at - timedelta(minutes=1)) == 0
    db.session.refresh(rating)
    assert rating.status is RatingStatus.SUBMITTED and _credit_inputs(db, rating.subject_org_id) == []

    assert run_rating_reveals(finished.closes_at + timedelta(minutes=1)) == 1
    db.session.refresh(rating)
    assert rating.status is RatingStatus.REVEALED
    assert len(_credit_inputs(db, rating.subject_org_id)) == 1
    # idempotent
    assert run_rating_reveals(finished.closes_at + timedelta(days=1)) == 0
    assert len(_credit_inputs(db, rating.subject_org_id)) == 1
    events = db.session.execute(sa.select(sa.func.count(AuditEvent.seq)).where(
        AuditEvent.action == "rating_window.revealed")).scalar_one()
    assert events == 1


def test_no_rating_after_the_window(finished, db):
    with pytest.raises(DomainError, match="rating period"):
        finished.rate_agency(now=finished.closes_at + timedelta(seconds=1))
    assert _ratings(db) == 0


def test_the_approval_officer_of_the_case_rates_the_result(finished, db):
    rating = finished.rate_office()
    db.session.commit()
    assert rating.role is RatingRole.APPROVAL_OFFICE and rating.approval_case_id == finished.f.s.case.id
    assert rating.subject_org_id == finished.contract.agency_org_id
    assert rating.status is RatingStatus.SUBMITTED  # sealed with the window
    finished.rate_enterprise()
    finished.rate_agency()
    db.session.commit()
    db.session.refresh(rating)
    assert rating.status is RatingStatus.REVEALED
    kinds = sorted(e.kind.value for e in _credit_inputs(db, rating.subject_org_id))
    assert kinds == ["rating_approval_office", "rating_enterprise"]
    office = next(e for e in _credit_inputs(db, rating.subject_org_id)
                  if e.kind is CreditInputKind.RATING_APPROVAL_OFFICE)
    assert office.rating == Decimal("2.33")


def test_an_officer_rating_after_the_reveal_is_public_at_once(finished, db):
    finished.rate_enterprise()
    finished.rate_agency()
    rating = finished.rate_office()
    db.session.commit()
    assert rating.status is RatingStatus.REVEALED
    assert len(_credit_inputs(db, rating.subject_org_id)) == 2


def test_only_the_officers_of_that_case_department_rate(finished, db):
    elsewhere = UserFactory(organisation=GovernmentFactory(), role=Role.APPROVAL_OFFICER)
    db.session.commit()
    with pytest.raises(PermissionDenied):
        finished.rate_office(by=elsewhere)
    assert _ratings(db) == 0


def test_only_the_parties_rate(finished, db):
    outsiders = [
        UserFactory(organisation=EnterpriseFactory(), role=Role.ENTERPRISE_STAFF),
        finished.f.s.staff[2],  # another agency that bid
        RegulatorFactory(),
        other_user(finished.contract.buyer, Role.AGENCY_STAFF),  # wrong role in the right org
    ]
    db.session.commit()
    for user in outsiders:
        with pytest.raises(PermissionDenied):
            services.submit_rating(finished.contract, scores=ENTERPRISE_SCORES, comment="", actor=user)
    assert _ratings(db) == 0


def test_each_rating_once_and_no_edits(finished, db):
    finished.rate_enterprise()
    db.session.commit()
    colleague = other_user(finished.contract.buyer, Role.ENTERPRISE_STAFF)
    db.session.commit()
    with pytest.raises(DomainError, match="already been rated"):
        finished.rate_enterprise({**ENTERPRISE_SCORES, "quality": 5}, by=colleague)
    db.session.rollback()
    with pytest.raises(DomainError, match="already been rated"):
        finished.rate_enterprise()
    db.session.rollback()
    [rating] = db.session.execute(sa.select(Rating)).scalars().all()
    assert rating.quality == 2


@pytest.mark.parametrize("scores", [
    {**ENTERPRISE_SCORES, "quality": 6},
    {**ENTERPRISE_SCORES, "quality": 0},
    {k: v for k, v in ENTERPRISE_SCORES.items() if k != "fees"},
    {**ENTERPRISE_SCORES, "quality": "x"},
    {**ENTERPRISE_SCORES, "payment": 3},
])
def test_bad_scores_are_refused(finished, db, scores):
    with pytest.raises(DomainError):
        finished.rate_enterprise(scores)
    assert _ratings(db) == 0


def test_an_unfinished_contract_cannot_be_rated(db):
    f = make_in_force(db)
    with pytest.raises(DomainError, match="finished"):
        services.submit_rating(f.contract, scores=ENTERPRISE_SCORES, comment="", actor=f.owner)
    assert _ratings(db) == 0


def test_a_contract_terminated_while_in_force_gets_its_window_from_the_job(db):
    f = make_in_force(db)
    CONTRACT_MACHINE.transition(f.contract, ContractStatus.TERMINATED, actor=f.owner, reason="双方协商解除")
    db.session.commit()
    assert services.window_of(f.contract) is None
    run_rating_reveals(utcnow())
    window = services.window_of(f.contract)
    assert window is not None and window.revealed_at is None
    rating = services.submit_rating(f.contract, scores=ENTERPRISE_SCORES, comment="", actor=f.owner)
    assert rating.status is RatingStatus.SUBMITTED


def test_reply_once_by_the_rated_party_after_the_reveal(finished, db):
    rating = finished.rate_enterprise()
    db.session.commit()
    with pytest.raises(DomainError, match="once it is public"):
        services.reply_to_rating(rating, text="我们有不同意见。", actor=finished.agent)
    db.session.rollback()
    finished.rate_agency()
    db.session.commit()
    with pytest.raises(PermissionDenied):
        services.reply_to_rating(rating, text="补充说明。", actor=finished.owner)
    services.reply_to_rating(rating, text="逾期系因资料延迟提供。", actor=finished.agent)
    db.session.commit()
    with pytest.raises(DomainError, match="already been answered"):
        services.reply_to_rating(rating, text="再次回复。", actor=finished.agent)
    db.session.rollback()
    db.session.refresh(rating)
    assert rating.reply == "逾期系因资料延迟提供。"


def test_a_regulator_hides_a_comment_and_the_score_stays(finished, db):
    rating = finished.rate_enterprise(comment="这家机构就是骗子！")
    finished.rate_agency()
    db.session.commit()
    regulator = RegulatorFactory()
    db.session.commit()
    with pytest.raises(PermissionDenied):
        services.hide_comment(rating, reason="人身攻击", actor=finished.agent)
    with pytest.raises(DomainError):
        services.hide_comment(rating, reason="   ", actor=regulator)
    services.hide_comment(rating, reason="含侮辱性言论", actor=regulator)
    db.session.commit()
    db.session.refresh(rating)
    assert rating.is_comment_hidden and rating.comment_hidden_reason == "含侮辱性言论"
    assert (rating.quality, rating.mean_centi) == (2, 220)
    assert len(_credit_inputs(db, rating.subject_org_id)) == 1
    event = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "rating.comment_hidden")).scalar_one()
    assert event.actor_id == regulator.id and "含侮辱性言论" in event.payload
    with pytest.raises(DomainError, match="already hidden"):
        services.hide_comment(rating, reason="重复", actor=regulator)


def test_a_regulator_hides_a_reply_as_a_comment(finished, db):
    rating = finished.rate_enterprise(comment="报告质量一般，严重逾期。")
    finished.rate_agency()
    db.session.commit()
    regulator = RegulatorFactory()
    db.session.commit()
    with pytest.raises(DomainError, match="no reply"):
        services.hide_reply(rating, reason="人身攻击", actor=regulator)
    services.reply_to_rating(rating, text="贵公司项目经理就是个骗子！", actor=finished.agent)
    db.session.commit()
    for someone in (finished.agent, finished.owner, finished.officer):
        with pytest.raises(PermissionDenied):
            services.hide_reply(rating, reason="人身攻击", actor=someone)
    with pytest.raises(DomainError):
        services.hide_reply(rating, reason="  ", actor=regulator)
    services.hide_reply(rating, reason="含侮辱性言论", actor=regulator)
    db.session.commit()
    db.session.refresh(rating)
    # hidden with the reason on the record; the reply stays on file, the rating is untouched
    assert rating.is_reply_hidden and rating.reply_hidden_reason == "含侮辱性言论"
    assert rating.reply_hidden_by_id == regulator.id
    assert rating.reply == "贵公司项目经理就是个骗子！"
    assert not rating.is_comment_hidden and (rating.quality, rating.mean_centi) == (2, 220)
    event = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "rating.reply_hidden")).scalar_one()
    assert event.actor_id == regulator.id and "含侮辱性言论" in event.payload
    # the agency that wrote the reply is told why
    note = db.session.execute(sa.select(Notification).where(
        Notification.user_id == finished.agent.id, Notification.kind == "ratings.reply_hidden")).scalar_one()
    assert "含侮辱性言论" in note.params
    with pytest.raises(DomainError, match="already hidden"):
        services.hide_reply(rating, reason="重复", actor=regulator)
    db.session.rollback()
    # one reply per rating: hiding it does not open a second one
    with pytest.raises(DomainError, match="already been answered"):
        services.reply_to_rating(rating, text="重新回复。", actor=finished.agent)


def test_the_moderation_queue_lists_replies_too(finished, db):
    rating = finished.rate_enterprise(comment="")
    finished.rate_agency(comment="")
    db.session.commit()
    assert services.moderation_queue() == []
    services.reply_to_rating(rating, text="逾期系因资料延迟。", actor=finished.agent)
    db.session.commit()
    assert services.moderation_queue() == [rating]


def test_window_table_has_one_row_per_contract(finished, db):
    services.open_window(finished.contract)
    services.open_window(finished.contract)
    assert db.session.execute(sa.select(sa.func.count(RatingWindow.id))).scalar_one() == 1


def test_score_mean_rounding():
    assert services.mean_centi(OFFICE_SCORES) == 233
    assert services.mean_centi({"a": 1, "b": 2}) == 150
    assert services.mean_centi({"a": 5, "b": 4, "c": 4}) == 433
