"""The JSON API at /api/v1 (flask-smorest, OpenAPI 3), calling the same services as the views.

Each application gets its own ``flask_smorest.Api`` (``current_app.extensions["zj_api"]``), so that
several apps in one process (the tests) never share a spec.
"""

from flask import current_app

API_PREFIX = "/api/v1"


def current_api():
    """The Api object of the current application."""
    return current_app.extensions["zj_api"]


def _make_api_class():
    from flask_smorest import Api

    from marketplace.api.schemas import ErrorSchema

    class _MarketplaceApi(Api):
        """flask-smorest's Api documenting our error body instead of its default one."""

        ERROR_SCHEMA = ErrorSchema

    return _MarketplaceApi


def MarketplaceApi(*args, **kwargs):  # noqa: N802 - a class factory, used like a class
    """A new Api object for one application."""
    return _make_api_class()(*args, **kwargs)
