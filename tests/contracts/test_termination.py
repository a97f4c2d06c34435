"""Terminating a contract in force: by agreement, or by the enterprise on a ground that holds."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from marketplace.audit.models import AuditEvent
from marketplace.contracts import termination
from marketplace.contracts.models import (
    Contract,
    ContractStatus,
    ContractTermination,
    TerminationGround,
    TerminationStatus,
)
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, PermissionDenied
from marketplace.credit.models import CreditInput
from marketplace.delivery import services as delivery_services
from marketplace.delivery.jobs import run_delivery_deadlines
from marketplace.delivery.models import Delivery
from marketplace.notifications.models import Notification
from marketplace.payments.models import Payment, PaymentStatus
from marketplace.procurement.models import PurchaseRequest, RequestStatus
from marketplace.ratings.models import RatingWindow
from marketplace.sanctions.models import SanctionKind, SanctionStatus
from marketplace.workdays.services import add_working_days
from tests.delivery.conftest import china, make_in_force
from tests.factories.sanctions import RegulatorFactory, SanctionCaseFactory


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the English messages."""


@pytest.fixture
def in_force(db):
    return make_in_force(db)


def _fresh(db, model, obj_id):
    db.session.expire_all()
    return db.session.get(model, obj_id)


def _terms(db, contract_id):
    return db.session.execute(sa.select(ContractTermination).where(
        ContractTermination.contract_id == contract_id).order_by(ContractTermination.id)).scalars().all()


def test_terminated_by_agreement_in_the_browser(db, browser, login_as, in_force):
    contract, req = in_force.contract, in_force.req
    in_force.delivery()
    login_as(in_force.agent)
    page = browser.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert "Propose termination by agreement" in page
    assert "Terminate on your own" not in page  # only the enterprise has unilateral grounds
    resp = browser.post(f"/contracts/{contract.id}/termination/propose",
                        {"reason": "项目取消，双方协商一致解除合同"}, form_url=f"/contracts/{contract.id}")
    assert resp.status_code == 302
    assert "Your proposal to terminate the contract was sent" in browser.get(resp.location).get_data(as_text=True)
    [term] = _terms(db, contract.id)
    assert term.status is TerminationStatus.PROPOSED and term.ground is TerminationGround.MUTUAL
    assert db.session.execute(sa.select(sa.func.count()).where(
        Notification.kind == "contracts.termination_proposed", Notification.user_id == in_force.owner.id)).scalar() == 1

    # the proposer cannot agree to its own proposal
    resp = browser.post(f"/contracts/{contract.id}/termination/{term.id}/agree", {"note": ""},
                        form_url=f"/contracts/{contract.id}")
    assert "The other party answers your proposal." in browser.get(resp.location).get_data(as_text=True)
    assert _fresh(db, Contract, contract.id).status is ContractStatus.IN_FORCE

    browser.logout()
    login_as(in_force.owner)
    page = browser.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert "The other party proposes to terminate the contract by agreement." in page
    resp = browser.post(f"/contracts/{contract.id}/termination/{term.id}/agree", {"note": "同意"},
                        form_url=f"/contracts/{contract.id}")
    assert "The contract is terminated by agreement." in browser.get(resp.location).get_data(as_text=True)

    contract = _fresh(db, Contract, contract.id)
    assert contract.status is ContractStatus.TERMINATED
    assert _fresh(db, ContractTermination, term.id).status is TerminationStatus.AGREED
    req = db.session.get(PurchaseRequest, req.id)
    assert req.status is RequestStatus.CANCELLED
    assert "项目取消，双方协商一致解除合同" in req.cancel_reason and contract.contract_no in req.cancel_reason
    # the public announcement says why the request ended
    browser.logout()
    public = browser.get(f"/announcements/{req.id}").get_data(as_text=True)
    assert "项目取消，双方协商一致解除合同" in public
    # the unpaid payment is cancelled, ratings open, the delivery page shows the end
    payment = db.session.execute(sa.select(Payment).where(Payment.contract_id == contract.id)).scalar_one()
    assert payment.status is PaymentStatus.CANCELLED
    assert db.session.execute(sa.select(RatingWindow).where(RatingWindow.contract_id == contract.id)).scalar_one()
    login_as(in_force.agent)
    delivery_page = browser.get(f"/deliveries/{contract.id}").get_data(as_text=True)
    assert 'id="terminated-banner"' in delivery_page and 'id="submit-form"' not in delivery_page
    contract_page = browser.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert "Agreed: the contract is terminated" in contract_page
    assert "Propose termination by agreement" not in contract_page
    actions = set(db.session.execute(sa.select(AuditEvent.action)).scalars())
    assert {"contract_termination.proposed", "contract_termination.agreed", "contract.terminated",
            "purchase_request.cancelled", "delivery.stopped"} <= actions
    assert db.session.execute(sa.select(sa.func.count()).where(
        Notification.kind == "contracts.terminated")).scalar() >= 2


def test_declined_and_withdrawn_proposals_leave_the_contract_in_force(db, in_force):
    contract = in_force.contract
    term = termination.propose_termination(contract, reason="甲方资金未到位", actor=in_force.owner)
    db.session.commit()
    with pytest.raises(DomainError, match="already waiting"):
        termination.propose_termination(contract, reason="再提一次", actor=in_force.agent)
    db.session.rollback()
    termination.answer_termination(term, agree=False, note="我方已投入工作，不同意解除", actor=in_force.agent)
    db.session.commit()
    assert _fresh(db, ContractTermination, term.id).status is TerminationStatus.DECLINED
    assert db.session.execute(sa.select(sa.func.count()).where(
        Notification.kind == "contracts.termination_declined", Notification.user_id == in_force.owner.id)).scalar() == 1

    second = termination.propose_termination(contract, reason="重新协商", actor=in_force.agent)
    termination.answer_termination(second, agree=False, actor=in_force.agent)  # the proposer withdraws
    db.session.commit()
    assert _fresh(db, ContractTermination, second.id).status is TerminationStatus.WITHDRAWN
    assert _fresh(db, Contract, contract.id).status is ContractStatus.IN_FORCE
    assert db.session.get(PurchaseRequest, in_force.req.id).status in (RequestStatus.CONTRACTED,
                                                                       RequestStatus.IN_SERVICE)


def test_only_the_parties_may_act(db, in_force):
    from tests.factories import UserFactory

    stranger = UserFactory()
    regulator = RegulatorFactory()
    db.session.commit()
    for user in (stranger, regulator):
        with pytest.raises(PermissionDenied):
            termination.propose_termination(in_force.contract, reason="无关方", actor=user)
    with pytest.raises(PermissionDenied, match="Only the enterprise"):
        termination.declare_termination(in_force.contract, ground="agency_excluded", reason="乙方单方解除",
                                        actor=in_force.agent)
    with pytest.raises(DomainError, match="propose it instead"):
        termination.declare_termination(in_force.contract, ground="mutual", reason="x", actor=in_force.owner)
    with pytest.raises(DomainError, match="Choose a ground"):
        termination.declare_termination(in_force.contract, ground="whim", reason="x", actor=in_force.owner)
    db.session.rollback()
    assert _terms(db, in_force.contract.id) == []


def test_pages_refuse_bad_input_without_change(db, browser, login_as, in_force):
    contract = in_force.contract
    login_as(in_force.owner)
    resp = browser.post(f"/contracts/{contract.id}/termination/propose", {"reason": ""},
                        form_url=f"/contracts/{contract.id}")
    assert resp.status_code == 302
    resp = browser.post(f"/contracts/{contract.id}/termination/declare",
                        {"ground": "agency_overdue", "reason": "逾期"}, form_url=f"/contracts/{contract.id}")
    page = browser.get(resp.location).get_data(as_text=True)
    assert "This ground does not hold now" in page
    resp = browser.post(f"/contracts/{contract.id}/termination/declare",
                        {"ground": "<script>", "reason": "逾期"}, form_url=f"/contracts/{contract.id}")
    assert resp.status_code == 302
    assert browser.post(f"/contracts/{contract.id}/termination/999999/agree", {},
                        form_url=f"/contracts/{contract.id}").status_code == 404
    assert browser.post(f"/contracts/{contract.id}/termination/{10**20}/agree", {},
                        form_url=f"/contracts/{contract.id}").status_code == 404
    assert _terms(db, contract.id) == []
    assert _fresh(db, Contract, contract.id).status is ContractStatus.IN_FORCE


def test_enterprise_terminates_a_seriously_overdue_contract(app, db, browser, login_as, in_force):
    due = date(2026, 9, 30)  # the last working day before the National Day holiday
    delivery = in_force.delivery(due=due)
    threshold = app.config["CONTRACT_TERMINATION_OVERDUE_DAYS"]
    almost = add_working_days(due, threshold - 1)
    [check, _excluded] = termination.unilateral_checks(in_force.contract, china(almost))
    assert not check.holds and f"now: {threshold - 1}" in check.explanation
    with pytest.raises(DomainError, match="does not hold now"):
        termination.declare_termination(in_force.contract, ground="agency_overdue", reason="逾期",
                                        actor=in_force.owner, now=china(almost))
    db.session.rollback()

    day = add_working_days(due, threshold)
    assert (day - due).days > threshold  # the holiday week does not count
    term = termination.declare_termination(
        in_force.contract, ground=TerminationGround.AGENCY_OVERDUE,
        reason="乙方逾期十个工作日仍未提交成果，甲方解除合同", actor=in_force.owner, now=china(day))
    db.session.commit()
    assert term.status is TerminationStatus.DECLARED
    contract = _fresh(db, Contract, in_force.contract.id)
    assert contract.status is ContractStatus.TERMINATED
    delivery = db.session.get(Delivery, delivery.id)
    assert delivery.overrun_days == threshold
    [overrun] = db.session.execute(sa.select(CreditInput).where(
        CreditInput.organisation_id == contract.agency_org_id)).scalars().all()
    assert overrun.value == threshold
    # the clock stops: the job neither marks overdue nor reminds any more
    assert delivery.id not in delivery_services.running_delivery_ids()
    run_delivery_deadlines(china(day + timedelta(days=3)))
    login_as(in_force.agent)
    page = browser.get(f"/deliveries/{contract.id}").get_data(as_text=True)
    assert "The contract was terminated" in page and "乙方逾期十个工作日" in page


def test_enterprise_terminates_when_the_agency_is_suspended(db, browser, login_as, in_force):
    contract = in_force.contract
    login_as(in_force.owner)
    page = browser.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert 'data-ground="agency_excluded" data-holds="no"' in page
    assert 'id="termination-declare-form"' not in page
    pending = termination.propose_termination(contract, reason="乙方提出解除", actor=in_force.agent)
    SanctionCaseFactory(organisation=contract.agency, kind=SanctionKind.SUSPENSION,
                        status=SanctionStatus.DECIDED, start_date=date.today() - timedelta(days=1),
                        decider=RegulatorFactory(), decided_at=utcnow(), notified_at=utcnow(),
                        response_deadline=date.today())
    db.session.commit()
    page = browser.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert 'data-ground="agency_excluded" data-holds="yes"' in page
    resp = browser.post(f"/contracts/{contract.id}/termination/declare",
                        {"ground": "agency_excluded", "reason": "乙方被暂停，无法继续履约"},
                        form_url=f"/contracts/{contract.id}")
    assert "The contract is terminated." in browser.get(resp.location).get_data(as_text=True)
    assert _fresh(db, Contract, contract.id).status is ContractStatus.TERMINATED
    # the agency's pending proposal is closed by the declaration
    assert _fresh(db, ContractTermination, pending.id).status is TerminationStatus.DECLINED


def test_nothing_happens_once_the_contract_ended(db, in_force):
    contract = in_force.contract
    term = termination.propose_termination(contract, reason="协商解除", actor=in_force.owner)
    termination.answer_termination(term, agree=True, actor=in_force.agent)
    db.session.commit()
    with pytest.raises(DomainError, match="no longer in force"):
        termination.propose_termination(contract, reason="再次", actor=in_force.owner)
    db.session.rollback()
    assert termination.unilateral_checks(_fresh(db, Contract, contract.id)) == []
    assert len(_terms(db, contract.id)) == 1


def test_a_terminated_contract_stays_on_the_public_notices(db, client, in_force):
    contract = in_force.contract
    term = termination.propose_termination(contract, reason="协商解除", actor=in_force.owner)
    termination.answer_termination(term, agree=True, actor=in_force.agent)
    db.session.commit()
    page = client.get("/contracts").get_data(as_text=True)
    assert contract.contract_no in page and "Terminated" in page
    assert client.get(f"/contracts/certificate/{contract.contract_no}").status_code == 200
    [notice] = client.get("/api/v1/contract-notices").get_json()["items"]
    assert notice["contract_no"] == contract.contract_no and notice["status"] == "terminated"
