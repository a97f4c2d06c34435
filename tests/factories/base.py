"""Base factory bound to the Flask-SQLAlchemy session."""

import factory

from marketplace.extensions import db


class BaseFactory(factory.alchemy.SQLAlchemyModelFactory):
    """Flushes (never commits) so each test controls its transaction."""

    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"
