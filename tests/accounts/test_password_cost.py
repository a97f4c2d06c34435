"""The one place the suite runs argon2id at the cost production uses (elsewhere it is cheapened)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher, extract_parameters

from marketplace.accounts.models import User
from marketplace.core import passwords
from tests.factories import UserFactory
from tests.factories.accounts import DEFAULT_PASSWORD

PRODUCTION = PasswordHasher(**passwords.PARAMETERS)  # what the product uses outside the suite


@pytest.fixture
def production_cost(monkeypatch):
    monkeypatch.setattr(passwords, "_hasher", PRODUCTION)


def test_the_production_cost_is_at_least_the_owasp_minimum_for_argon2id():
    assert PRODUCTION.memory_cost >= 19 * 1024 and PRODUCTION.time_cost >= 2


def test_sign_in_at_production_cost_upgrades_a_weaker_hash(production_cost, browser, db):
    weak = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash(DEFAULT_PASSWORD)
    UserFactory(email="cost@example.com", password_hash=weak)
    db.session.commit()

    resp = browser.login("cost@example.com", DEFAULT_PASSWORD)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/dashboard")

    stored = db.session.execute(
        sa.select(User.password_hash).where(User.email == "cost@example.com")
    ).scalar_one()
    params = extract_parameters(stored)
    assert stored.startswith("$argon2id$")
    assert (params.time_cost, params.memory_cost) == (PRODUCTION.time_cost, PRODUCTION.memory_cost)
    assert passwords.check_password(stored, DEFAULT_PASSWORD)
    assert not passwords.check_password(stored, "wrong-password-1")
