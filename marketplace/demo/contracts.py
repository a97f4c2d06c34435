"""Demonstration contracts and their service (``flask seed demo`` calls ``load_contracts_demo``).

Runs after the procurement demo, whose four decided requests each have a contract awaiting
signatures. Through the same services as the web pages:

- park (lowest price): signed, result delivered and accepted, paid by bank transfer and
  confirmed, rated by the enterprise, the approval office and the agency: the request is closed;
- school (scoring): signed and in service; the bank transfer is recorded and waits for the
  agency's confirmation; the agency proposes a later due date;
- pipe (random draw): signed, then terminated by agreement before any result;
- clinic (direct selection): left awaiting signatures.

Signing, delivery, payment, rating and termination stay in this one stage: each contract's story
runs to its end before the next one starts, and that order is the order of the audit chain.
"""

from __future__ import annotations

import io

import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from marketplace.demo.accounts import DEMO_ACCOUNTS

# A one-page PDF standing in for the result document.
RESULT_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _result_file(name: str) -> FileStorage:
    return FileStorage(stream=io.BytesIO(RESULT_PDF), filename=name, content_type="application/pdf")


def load_contracts_demo(password: str, request_ids: dict[str, int]) -> dict[str, int]:
    """Sign, deliver, pay, rate and terminate the demo contracts; returns contract ids by key."""
    from marketplace.accounts.models import Role, User
    from marketplace.contracts import services as contracts
    from marketplace.contracts import termination
    from marketplace.contracts.models import Contract
    from marketplace.delivery import services as delivery
    from marketplace.extensions import db
    from marketplace.payments import services as payments
    from marketplace.ratings import services as ratings
    from marketplace.workdays.services import add_working_days

    emails = {role: email for role, email, _name, _org in DEMO_ACCOUNTS}

    def user(**by) -> User:
        return db.session.execute(sa.select(User).filter_by(**by).order_by(User.id)).scalars().first()

    owner = user(email=emails["enterprise_staff"])
    officer = user(email=emails["approval_officer"])
    found = {key: db.session.execute(sa.select(Contract).where(Contract.request_id == request_ids[key]))
             .scalar_one_or_none() for key in ("park", "school", "pipe", "clinic")}

    def agent(contract: Contract) -> User:
        return user(organisation_id=contract.agency_org_id, role=Role.AGENCY_STAFF)

    def sign(contract: Contract) -> None:
        for signer, position in ((owner, "项目负责人"), (agent(contract), "法定代表人")):
            contracts.sign_contract(contract, contracts.SignatureInput(
                password=password, signer_name=signer.name, signer_position=position, version=None,
                ip="127.0.0.1", user_agent="flask seed demo"), actor=signer)

    ids = {}
    park = found["park"]
    if park is not None:
        sign(park)
        d = delivery.open_delivery(park)
        delivery.submit_result(d, summary="水土保持方案报告书（报批稿），含防治责任范围图和投资估算表。",
                               files=[_result_file("水土保持方案报告书.pdf")], actor=agent(park))
        delivery.accept_delivery(d, version=1, actor=owner)
        payments.record_offline_payment(park, payments.OfflineInput(
            reference="ICBC-DEMO-0001", amount_fen=park.price_fen, paid_on=park.effective_date), actor=owner)
        payments.confirm_offline_payment(park, actor=agent(park))
        ratings.submit_rating(park, scores={"quality": 5, "timeliness": 4, "attitude": 5, "fees": 4, "conduct": 5},
                              comment="报告质量好，按审查意见修改及时。", actor=owner)
        ratings.submit_rating(park, scores={"quality": 4, "conformity": 5, "timeliness": 4},
                              comment="成果符合审批要求，一次通过技术审查。", actor=officer)
        ratings.submit_rating(park, scores={"cooperation": 5, "payment": 5, "conduct": 5},
                              comment="业主提供资料齐全，付款及时。", actor=agent(park))
        ids["park"] = park.id

    school = found["school"]
    if school is not None:
        sign(school)
        d = delivery.open_delivery(school)
        payments.record_offline_payment(school, payments.OfflineInput(
            reference="ICBC-DEMO-0002", amount_fen=school.price_fen, paid_on=school.effective_date), actor=owner)
        delivery.propose_extension(d, new_due_date=add_working_days(d.due_date, 5),
                                   reason="项目选址调整，需补充现场监测数据。", actor=agent(school))
        ids["school"] = school.id

    pipe = found["pipe"]
    if pipe is not None:
        sign(pipe)
        delivery.open_delivery(pipe)
        proposal = termination.propose_termination(
            pipe, reason="项目管网线位调整，原委托内容取消，双方协商解除合同。", actor=owner)
        termination.answer_termination(proposal, agree=True, note="同意解除，未发生费用。", actor=agent(pipe))
        ids["pipe"] = pipe.id

    if found["clinic"] is not None:
        ids["clinic"] = found["clinic"].id
    db.session.flush()
    return ids

