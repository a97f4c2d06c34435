"""The formula by hand: known inputs give exact scores and grades."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from marketplace.core.errors import DomainError, NotFound
from marketplace.credit import formula as F
from marketplace.credit.models import CreditInput, CreditInputKind, SanctionLevel
from marketplace.credit.services import (
    credit_for,
    credit_grade_for,
    credit_grades_for,
    credit_score_for,
    credit_scores_for,
    score_row,
)
from tests.credit.conftest import NOW, add
from tests.factories import AgencyFactory, EnterpriseFactory

ENT, OFF = CreditInputKind.RATING_ENTERPRISE, CreditInputKind.RATING_APPROVAL_OFFICE


def test_worked_example_on_the_formula_page(db):
    """4.6, 4.2, 3.8 by enterprises, 4.5 by the office, 4 days late, 1 complaint upheld.

    R = (5×75 + (90+80+70) + 2×87.5) ÷ (5 + 3 + 2) = 790 ÷ 10 = 79; 79 − 4 − 5 = 70.00 → B.
    """
    org = AgencyFactory()
    for r in ("4.6", "4.2", "3.8"):
        add(org, ENT, Decimal(r))
    add(org, OFF, Decimal("4.5"))
    add(org, CreditInputKind.OVERRUN_DAYS, 4)
    add(org, CreditInputKind.COMPLAINT_UPHELD)
    assert credit_score_for(org.id) == 70.0
    assert credit_grade_for(org.id) == "B"
    page = F.evaluate(F.FORMULAS[0], F.example_aggregates())
    assert (page.score, page.grade) == (Decimal("70.00"), "B")


def test_several_agencies_with_known_inputs(db):
    perfect, refuser, bad, late = (AgencyFactory() for _ in range(4))
    for _ in range(5):
        add(perfect, ENT, 5)                      # (375 + 500) / 10 = 87.5
    add(refuser, CreditInputKind.SIGNING_REFUSAL)
    add(refuser, CreditInputKind.SIGNING_REFUSAL)  # 75 − 2 × 3 = 69
    add(bad, OFF, 1)                               # 375 / 7 = 53.571… − 40 = 13.57
    add(bad, CreditInputKind.SANCTION, level=SanctionLevel.BLACKLIST)
    add(late, CreditInputKind.OVERRUN_DAYS, 40)    # 75 − min(40, 30) = 45
    scores = credit_scores_for([perfect.id, refuser.id, bad.id, late.id])
    grades = credit_grades_for([perfect.id, refuser.id, bad.id, late.id])
    assert scores == {perfect.id: 87.5, refuser.id: 69.0, bad.id: 13.57, late.id: 45.0}
    assert grades == {perfect.id: "A", refuser.id: "C", bad.id: "D", late.id: "D"}
    assert credit_for([perfect.id])[perfect.id].rating_count == 5


def test_score_is_clamped_at_zero(db):
    org = AgencyFactory()
    for level in (SanctionLevel.BLACKLIST, SanctionLevel.BLACKLIST, SanctionLevel.SUSPENSION):
        add(org, CreditInputKind.SANCTION, level=level)
    assert credit_score_for(org.id) == 0.0
    assert credit_grade_for(org.id) == "D"


def test_rounding_is_half_up(db):
    """Ratings 4.00, 4.00, 4.04: R = (375 + 25 × 9.04) ÷ 8 = 75.125 → 75.13 (not 75.12)."""
    org = AgencyFactory()
    for r in ("4.00", "4.00", "4.04"):
        add(org, ENT, Decimal(r))
    assert credit_score_for(org.id) == 75.13


def test_rating_weight_scales_within_its_kind(db):
    """One 5.0 rating of weight 0.5: (375 + 0.5 × 100) ÷ 5.5 = 77.2727… → 77.27."""
    org = AgencyFactory()
    add(org, ENT, 5, weight=Decimal("0.5"))
    assert credit_score_for(org.id) == 77.27


@pytest.mark.parametrize(("score", "grade"), [
    ("100", "A"), ("85.00", "A"), ("84.99", "B"), ("70", "B"), ("69.99", "C"), ("60", "C"),
    ("59.99", "D"), ("0", "D"),
])
def test_grade_thresholds(score, grade):
    assert F.FORMULAS[0].grade_for(Decimal(score)) == grade


def test_no_input_means_no_score(db):
    org = AgencyFactory()
    assert credit_score_for(org.id) is None
    assert credit_grade_for(org.id) is None
    assert credit_for([org.id, 2**40, -1]) == {}
    assert score_row(org.id) is None


def test_registry_is_ordered_and_versions_are_found():
    versions = [f.version for f in F.FORMULAS]
    assert versions == sorted(set(versions))
    dates = [f.effective_from for f in F.FORMULAS]
    assert dates == sorted(dates)
    assert F.formula_on(date(2030, 1, 1)) is F.FORMULAS[-1]
    assert F.formula_by_version(1) is F.FORMULAS[0]
    assert F.formula_by_version(999) is None
    for f in F.FORMULAS:
        bounds = [b for _g, b in f.thresholds]
        assert bounds == sorted(bounds, reverse=True)


@pytest.mark.parametrize(("kind", "value"), [
    (ENT, 0.5), (ENT, 6), (ENT, "abc"), (ENT, "NaN"), (ENT, "Infinity"), (OFF, None),
    (CreditInputKind.OVERRUN_DAYS, 0), (CreditInputKind.OVERRUN_DAYS, 1.5),
    (CreditInputKind.OVERRUN_DAYS, True), (CreditInputKind.OVERRUN_DAYS, 5000),
    (CreditInputKind.COMPLAINT_UPHELD, 2), ("nonsense", 1),
])
def test_bad_values_are_refused(db, kind, value):
    org = AgencyFactory()
    with pytest.raises(DomainError):
        add(org, kind, value)
    assert db.session.execute(sa.select(sa.func.count(CreditInput.id))).scalar() == 0


@pytest.mark.parametrize("kwargs", [
    {"weight": 0}, {"weight": 101}, {"weight": "x"},
    {"occurred_at": NOW + timedelta(days=1)},
    {"occurred_at": NOW.replace(tzinfo=None)},
    {"note": "bad\x00note"}, {"note": "x" * 301},
    {"refs": [("invoice", 1)]}, {"refs": [("contract", "")]}, {"refs": [("contract", "1" * 41)]},
    {"refs": [("contract", 1, "x" * 201)]}, {"refs": [("contract", i) for i in range(11)]},
    {"refs": [("contract",)]},
])
def test_bad_details_are_refused(db, kwargs):
    org = AgencyFactory()
    with pytest.raises(DomainError):
        add(org, ENT, 4, **kwargs)


def test_sanction_inputs_need_their_level(db):
    with pytest.raises(DomainError):
        add(AgencyFactory(), CreditInputKind.SANCTION)


def test_only_agencies_have_credit(db):
    with pytest.raises(NotFound):
        add(EnterpriseFactory(), ENT, 4)
    with pytest.raises(NotFound):
        add(2**40, ENT, 4)


def test_refs_are_stored_with_the_input(db):
    entry = add(AgencyFactory(), ENT, 4, refs=[("contract", 12, "HT-12"), {"object_type": "approval_case",
                                                                      "object_id": "7"}])
    assert [(r.object_type.value, r.object_id, r.label) for r in entry.refs] == [
        ("contract", "12", "HT-12"), ("approval_case", "7", "")]


def test_the_ledger_is_append_only(db):
    entry = add(AgencyFactory(), ENT, 4)
    db.session.commit()
    entry.note = "changed"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(CreditInput, entry.id))
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()


def test_database_refuses_an_out_of_range_rating(db):
    org = AgencyFactory()
    db.session.commit()
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.insert(CreditInput).values(
            organisation_id=org.id, kind="rating_enterprise", effect="add", value=600, weight=100,
            note="", occurred_at=NOW, recorded_at=NOW))
    db.session.rollback()
