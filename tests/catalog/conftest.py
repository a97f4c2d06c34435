"""The catalogue's public pages read the visibility projection, as in production."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _visibility_projection(db):
    """Built for today before each test and kept by the session hooks from then on."""
    from marketplace.agencies.visibility import rebuild

    rebuild()
    db.session.commit()
