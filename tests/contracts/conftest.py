"""Shared fixtures: one rendered and one sealed example contract (rendering takes ~1 s)."""

from __future__ import annotations

import pytest

from marketplace.contracts.documents.render import render_contract_pdf
from marketplace.contracts.documents.samples import sample_contract_data
from marketplace.contracts.documents.seal import seal_pdf


@pytest.fixture(scope="session")
def contract_data():
    return sample_contract_data()


@pytest.fixture(scope="session")
def rendered(contract_data):
    return render_contract_pdf(contract_data)


@pytest.fixture(scope="session")
def sealed(app, rendered):
    with app.app_context():
        return seal_pdf(rendered.pdf, reason="双方已签署", location="浙江省杭州市西湖区")


@pytest.fixture
def ctx(app):
    """An app context (the seal and the platform key come from the configuration)."""
    with app.app_context():
        yield app


@pytest.fixture(autouse=True)
def _english_messages(app):
    """These tests read the engine's messages; read them in English (the UI default is Chinese)."""
    with app.test_request_context("/?lang=en"):
        yield
