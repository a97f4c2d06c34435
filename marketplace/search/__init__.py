"""Full-text search over agencies, listings, service items and announcements (Chinese and Latin)."""

from flask import Blueprint

bp = Blueprint("search", __name__)


@bp.record_once
def _install(state) -> None:
    from marketplace.search.indexing import init_app

    init_app(state.app)


from marketplace.search import views  # noqa: E402,F401
