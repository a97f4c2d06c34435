"""The contract page: what each party is offered once the contract is in force."""

import pytest

from tests.delivery.conftest import make_in_force


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the English messages."""


def test_the_buyer_can_complain_about_the_service_from_the_contract_page(db, client, login_as):
    world = make_in_force(db)
    url = f"/contracts/{world.contract.id}"
    login_as(world.owner)
    page = client.get(url).get_data(as_text=True)
    assert 'id="complain-link"' in page
    assert f"/announcements/{world.req.id}/complaints/new" in page
    assert client.get(f"/announcements/{world.req.id}/complaints/new").status_code == 200

    login_as(world.agent)  # the agency cannot complain about itself
    assert 'id="complain-link"' not in client.get(url).get_data(as_text=True)
