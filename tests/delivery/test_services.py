"""Delivery rules: versions, the revision clock, extensions, acceptance and what it sets off."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from marketplace.audit.models import AuditEvent
from marketplace.contracts.models import ContractStatus
from marketplace.core.errors import DomainError, InvalidTransition, PermissionDenied
from marketplace.core.uploads import StoredFile
from marketplace.credit.models import CreditInput, CreditInputKind
from marketplace.delivery import services
from marketplace.delivery.models import DeliveryStatus, ExtensionStatus
from marketplace.delivery.signals import delivery_accepted
from marketplace.procurement.models import RequestStatus
from marketplace.workdays.services import add_working_days, working_days_between
from tests.delivery.conftest import PNG, china, upload

DUE = date(2026, 6, 30)  # a Tuesday, far from any holiday


def _actions(delivery) -> list[str]:
    return list(db_actions(delivery))


def db_actions(delivery):
    from marketplace.extensions import db

    return db.session.execute(
        sa.select(AuditEvent.action).where(AuditEvent.object_type == "deliveries",
                                           AuditEvent.object_id == str(delivery.id))
        .order_by(AuditEvent.seq)
    ).scalars()


def test_opening_moves_the_request_into_service(db, in_force):
    delivery = in_force.delivery()
    assert delivery.status is DeliveryStatus.IN_PROGRESS
    assert delivery.due_date == delivery.original_due_date == in_force.contract.due_date
    assert delivery.approval_case_id == in_force.s.case.id
    assert in_force.req.status is RequestStatus.IN_SERVICE
    assert services.open_delivery(in_force.contract) is delivery  # idempotent
    assert _actions(delivery) == ["delivery.opened"]


def test_versions_are_numbered_and_kept(db, in_force):
    f = in_force
    delivery = f.delivery(due=DUE)
    v1 = services.submit_result(delivery, summary="报告初稿", files=[upload(), upload(PNG, "图.png")],
                                actor=f.agent, now=china(date(2026, 6, 22)))
    assert v1.version == 1 and len(v1.files) == 2
    assert [x.stored.content_type for x in v1.files] == ["application/pdf", "image/png"]
    assert f.req.status is RequestStatus.DELIVERED
    services.request_revision(delivery, reason="补充监测数据", version=1, actor=f.owner,
                              now=china(date(2026, 6, 23)))
    assert f.req.status is RequestStatus.IN_SERVICE
    v2 = services.submit_result(delivery, summary="报告终稿", files=[upload()], actor=f.agent,
                                now=china(date(2026, 6, 24)))
    assert v2.version == 2
    assert [s.version for s in delivery.submissions] == [1, 2]
    assert delivery.submissions[0].revision_reason == "补充监测数据"
    assert _actions(delivery) == ["delivery.opened", "delivery.submitted", "delivery.revision_requested",
                                  "delivery.submitted"]


def test_revision_pauses_the_clock_by_default(db, in_force):
    f = in_force
    delivery = f.delivery(due=DUE)
    submitted, requested, resubmitted = date(2026, 6, 26), date(2026, 7, 1), date(2026, 7, 8)
    services.submit_result(delivery, summary="初稿", files=[upload()], actor=f.agent, now=china(submitted))
    services.request_revision(delivery, reason="数据不全", version=1, actor=f.owner, now=china(requested))
    review = working_days_between(submitted, requested)
    assert review == 3
    assert delivery.due_date == add_working_days(DUE, review)
    assert delivery.paused_since == requested
    assert services.countdown(delivery, date(2026, 7, 20)).state == "paused"
    services.submit_result(delivery, summary="修改稿", files=[upload()], actor=f.agent, now=china(resubmitted))
    pause = working_days_between(requested, resubmitted)
    assert pause == 5
    assert delivery.due_date == add_working_days(DUE, review + pause)
    assert delivery.paused_since is None and delivery.overdue_since is None
    services.accept_delivery(delivery, version=2, actor=f.owner, now=china(date(2026, 7, 9)))
    assert delivery.overrun_days == 0  # first version on time: the revision does not count


def test_revision_on_the_agencys_time_when_the_clock_does_not_pause(db, in_force, app, monkeypatch):
    monkeypatch.setitem(app.config, "DELIVERY_REVISION_PAUSES_CLOCK", False)
    f = in_force
    delivery = f.delivery(due=DUE)
    submitted, requested = date(2026, 6, 26), date(2026, 7, 1)
    services.submit_result(delivery, summary="初稿", files=[upload()], actor=f.agent, now=china(submitted))
    services.request_revision(delivery, reason="数据不全", version=1, actor=f.owner, now=china(requested))
    due = add_working_days(DUE, working_days_between(submitted, requested))  # review time only
    assert delivery.due_date == due and delivery.paused_since is None
    assert services.clock_running(delivery)
    late = add_working_days(due, 2)
    services.submit_result(delivery, summary="修改稿", files=[upload()], actor=f.agent, now=china(late))
    assert delivery.due_date == due
    assert delivery.overdue_since == due + timedelta(days=1)
    services.accept_delivery(delivery, version=2, actor=f.owner, now=china(late + timedelta(days=1)))
    assert delivery.overrun_days == 2


def test_acceptance_completes_everything_and_sends_the_signal(db, in_force):
    f = in_force
    delivery = f.delivery(due=DUE)
    services.submit_result(delivery, summary="终稿", files=[upload()], actor=f.agent, now=china(DUE))
    received = []

    def receiver(sender, **kwargs):
        # Sent after the state changes, inside the transaction.
        received.append((sender, kwargs, sender.status, kwargs["delivery"].status))

    delivery_accepted.connect(receiver)
    try:
        services.accept_delivery(delivery, version=1, actor=f.owner, now=china(DUE + timedelta(days=1)))
    finally:
        delivery_accepted.disconnect(receiver)
    [(sender, kwargs, contract_status, delivery_status)] = received
    assert sender is f.contract
    assert set(kwargs) == {"delivery", "submission", "actor", "now"}
    assert kwargs["submission"].version == 1 and kwargs["actor"] is f.owner
    assert contract_status is ContractStatus.COMPLETED and delivery_status is DeliveryStatus.ACCEPTED
    assert f.req.status is RequestStatus.ACCEPTED
    assert delivery.overrun_days == 0 and delivery.accepted_version == 1
    assert db.session.execute(sa.select(sa.func.count(CreditInput.id))).scalar() == 0
    attached = db.session.execute(sa.select(AuditEvent).where(
        AuditEvent.action == "approval_case.result_attached")).scalar_one()
    assert attached.object_id == str(f.s.case.id)


def test_a_failing_receiver_rolls_the_acceptance_back(db, in_force):
    f = in_force
    delivery = f.delivery(due=DUE)
    services.submit_result(delivery, summary="终稿", files=[upload()], actor=f.agent, now=china(DUE))
    db.session.commit()

    def receiver(sender, **kwargs):
        raise RuntimeError("payment provider down")

    delivery_accepted.connect(receiver)
    try:
        with pytest.raises(RuntimeError):
            services.accept_delivery(delivery, version=1, actor=f.owner, now=china(DUE))
        db.session.rollback()
    finally:
        delivery_accepted.disconnect(receiver)
    db.session.expire_all()
    assert delivery.status is DeliveryStatus.SUBMITTED
    assert f.contract.status is ContractStatus.IN_FORCE


def test_overrun_is_recorded_against_the_agency_with_refs(db, in_force):
    f = in_force
    delivery = f.delivery(due=DUE)
    late = date(2026, 7, 3)  # Friday: Wed, Thu, Fri after the Tuesday due date
    services.submit_result(delivery, summary="迟交", files=[upload()], actor=f.agent, now=china(late))
    assert delivery.overdue_since == DUE + timedelta(days=1)
    services.accept_delivery(delivery, version=1, actor=f.owner, now=china(date(2026, 7, 6)))
    assert delivery.overrun_days == 3
    entry = db.session.execute(sa.select(CreditInput)).scalar_one()
    assert entry.organisation_id == f.contract.agency_org_id
    assert entry.kind is CreditInputKind.OVERRUN_DAYS and entry.value == 3
    refs = {(r.object_type.value, r.object_id, r.label) for r in entry.refs}
    assert refs == {("contract", str(f.contract.id), f.contract.contract_no),
                    ("approval_case", str(f.s.case.id), f.s.case.case_number)}


def test_only_the_latest_version_is_decided(db, in_force):
    f = in_force
    delivery = f.delivery(due=DUE)
    with pytest.raises(DomainError, match="no submitted result"):
        services.accept_delivery(delivery, version=None, actor=f.owner)
    services.submit_result(delivery, summary="初稿", files=[upload()], actor=f.agent, now=china(DUE))
    with pytest.raises(DomainError, match="newer version"):
        services.accept_delivery(delivery, version=2, actor=f.owner)
    with pytest.raises(DomainError, match="newer version"):
        services.request_revision(delivery, reason="x", version=0, actor=f.owner)
    with pytest.raises(DomainError, match="only while"):
        services.submit_result(delivery, summary="再交", files=[upload()], actor=f.agent)
    assert delivery.status is DeliveryStatus.SUBMITTED


def test_parties_act_only_on_their_own_side(db, in_force):
    f = in_force
    delivery = f.delivery(due=DUE)
    with pytest.raises(PermissionDenied):
        services.submit_result(delivery, summary="x", files=[upload()], actor=f.owner)
    with pytest.raises(PermissionDenied):
        services.submit_result(delivery, summary="x", files=[upload()], actor=f.s.staff[0])  # a loser
    services.submit_result(delivery, summary="x", files=[upload()], actor=f.agent, now=china(DUE))
    for user in (f.agent, f.officer):
        with pytest.raises(PermissionDenied):
            services.accept_delivery(delivery, version=1, actor=user)
    with pytest.raises(PermissionDenied):
        services.propose_extension(delivery, new_due_date=date(2026, 7, 10), reason="x", actor=f.officer)


@pytest.mark.parametrize(("files", "message"), [
    ([], "at least one file"),
    ([upload(b"MZ\x90\x00 not a document", "setup.exe")], "Only PDF, JPEG and PNG"),
    ([upload(b"", "空.pdf")], "empty"),
    ([upload(b"<html>%PDF-1.4</html>", "伪装.pdf")], "Only PDF, JPEG and PNG"),
    ([upload() for _ in range(11)], "At most 10 files"),
])
def test_bad_uploads_change_nothing(db, in_force, files, message):
    f = in_force
    delivery = f.delivery(due=DUE)
    with pytest.raises(DomainError, match=message):
        services.submit_result(delivery, summary="报告", files=[upload(), *files] if files and
                               "At most" not in message else files, actor=f.agent)
    db.session.rollback()
    db.session.expire_all()
    assert delivery.status is DeliveryStatus.IN_PROGRESS and delivery.submissions == []
    assert db.session.execute(sa.select(sa.func.count(StoredFile.id))).scalar() == 0


def test_a_too_large_file_is_refused(db, in_force, app, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 1024)
    f = in_force
    delivery = f.delivery(due=DUE)
    with pytest.raises(DomainError, match="larger than"):
        services.submit_result(delivery, summary="报告", files=[upload(b"%PDF-" + b"x" * 2000)], actor=f.agent)


def test_extension_agreed_moves_the_due_date(db, in_force):
    f = in_force
    delivery = f.delivery(due=DUE)
    ext = services.propose_extension(delivery, new_due_date=date(2026, 7, 10), reason="现场踏勘受阻",
                                     actor=f.agent, now=china(date(2026, 6, 20)))
    assert delivery.due_date == DUE  # not before the other party agrees
    with pytest.raises(DomainError, match="already waiting"):
        services.propose_extension(delivery, new_due_date=date(2026, 7, 13), reason="x", actor=f.owner)
    with pytest.raises(PermissionDenied):
        services.decide_extension(ext, agree=True, actor=f.agent)  # not one's own
    services.decide_extension(ext, agree=True, note="同意", actor=f.owner, now=china(date(2026, 6, 21)))
    assert ext.status is ExtensionStatus.AGREED and delivery.due_date == date(2026, 7, 10)
    assert delivery.original_due_date == DUE
    assert "delivery.due_date_changed" in _actions(delivery)
    with pytest.raises(InvalidTransition):
        services.decide_extension(ext, agree=False, actor=f.owner)


def test_extension_declined_or_withdrawn_changes_nothing(db, in_force):
    f = in_force
    delivery = f.delivery(due=DUE)
    ext = services.propose_extension(delivery, new_due_date=date(2026, 7, 10), reason="人手不足",
                                     actor=f.agent)
    services.decide_extension(ext, agree=False, note="不同意", actor=f.owner)
    assert ext.status is ExtensionStatus.DECLINED and delivery.due_date == DUE
    ext2 = services.propose_extension(delivery, new_due_date=date(2026, 7, 3), reason="再议",
                                      actor=f.owner)
    services.decide_extension(ext2, agree=False, actor=f.owner)  # the proposer withdraws
    assert ext2.status is ExtensionStatus.WITHDRAWN and delivery.due_date == DUE
    assert [e.status for e in delivery.extensions] == [ExtensionStatus.DECLINED, ExtensionStatus.WITHDRAWN]


@pytest.mark.parametrize(("new_due", "message"), [
    (DUE, "after the current due date"),
    (DUE - timedelta(days=3), "after the current due date"),
    (date(2026, 7, 4), "working day"),  # a Saturday
    (None, "Enter the proposed due date"),
])
def test_bad_extension_dates_are_refused(db, in_force, new_due, message):
    f = in_force
    delivery = f.delivery(due=DUE)
    with pytest.raises(DomainError, match=message):
        services.propose_extension(delivery, new_due_date=new_due, reason="理由", actor=f.agent)
    with pytest.raises(DomainError):
        services.propose_extension(delivery, new_due_date=date(2026, 7, 10), reason="  ", actor=f.agent)
    assert delivery.extensions == []
