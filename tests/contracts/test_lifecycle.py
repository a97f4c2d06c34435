"""The contract lifecycle: generated from the final award, signed by both, verified, refused."""

from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from marketplace.audit.models import AuditEvent
from marketplace.contracts import services
from marketplace.contracts.documents.render import sha256_hex
from marketplace.contracts.jobs import run_contract_deadlines
from marketplace.contracts.models import Contract, ContractSignature, ContractStatus
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, PermissionDenied
from marketplace.credit.models import CreditInput
from marketplace.extensions import db as _db
from marketplace.jobs.registry import all_jobs
from marketplace.procurement.jobs import run_procurement_deadlines
from marketplace.procurement.models import BidStatus, PurchaseRequest, RequestStatus
from marketplace.workdays.services import add_working_days, is_working_day, working_days_between
from tests.factories import UserFactory
from tests.factories.accounts import DEFAULT_PASSWORD
from tests.procurement.conftest import make_scenario


def _final_award(db):
    """A request awarded to agency 1 (lowest price) whose award became final: the contract exists."""
    s = make_scenario(db)
    req = s.published()
    for i, price in enumerate((9_000_000, 8_000_000, 8_500_000)):
        s.bid(req, i, price)
    run_procurement_deadlines(s.after_deadline(req))
    db.session.refresh(req)
    assert req.status is RequestStatus.AWARDED
    run_procurement_deadlines(req.objection_deadline + timedelta(minutes=1))
    contract = db.session.execute(sa.select(Contract).where(Contract.request_id == req.id)).scalar_one()
    return s, req, contract


@pytest.fixture
def awarded(db):
    return _final_award(db)


def _sign(contract, user, *, password=DEFAULT_PASSWORD, version=None, now=None, name="签署人"):
    data = services.SignatureInput(password=password, signer_name=name, signer_position="经理",
                                   version=version, ip="203.0.113.9", user_agent="pytest")
    return services.sign_contract(contract, data, actor=user, now=now)


def _sign_in_browser(browser, login_as, contract, user, **changes):
    login_as(user)
    form = {"signer_name": "王五", "signer_position": "总经理", "password": DEFAULT_PASSWORD,
            "version": str(contract.current_version)}
    form.update(changes)
    url = f"/contracts/{contract.id}"
    return browser.post(f"{url}/sign?lang=en", form, form_url=url, follow_redirects=True)


# --- generation -------------------------------------------------------------------------------


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_contract_pdf_names_no_signer_the_parties_did_not_choose(awarded, db):
    """Both organisations' contact person is 李四 (the factory): the drafted contract printed it as
    both parties' 授权代表 though the people who sign type their own names when they sign."""
    s, _req, contract = awarded
    assert s.enterprise.contact_name == contract.agency.contact_name == "李四"
    text = _pdf_text(contract.versions[0].pdf)
    assert "李四" not in text
    assert text.count("以平台签署记录为准") >= 4  # 授权代表 and 签字 lines of both parties
    assert contract.buyer.name in text and contract.agency.name in text


def test_final_award_generates_version_one(awarded, db):
    s, req, contract = awarded
    assert contract.status is ContractStatus.AWAITING_SIGNATURES
    assert contract.buyer_org_id == s.enterprise.id and contract.agency_org_id == s.agencies[1].id
    assert contract.price_fen == 8_000_000 and contract.working_days == 20
    [version] = contract.versions
    assert version.pdf.startswith(b"%PDF") and version.sha256 == sha256_hex(version.pdf)
    # deadline: CONTRACT_SIGNING_DAYS working days after the final award, end of day in China
    finalised_day = services.china_today(req.award_finalised_at)
    assert services.china_today(contract.signing_deadline) == add_working_days(finalised_day, 5)
    actions = set(db.session.execute(
        sa.select(AuditEvent.action).where(AuditEvent.object_type == "contracts")).scalars())
    assert {"contract.drafted", "contract.awaiting_signatures"} <= actions
    # both parties were told; generation is idempotent
    assert services.generate_contract(req) is contract
    from marketplace.notifications.models import Notification

    kinds = db.session.execute(sa.select(Notification.user_id).where(
        Notification.kind == "contracts.drafted")).scalars().all()
    assert s.owner.id in kinds and s.staff[1].id in kinds


# --- signing end to end -----------------------------------------------------------------------


def test_both_parties_sign_in_the_browser_then_in_force(awarded, db, browser, login_as, client):
    s, req, contract = awarded
    assert browser.get(f"/contracts/{contract.id}").status_code == 302  # parties only: log in first
    login_as(s.owner)
    page = browser.get(f"/contracts/{contract.id}")
    assert page.status_code == 200
    resp = browser.get(f"/contracts/{contract.id}/v1.pdf")
    assert resp.status_code == 200 and resp.data == contract.versions[0].pdf

    resp = _sign_in_browser(browser, login_as, contract, s.owner)
    assert b"Your signature was recorded." in resp.data
    db.session.refresh(contract)
    assert contract.status is ContractStatus.AWAITING_SIGNATURES

    resp = _sign_in_browser(browser, login_as, contract, s.staff[1])
    assert b"Your signature was recorded." in resp.data
    db.session.expire_all()
    contract = db.session.get(Contract, contract.id)
    assert contract.status is ContractStatus.IN_FORCE
    today = services.china_today()
    assert contract.effective_date == today
    assert contract.due_date == add_working_days(today, contract.working_days)
    assert is_working_day(contract.due_date)
    assert working_days_between(contract.effective_date, contract.due_date) == contract.working_days
    assert db.session.get(PurchaseRequest, req.id).status is RequestStatus.CONTRACTED

    sigs = services.signatures_of(contract)
    assert {sig.party_org_id for sig in sigs} == {s.enterprise.id, s.agencies[1].id}
    assert all(services.signature_is_valid(sig) for sig in sigs)
    assert all(sig.ip and sig.user_agent and sig.sha256 == contract.versions[0].sha256 for sig in sigs)
    version = contract.versions[0]
    assert version.sealed_pdf.startswith(version.pdf)  # sealed as an incremental update
    assert version.sealed_sha256 == sha256_hex(version.sealed_pdf)

    # public notice and certificate of completion
    notices = client.get("/contracts?lang=en").get_data(as_text=True)
    assert contract.contract_no in notices and contract.agency.name in notices
    assert "注册测绘师" not in notices  # no clause text
    page = client.get(f"/contracts/certificate/{contract.contract_no}?lang=en")
    assert page.mimetype == "text/html" and "王五" in page.get_data(as_text=True)
    cert = client.get(f"/contracts/certificate/{contract.contract_no}?download=1&lang=en")
    assert cert.status_code == 200 and cert.mimetype == "application/pdf"
    assert cert.headers["Content-Disposition"] == (
        f'attachment; filename="{contract.contract_no}-certificate.pdf"')
    # The signers' names and the hashes, each on one line (not cut by the page width).
    text = _pdf_text(cert.data).replace("\n", "")
    assert text.count("王五") == 2 and "INVALID" not in text
    assert version.sha256 in text and version.sealed_sha256 in text


def _in_force(db, awarded):
    s, req, contract = awarded
    _sign(contract, s.owner)
    _sign(contract, s.staff[1])
    db.session.commit()
    return s, req, contract


def _upload(client, data: bytes, contract_no: str = ""):
    client.get("/contracts/verify")
    from tests.conftest import extract_csrf

    token = extract_csrf(client.get("/contracts/verify").get_data(as_text=True))
    return client.post("/contracts/verify?lang=en", data={
        "csrf_token": token, "contract_no": contract_no,
        "file": (io.BytesIO(data), "contract.pdf"),
    }, content_type="multipart/form-data")


def test_verify_page_accepts_the_sealed_file_and_detects_one_changed_byte(awarded, db, client):
    s, req, contract = _in_force(db, awarded)
    sealed = contract.versions[0].sealed_pdf
    page = _upload(client, sealed).get_data(as_text=True)
    assert 'data-verdict="ok"' in page and 'data-seal="intact"' in page
    assert contract.contract_no in page and s.enterprise.name in page

    # one byte changed in the middle of the document
    tampered = bytearray(sealed)
    middle = len(tampered) // 2
    tampered[middle] = (tampered[middle] + 1) % 256
    page = _upload(client, bytes(tampered)).get_data(as_text=True)
    assert 'data-verdict="failed"' in page and 'data-verdict="ok"' not in page
    page = _upload(client, bytes(tampered), contract.contract_no).get_data(as_text=True)
    assert 'data-verdict="failed"' in page

    # the unsealed version: recorded, but not the sealed signed file
    page = _upload(client, contract.versions[0].pdf).get_data(as_text=True)
    assert 'data-verdict="failed"' in page

    # by number alone: who signed and when
    token_page = client.get("/contracts/verify").get_data(as_text=True)
    from tests.conftest import extract_csrf

    page = client.post("/contracts/verify?lang=en", data={
        "csrf_token": extract_csrf(token_page), "contract_no": contract.contract_no,
    }).get_data(as_text=True)
    assert s.agencies[1].name in page and "签署人" in page

    # not a PDF: a clear refusal, no crash
    resp = _upload(client, b"hello")
    assert resp.status_code == 200 and b"not a PDF" in resp.data


def test_cli_verify_exit_codes(awarded, db, app, tmp_path):
    _s, _req, contract = _in_force(db, awarded)
    good = tmp_path / "good.pdf"
    good.write_bytes(contract.versions[0].sealed_pdf)
    bad = tmp_path / "bad.pdf"
    data = bytearray(contract.versions[0].sealed_pdf)
    data[len(data) // 3] ^= 0x01
    bad.write_bytes(bytes(data))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["contracts", "verify", str(good)])
    assert result.exit_code == 0, result.output
    assert contract.contract_no in result.output
    result = runner.invoke(args=["contracts", "verify", str(bad)])
    assert result.exit_code == 1


# --- refusals ---------------------------------------------------------------------------------


def _signature_count(contract) -> int:
    return _db.session.execute(sa.select(sa.func.count()).select_from(ContractSignature).where(
        ContractSignature.contract_id == contract.id)).scalar()


def test_wrong_password_is_refused_and_changes_nothing(awarded, db, browser, login_as):
    s, _req, contract = awarded
    resp = _sign_in_browser(browser, login_as, contract, s.owner, password="wrong-password")
    assert b"The password is not correct." in resp.data
    assert _signature_count(contract) == 0
    with pytest.raises(services.SigningRefused):
        _sign(contract, s.owner, password="nope")


def test_second_signature_by_the_same_party_is_refused(awarded, db):
    s, _req, contract = awarded
    _sign(contract, s.owner)
    colleague = UserFactory(organisation=s.enterprise)
    with pytest.raises(services.SigningRefused, match="already signed"):
        _sign(contract, colleague)
    assert _signature_count(contract) == 1


def test_only_the_parties_authorised_users_sign(awarded, db, browser, login_as):
    s, _req, contract = awarded
    with pytest.raises(PermissionDenied):
        _sign(contract, s.staff[0])  # a losing agency
    resp = browser.get(f"/contracts/{contract.id}")
    assert resp.status_code in (302, 401)
    login_as(s.staff[0])
    assert browser.get(f"/contracts/{contract.id}").status_code == 404
    assert _signature_count(contract) == 0


def test_changes_make_a_new_version_and_old_signatures_no_longer_count(awarded, db):
    s, _req, contract = awarded
    _sign(contract, s.owner)
    old = contract.versions[0]
    version = services.propose_changes(contract, "乙方须于每周五提交进度报告。", actor=s.staff[1])
    db.session.commit()
    assert version.version == 2 and version.sha256 != old.sha256 and old.is_superseded
    assert services.signatures_of(contract) == []
    # a signature on the superseded version is refused
    with pytest.raises(services.SigningRefused, match="superseded"):
        _sign(contract, s.staff[1], version=1)
    _sign(contract, s.staff[1], version=2)
    db.session.refresh(contract)
    assert contract.status is ContractStatus.AWAITING_SIGNATURES  # the buyer signed v1 only
    _sign(contract, s.owner, version=2)
    db.session.refresh(contract)
    assert contract.status is ContractStatus.IN_FORCE
    assert contract.versions[1].sealed_sha256 and contract.versions[0].sealed_sha256 is None


def test_signing_after_the_deadline_is_refused(awarded, db):
    s, _req, contract = awarded
    with pytest.raises(services.SigningRefused, match="deadline"):
        _sign(contract, s.owner, now=contract.signing_deadline + timedelta(seconds=1))
    assert _signature_count(contract) == 0


def test_bad_signer_name_is_refused(awarded, db):
    s, _req, contract = awarded
    with pytest.raises(DomainError):
        _sign(contract, s.owner, name="   ")
    with pytest.raises(DomainError):
        _sign(contract, s.owner, name="x" * 500)
    assert _signature_count(contract) == 0


# --- the deadline job -------------------------------------------------------------------------


def test_deadline_job_refuses_and_passes_the_award(awarded, db):
    s, req, contract = awarded
    assert "contracts.deadlines" in [job.name for job in all_jobs()]
    _sign(contract, s.owner)  # the buyer signed; the agency never does
    db.session.commit()
    assert run_contract_deadlines(contract.signing_deadline - timedelta(minutes=1)) == 0
    later = contract.signing_deadline + timedelta(minutes=1)
    assert run_contract_deadlines(later) == 1
    assert run_contract_deadlines(later) == 0  # idempotent
    db.session.expire_all()
    contract = db.session.get(Contract, contract.id)
    req = db.session.get(PurchaseRequest, req.id)
    assert contract.status is ContractStatus.REFUSED and contract.refusal_reason
    # the award passed to the next in the ranking (agency 2 at 8.5M), on the record
    assert req.status is RequestStatus.AWARDED and req.awarded_org_id == s.agencies[2].id
    assert req.awarded_price_fen == 8_500_000
    actions = db.session.execute(sa.select(AuditEvent.action)).scalars().all()
    assert "contract.refused" in actions and "purchase_request.award_passed" in actions
    refusals = db.session.execute(sa.select(CreditInput).where(
        CreditInput.organisation_id == s.agencies[1].id)).scalars().all()
    assert [str(r.kind) for r in refusals] == ["signing_refusal"]
    from marketplace.procurement.models import Bid

    old_bid = db.session.execute(sa.select(Bid).where(
        Bid.request_id == req.id, Bid.agency_id == s.agencies[1].id)).scalar_one()
    assert old_bid.status is BidStatus.REJECTED
    # once the new winner's award is final, it gets its own contract
    run_procurement_deadlines(req.objection_deadline + timedelta(minutes=1))
    contracts = db.session.execute(sa.select(Contract).where(Contract.request_id == req.id)
                                   .order_by(Contract.id)).scalars().all()
    assert [c.agency_org_id for c in contracts] == [s.agencies[1].id, s.agencies[2].id]
    assert contracts[1].contract_no != contracts[0].contract_no


def test_job_leaves_a_contract_the_agency_signed(awarded, db):
    s, _req, contract = awarded
    _sign(contract, s.staff[1])
    db.session.commit()
    assert run_contract_deadlines(contract.signing_deadline + timedelta(minutes=1)) == 0
    db.session.refresh(contract)
    assert contract.status is ContractStatus.AWAITING_SIGNATURES


# --- races ------------------------------------------------------------------------------------


def test_unique_constraint_allows_one_signature_per_party_and_version(awarded, db):
    """Sequentially (SQLite too): the constraint itself refuses a second row."""
    s, _req, contract = awarded
    sig = _sign(contract, s.owner)
    db.session.commit()
    twin = ContractSignature(
        contract_id=contract.id, version=sig.version, party_org_id=sig.party_org_id,
        user_id=sig.user_id, signer_name="x", sha256=sig.sha256, platform_signature="x",
        signed_at=utcnow(),
    )
    db.session.add(twin)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    assert _signature_count(contract) == 1


def test_simultaneous_signatures_by_one_party_give_exactly_one(awarded, db, app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs real concurrent transactions: run with TEST_DATABASE_URL=postgresql://...")
    s, _req, contract = awarded
    signers = [s.owner] + [UserFactory(organisation=s.enterprise) for _ in range(7)]
    db.session.commit()
    ids = [u.id for u in signers]
    barrier = threading.Barrier(len(ids))
    outcomes: list[object] = []
    lock = threading.Lock()

    def worker(user_id):
        from marketplace.accounts.models import User

        with app.app_context():
            try:
                user = _db.session.get(User, user_id)
                c = _db.session.get(Contract, contract.id)
                barrier.wait(timeout=30)
                _sign(c, user)
                _db.session.commit()
                result = "signed"
            except services.SigningRefused:
                _db.session.rollback()
                result = "refused"
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                _db.session.rollback()
                result = exc
            finally:
                _db.session.remove()
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=worker, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(map(str, outcomes)) == ["refused"] * (len(ids) - 1) + ["signed"]
    _db.session.expire_all()
    assert _signature_count(contract) == 1
