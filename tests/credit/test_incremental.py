"""Incremental scores equal a fresh fold of the ledger; recompute --check finds every difference."""

import random
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from marketplace.credit import formula as F
from marketplace.credit import services
from marketplace.credit.models import (
    CreditInput,
    CreditInputKind,
    CreditScore,
    CreditScoreHistory,
    HistoryReason,
    InputEffect,
    SanctionLevel,
)
from marketplace.credit.services import cancel_credit_input, check_scores, ledger_aggregates
from marketplace.jobs.registry import all_jobs
from tests.credit.conftest import NOW, add
from tests.factories import AgencyFactory

KINDS = list(CreditInputKind)


def _random_input(rng, org, at):
    kind = rng.choice(KINDS)
    kwargs = {"occurred_at": at, "now": NOW, "refs": [("contract", rng.randint(1, 10**6))]}
    if kind.is_rating:
        value = Decimal(rng.randint(100, 500)) / 100
        kwargs["weight"] = Decimal(rng.choice([50, 100, 100, 150, 200])) / 100
    elif kind is CreditInputKind.OVERRUN_DAYS:
        value = rng.randint(1, 25)
    else:
        value = 1
    if kind is CreditInputKind.SANCTION:
        kwargs["level"] = rng.choice(list(SanctionLevel))
    return add(org, kind, value, **kwargs)


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=["credit", "recompute", *args])


@pytest.mark.parametrize("seed", range(6))
def test_incremental_equals_recompute(app, db, seed):
    rng = random.Random(seed)
    orgs = [AgencyFactory() for _ in range(4)]
    entries = []
    for _ in range(rng.randint(20, 60)):
        org = rng.choice(orgs)
        entries.append(_random_input(rng, org, NOW - timedelta(days=rng.randint(0, 600))))
        if entries and rng.random() < 0.15:
            victim = rng.choice(entries)
            cancel_credit_input(victim, effect=rng.choice([InputEffect.REVERSAL, InputEffect.EXPIRY]), now=NOW)
    db.session.commit()
    assert check_scores() == []
    result = _cli(app, "--check")
    assert result.exit_code == 0, result.output
    assert "matches" in result.output
    # And the stored numbers are those of a fresh fold, evaluated by hand.
    expected = ledger_aggregates()
    for org in orgs:
        row = db.session.get(CreditScore, org.id)
        if row is None:
            assert org.id not in expected
            continue
        assert F.Aggregates.of_row(row) == expected[org.id]
        assert row.score_centi == F.evaluate(F.FORMULAS[-1], expected[org.id]).score_centi
    # One history row per ledger entry, each pointing at its input.
    entries_total = db.session.execute(sa.select(sa.func.count(CreditInput.id))).scalar()
    history_total = db.session.execute(sa.select(sa.func.count(CreditScoreHistory.id))).scalar()
    assert entries_total == history_total


def test_check_reports_tampering_and_recompute_fixes_it(app, db):
    org, other = AgencyFactory(), AgencyFactory()
    add(org, CreditInputKind.RATING_ENTERPRISE, 4)
    add(other, CreditInputKind.COMPLAINT_UPHELD)
    db.session.commit()
    db.session.execute(sa.update(CreditScore).where(CreditScore.organisation_id == org.id)
                       .values(score_centi=9999, grade="A", enterprise_sum=1))
    db.session.execute(sa.delete(CreditScoreHistory).where(CreditScoreHistory.organisation_id == other.id))
    db.session.execute(sa.delete(CreditScore).where(CreditScore.organisation_id == other.id))
    db.session.commit()

    result = _cli(app, "--check")
    assert result.exit_code == 1
    assert f"agency {org.id}" in result.output and "enterprise_sum" in result.output
    assert f"agency {other.id}" in result.output and "missing" in result.output

    result = _cli(app)
    assert result.exit_code == 0, result.output
    assert "2 score(s) fixed" in result.output
    assert _cli(app, "--check").exit_code == 0
    assert services.credit_score_for(org.id) == 75.0  # (375 + 75) / 6
    assert services.credit_score_for(other.id) == 70.0
    reasons = db.session.execute(
        sa.select(CreditScoreHistory.reason).where(CreditScoreHistory.organisation_id == org.id)
        .order_by(CreditScoreHistory.id)).scalars().all()
    assert reasons == [HistoryReason.INPUT, HistoryReason.RECOMPUTE]


def test_inputs_expire_after_the_decay_window(db):
    org = AgencyFactory()
    old = add(org, CreditInputKind.COMPLAINT_UPHELD, occurred_at=NOW - timedelta(days=800))
    recent = add(org, CreditInputKind.COMPLAINT_UPHELD, occurred_at=NOW - timedelta(days=30))
    assert services.credit_score_for(org.id) == 65.0
    jobs = {job.name: job for job in all_jobs()}
    assert jobs["credit.decay"].func(NOW) == 1
    assert services.credit_score_for(org.id) == 70.0
    expiry = db.session.execute(sa.select(CreditInput).where(CreditInput.cancels_id == old.id)).scalar_one()
    assert expiry.effect is InputEffect.EXPIRY
    assert expiry.occurred_at == services.add_months(old.occurred_at, 24)
    assert jobs["credit.decay"].func(NOW) == 0  # idempotent
    assert db.session.execute(sa.select(CreditInput).where(CreditInput.cancels_id == recent.id)).first() is None
    assert check_scores() == []


def test_an_entry_is_cancelled_once_only(db):
    org = AgencyFactory()
    entry = add(org, CreditInputKind.SIGNING_REFUSAL)
    assert cancel_credit_input(entry, now=NOW) is not None
    assert cancel_credit_input(entry, effect=InputEffect.EXPIRY, now=NOW) is None
    assert services.credit_score_for(org.id) == 75.0
    assert check_scores() == []


def test_reversal_by_reference(db):
    org = AgencyFactory()
    add(org, CreditInputKind.SANCTION, level="suspension", refs=[("sanction", 41)])
    add(org, CreditInputKind.SANCTION, level="warning", refs=[("sanction", 42)])
    assert services.credit_score_for(org.id) == 55.0
    assert len(services.reverse_inputs_for("sanction", 41, now=NOW)) == 1
    assert services.reverse_inputs_for("sanction", 41, now=NOW) == []
    assert services.credit_score_for(org.id) == 70.0


def test_a_new_formula_version_rescores_from_the_aggregates(app, db, monkeypatch):
    org = AgencyFactory()
    add(org, CreditInputKind.COMPLAINT_UPHELD)
    db.session.commit()
    v2 = F.Formula(**{**F.FORMULAS[0].__dict__, "version": 2, "effective_from": NOW.date() - timedelta(days=1),
                      "complaint_penalty": Decimal(10), "changes": "heavier complaints"})
    monkeypatch.setattr(F, "FORMULAS", (F.FORMULAS[0], v2))
    [diff] = check_scores()
    assert "formula_version" in diff.fields and "score" in diff.fields
    assert services.refresh_formula(NOW) == 1
    assert services.refresh_formula(NOW) == 0
    row = db.session.get(CreditScore, org.id)
    assert (row.score_centi, row.formula_version) == (6500, 2)
    assert check_scores() == []
    last = db.session.execute(sa.select(CreditScoreHistory).order_by(CreditScoreHistory.id.desc())).scalars().first()
    assert (last.reason, last.previous_score_centi, last.score_centi) == (HistoryReason.FORMULA, 7000, 6500)


def test_a_stale_version_does_not_overwrite(db):
    """The guard the incremental update relies on: an UPDATE on an old version changes nothing."""
    org = AgencyFactory()
    add(org, CreditInputKind.SIGNING_REFUSAL)
    stale = db.session.get(CreditScore, org.id)
    snapshot = CreditScore(organisation_id=org.id, version=stale.version, **F.Aggregates.of_row(stale).as_dict())
    add(org, CreditInputKind.SIGNING_REFUSAL)  # moves the row to the next version
    ok, _result = services._write_row(snapshot, F.Aggregates(), F.FORMULAS[0], now=NOW, last_input_id=None)
    assert ok is False
    assert services.credit_score_for(org.id) == 69.0


def test_concurrent_inputs_for_one_agency_all_count(app, db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL; SQLite serialises writers (guard tested above)")
    org = AgencyFactory()
    db.session.commit()
    org_id, n = org.id, 8
    barrier = threading.Barrier(n)
    errors = []

    def worker(i):
        with app.app_context():
            from marketplace.extensions import db as tdb

            try:
                barrier.wait(timeout=10)
                add(org_id, CreditInputKind.RATING_ENTERPRISE, 1 + i % 5)
                tdb.session.commit()
            except Exception as exc:  # noqa: BLE001 - reported below
                tdb.session.rollback()
                errors.append(exc)
            finally:
                tdb.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    db.session.expire_all()
    row = db.session.get(CreditScore, org_id)
    assert row.rating_count == n
    assert check_scores() == []
