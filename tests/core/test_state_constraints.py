"""Every allowed move of every state machine passes the database's CHECK constraints.

A transition table can allow a move whose row the schema refuses (a draft cancelled before it
was ever published was once HTTP 500). For each machine found in ``marketplace/*/states.py``
this builds a row the way the services do (the creating service's columns, then the columns each
service sets on the way to the from-state), sets the columns the service sets for the move, runs
the real ``StateMachine.transition`` and flushes. The table-wide tests fail when a machine or a
state has no declaration here, so a new lifecycle cannot go unchecked.

Parents are not built: a CHECK constraint reads only its own row, so foreign keys are not
checked in the test's transaction, which is rolled back.
"""

from __future__ import annotations

import enum
import importlib
import pkgutil
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

import marketplace
from marketplace.agencies.models import ListingStatus
from marketplace.complaints.models import (
    ComplaintCategory,
    ComplaintKind,
    ComplaintStatus,
    ObjectionStatus,
    Remedy,
    UpheldAgainst,
)
from marketplace.contracts.models import ContractStatus, TerminationGround, TerminationStatus
from marketplace.core.states import StateMachine
from marketplace.delivery.models import DeliveryStatus, ExtensionStatus
from marketplace.extensions import db as _db
from marketplace.independence.models import FlagStatus
from marketplace.inspections.models import InspectionStatus, PlanStatus
from marketplace.payments.models import PaymentStatus
from marketplace.procurement.models import BidStatus, CaseStatus, RequestStatus, SelectionMethod
from marketplace.ratings.models import RatingRole, RatingStatus
from marketplace.sanctions.models import RepairStatus, SanctionKind, SanctionStatus

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
TODAY = date(2026, 6, 1)
LATER = NOW + timedelta(days=10)


@dataclass(frozen=True)
class Step:
    """The columns a service sets when it moves a row into a state: ``before`` it calls
    ``transition`` (flushed while the row still has the old status) and ``after`` it."""

    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Rows:
    """How the services build rows of one lifecycle.

    ``created``: the states a row is created in, with the columns the creating service sets.
    ``enter``: for every other state, what the service sets when a row enters it (a ``Step`` or
    a dict of ``before`` columns; ``{}`` when it sets nothing but the status).
    ``only``: for a move allowed only for some rows, the columns that make such a row.
    """

    created: dict
    enter: dict
    only: dict = field(default_factory=dict)


R, B, O, C = RequestStatus, BidStatus, ObjectionStatus, ComplaintStatus  # noqa: E741
S, P = SanctionStatus, PaymentStatus

REQUEST_BASE = dict(
    region_code="530100",
    title="t",
    content="c",
    selection_method=SelectionMethod.LOWEST_PRICE,
    bidding_deadline=LATER,
    contact_name="n",
    contact_phone="1",
    complaint_phone="1",
    is_budgeted=True,
    budget_ceiling_fen=100_000,
    round_number=1,
)

ROWS: dict[type[enum.Enum], Rows] = {
    RequestStatus: Rows(
        created={R.DRAFT: REQUEST_BASE},
        enter={
            R.PUBLISHED: dict(published_at=NOW, draw_seed="s", draw_commitment="c"),
            R.BIDDING_CLOSED: dict(closed_at=NOW),
            R.AWARDED: dict(
                awarded_org_id=1,
                awarded_price_fen=100,
                awarded_days=5,
                awarded_at=NOW,
                objection_deadline=LATER,
            ),
            R.CONTRACTED: {},
            R.IN_SERVICE: {},
            R.DELIVERED: {},
            R.ACCEPTED: {},
            R.CLOSED: dict(ended_at=NOW),
            R.FAILED: dict(failure_reason="流标", ended_at=NOW),
            R.CANCELLED: dict(cancel_reason="项目选址调整", ended_at=NOW),
        },
        # A random draw commits to its seed at publication: the draft it starts from has none.
        only={(R.DRAFT, R.CANCELLED): dict(selection_method=SelectionMethod.RANDOM_DRAW)},
    ),
    BidStatus: Rows(
        created={
            B.SUBMITTED: dict(
                request_id=1,
                agency_id=1,
                price_fen=100,
                days=3,
                seal_nonce="n",
                commitment="c",
                submitted_at=NOW,
            )
        },
        enter={B.WITHDRAWN: {}, B.WON: {}, B.LOST: {}, B.REJECTED: dict(rejection_reason="不合格")},
    ),
    CaseStatus: Rows(
        created={CaseStatus.OPEN: dict(case_number="A-1", project_name="p")},
        enter={CaseStatus.APPROVED: {}, CaseStatus.REJECTED: {}, CaseStatus.WITHDRAWN: {}},
    ),
    ListingStatus: Rows(
        created={ListingStatus.DRAFT: {}},
        enter={ListingStatus.PUBLISHED: {}, ListingStatus.WITHDRAWN: {}},
    ),
    ObjectionStatus: Rows(
        created={O.DRAFT: dict(grounds="g")},
        enter={
            O.SUBMITTED: dict(submitted_at=NOW, answer_deadline=LATER),
            O.ANSWERED: dict(
                answer_text="a", answered_at=NOW, answered_by_id=1, escalation_deadline=LATER
            ),
            O.RESOLVED: dict(closed_at=NOW, closing_note="n"),
            O.ESCALATED: dict(closed_at=NOW, closing_note="n"),
        },
    ),
    ComplaintStatus: Rows(
        created={
            C.SUBMITTED: dict(
                kind=ComplaintKind.SERVICE,
                category=ComplaintCategory.LATENESS,
                grounds="g",
                acceptance_deadline=LATER,
            )
        },
        enter={
            C.ACCEPTED: dict(accepted_at=NOW, accepted_by_id=1, decision_deadline=LATER),
            C.REJECTED: dict(rejection_reason="r", decided_at=NOW, decided_by_id=1),
            C.UPHELD: dict(
                upheld_against=UpheldAgainst.AGENCY,
                remedy=Remedy.NONE,
                decided_at=NOW,
                decided_by_id=1,
                decision_text="t",
            ),
            C.DISMISSED: dict(decided_at=NOW, decided_by_id=1, decision_text="t"),
            C.WITHDRAWN: dict(withdrawn_at=NOW, withdrawal_reason="r"),
        },
    ),
    ContractStatus: Rows(
        created={
            ContractStatus.DRAFTING: dict(
                contract_no="HT-1",
                price_fen=100,
                working_days=5,
                signing_deadline=LATER,
                current_version=1,
            )
        },
        enter={
            ContractStatus.AWAITING_SIGNATURES: {},
            ContractStatus.IN_FORCE: dict(
                effective_date=TODAY, due_date=TODAY + timedelta(days=7), in_force_at=NOW
            ),
            ContractStatus.REFUSED: dict(refusal_reason="乙方未在签约期限内签署合同"),
            ContractStatus.TERMINATED: {},
            ContractStatus.COMPLETED: {},
        },
    ),
    TerminationStatus: Rows(
        created={
            TerminationStatus.PROPOSED: dict(ground=TerminationGround.MUTUAL, reason="r"),
            TerminationStatus.DECLARED: dict(
                ground=next(g for g in TerminationGround if g is not TerminationGround.MUTUAL),
                reason="r",
            ),
        },
        enter={
            s: dict(decided_by_id=1, decided_at=NOW, decision_note="n")
            for s in (
                TerminationStatus.AGREED,
                TerminationStatus.DECLINED,
                TerminationStatus.WITHDRAWN,
            )
        },
    ),
    DeliveryStatus: Rows(
        created={DeliveryStatus.IN_PROGRESS: dict(original_due_date=TODAY, due_date=TODAY)},
        enter={
            DeliveryStatus.SUBMITTED: dict(paused_since=None),
            # The clock pauses (when configured) after the move, never before it.
            DeliveryStatus.REVISION_REQUESTED: Step(after=dict(paused_since=TODAY)),
            DeliveryStatus.ACCEPTED: dict(
                accepted_version=1, accepted_at=NOW, accepted_by_id=1, overrun_days=0
            ),
        },
    ),
    ExtensionStatus: Rows(
        created={
            ExtensionStatus.PROPOSED: dict(
                proposed_by_id=1,
                current_due_date=TODAY,
                proposed_due_date=TODAY + timedelta(days=5),
                reason="r",
            )
        },
        enter={
            s: dict(decided_by_id=1, decided_at=NOW, decision_note="n")
            for s in (ExtensionStatus.AGREED, ExtensionStatus.DECLINED, ExtensionStatus.WITHDRAWN)
        },
    ),
    FlagStatus: Rows(
        created={FlagStatus.ACTIVE: dict(evidence_text="e")},
        enter={FlagStatus.LIFTED: dict(lifted_by_id=1, lifted_at=NOW, lift_reason="r")},
    ),
    PlanStatus: Rows(
        created={
            PlanStatus.DRAFT: dict(
                title="t", agency_sample_size=1, inspector_count=2, inspectors_per_check=2
            )
        },
        enter={
            PlanStatus.DRAWN: dict(
                drawn_at=NOW, drawn_by_id=1, agency_list_hash="h", inspector_list_hash="h"
            ),
            PlanStatus.PUBLISHED: dict(published_at=NOW),
            PlanStatus.CANCELLED: dict(cancelled_reason="r"),
        },
    ),
    InspectionStatus: Rows(
        created={InspectionStatus.PENDING: dict(rank=1, draw_key="k")},
        enter={
            s: dict(
                recorded_by_id=1,
                recorded_at=NOW,
                findings="" if s is InspectionStatus.PASSED else "f",
            )
            for s in (InspectionStatus.PASSED, InspectionStatus.PROBLEMS, InspectionStatus.REFERRED)
        },
    ),
    PaymentStatus: Rows(
        created={P.UNPAID: dict(amount_fen=100)},
        enter={
            P.PENDING: dict(checkout_session_id="cs_1", checkout_url="https://checkout.invalid/1"),
            P.UNPAID: dict(checkout_session_id=None, checkout_url=None),
            P.PAID: dict(
                checkout_session_id="cs_1", checkout_url=None, payment_intent_id="pi_1", paid_at=NOW
            ),
            P.REFUNDING: dict(payment_intent_id="pi_1", refund_requested_at=NOW, refund_reason="r"),
            P.REFUNDED: dict(settled_at=NOW),
            P.TRANSFERRED: dict(transfer_id="tr_1", settled_at=NOW),
            P.CANCELLED: {},
            P.RECORDED: dict(bank_reference="b", paid_on=TODAY, recorded_by_id=1, paid_at=NOW),
            P.CONFIRMED: dict(confirmed_by_id=1, settled_at=NOW),
            P.DISPUTED: dict(dispute_reason="r"),
        },
    ),
    RatingStatus: Rows(
        created={
            RatingStatus.SUBMITTED: dict(
                role=RatingRole.ENTERPRISE,
                mean_centi=400,
                **dict.fromkeys(RatingRole.ENTERPRISE.dimensions, 4),
            )
        },
        enter={RatingStatus.REVEALED: dict(revealed_at=NOW)},
    ),
    SanctionStatus: Rows(
        created={
            S.PROPOSED: dict(
                kind=SanctionKind.SUSPENSION,
                ground_code="g",
                proposer_id=1,
                proposed_at=NOW,
                start_date=TODAY,
                end_date=TODAY + timedelta(days=90),
            )
        },
        enter={
            S.NOTIFIED: dict(notified_by_id=1, notified_at=NOW, response_deadline=LATER),
            S.DECIDED: dict(
                decider_id=2,
                decided_at=NOW,
                start_date=TODAY,
                end_date=TODAY + timedelta(days=90),
                decision_reason="r",
            ),
            S.WITHDRAWN: dict(withdrawn_reason="r"),
            S.APPEALED: dict(appeal_text="a", appealed_at=NOW, appealed_by_id=1),
            S.UPHELD: dict(appeal_decider_id=3, appeal_decided_at=NOW, appeal_reason="r"),
            S.SHORTENED: dict(
                original_end_date=TODAY + timedelta(days=90),
                end_date=TODAY + timedelta(days=30),
                appeal_decider_id=3,
                appeal_decided_at=NOW,
                appeal_reason="r",
            ),
            S.REVOKED: dict(appeal_decider_id=3, appeal_decided_at=NOW, appeal_reason="r"),
        },
        # Only a warning is decided without notice first.
        only={(S.PROPOSED, S.DECIDED): dict(kind=SanctionKind.WARNING)},
    ),
    RepairStatus: Rows(
        created={RepairStatus.PENDING: dict(text="t")},
        enter={
            s: dict(decided_by_id=1, decided_at=NOW, decision_reason="r")
            for s in (RepairStatus.APPROVED, RepairStatus.REJECTED)
        },
    ),
}


def _machines() -> list[tuple[str, StateMachine]]:
    found = []
    for info in sorted(pkgutil.iter_modules(marketplace.__path__), key=lambda i: i.name):
        name = f"marketplace.{info.name}.states"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a states.py that exists but cannot be imported is a failure
                raise
            continue
        found += [
            (f"{info.name}.{name}", obj)
            for name, obj in sorted(vars(module).items())
            if isinstance(obj, StateMachine)
        ]
    return found


MACHINES = _machines()


def _model_of(machine: StateMachine):
    models = [
        m.class_
        for m in _db.Model.registry.mappers
        if "status" in m.columns
        and getattr(m.columns["status"].type, "enum_class", None) is machine.status_enum
    ]
    assert len(models) == 1, f"{machine.status_enum.__name__}: expected one model, found {models}"
    return models[0]


def _moves():
    for name, machine in MACHINES:
        for src, targets in machine.transitions.items():
            for dst in sorted(targets, key=lambda s: s.value):
                yield pytest.param(machine, src, dst, id=f"{name}:{src.value}->{dst.value}")


def _path(rows: Rows, machine: StateMachine, target) -> list:
    """The shortest way the services bring a new row to ``target``: a created state, then moves."""
    queue = deque([[s] for s in rows.created])
    seen = set(rows.created)
    while queue:
        path = queue.popleft()
        if path[-1] is target:
            return path
        for nxt in sorted(machine.transitions[path[-1]], key=lambda s: s.value):
            # A move only some rows may make is no way for the others.
            if nxt not in seen and (path[-1], nxt) not in rows.only:
                seen.add(nxt)
                queue.append([*path, nxt])
    raise AssertionError(f"{target} cannot be reached from {list(rows.created)}")


def _step(rows: Rows, state) -> Step:
    step = rows.enter[state]
    return step if isinstance(step, Step) else Step(before=step)


def _filler(column: sa.Column, n: int):
    """A value for a NOT NULL column no CHECK of the lifecycle reads (a key, a name); keys
    differ from each other (two parties of a row are never the same organisation)."""
    kind = column.type
    if getattr(kind, "enum_class", None) is not None:
        return next(iter(kind.enum_class))
    python = kind.python_type
    return {int: 100 + n, str: "x", bool: False, datetime: NOW, date: TODAY, bytes: b"x"}.get(
        python, 1
    )


def _build(model, values: dict):
    for n, column in enumerate(model.__table__.columns):
        if (
            column.key not in values
            and not column.nullable
            and not column.primary_key
            and column.default is None
            and column.server_default is None
        ):
            values[column.key] = _filler(column, n)
    obj = model(**values)
    _db.session.add(obj)
    _db.session.flush()
    return obj


def _without_foreign_keys():
    """Until the rollback: SQLite checks them only at a COMMIT that never comes, PostgreSQL
    (as a replica) not at all. CHECK constraints stay in force on both."""
    if _db.session.get_bind().dialect.name == "postgresql":
        _db.session.execute(sa.text("SET LOCAL session_replication_role = replica"))
    else:
        _db.session.execute(sa.text("PRAGMA defer_foreign_keys = ON"))


@pytest.mark.parametrize(("machine", "src", "dst"), list(_moves()))
def test_each_allowed_move_satisfies_the_check_constraints(db, machine, src, dst):
    rows = ROWS.get(machine.status_enum)
    if rows is None:
        pytest.fail(f"declare in ROWS how the services build {machine.status_enum.__name__} rows")
    model = _model_of(machine)
    _without_foreign_keys()
    path = _path(rows, machine, src)
    values = {**rows.created[path[0]], **rows.only.get((src, dst), {}), "status": path[0]}
    for state in path[1:]:
        step = _step(rows, state)
        values.update(step.before, **step.after, status=state)
    obj = _build(model, values)
    step = _step(rows, dst)
    for key, value in step.before.items():
        setattr(obj, key, value)
    try:
        machine.transition(obj, dst, actor="test")
        for key, value in step.after.items():
            setattr(obj, key, value)
        db.session.flush()
    except sa.exc.IntegrityError as exc:
        pytest.fail(
            f"{model.__tablename__} {src.value} → {dst.value} is allowed by the transition "
            f"table but refused by the database: {exc.orig}"
        )
    finally:
        db.session.rollback()
    assert obj.status is dst


@pytest.mark.parametrize(("name", "machine"), MACHINES, ids=[n for n, _ in MACHINES])
def test_every_lifecycle_declares_how_its_rows_are_built(name, machine):
    """A new machine, or a new state, fails here until ROWS says how the services build it."""
    rows = ROWS.get(machine.status_enum)
    assert rows is not None, f"{name}: no entry in ROWS"
    targets = {dst for moves in machine.transitions.values() for dst in moves}
    assert targets <= set(rows.enter), f"{name}: say what the services set on entering each state"
    assert set(rows.created) | set(rows.enter) == set(machine.status_enum)
    assert set(rows.only) <= {(a, b) for a, targets in machine.transitions.items() for b in targets}


def test_the_machines_are_found():
    """The discovery sees every lifecycle (guards against the walk silently covering nothing)."""
    assert len(MACHINES) >= 17
    assert {m.status_enum for _, m in MACHINES} == set(ROWS)
