"""Role-based access, in one place: every protected view uses ``roles_required``."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user

from marketplace.accounts.models import Role

# endpoint -> roles allowed; filled by the decorator so tests can check the whole matrix.
ROUTE_ROLES: dict[str, frozenset[Role] | None] = {}

ANY_SIGNED_IN = None  # marker: any signed-in user


def roles_required(*roles: Role):
    """Allow only signed-in users holding one of ``roles`` (all signed-in users if none given)."""
    allowed = frozenset(roles) if roles else None

    def decorator(view):
        key = f"{view.__module__}.{view.__name__}"
        ROUTE_ROLES[key] = allowed

        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                from marketplace.extensions import login_manager

                return login_manager.unauthorized()
            if allowed is not None and current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = allowed
        return wrapped

    return decorator


def is_admin(user) -> bool:
    """Whether ``user`` is a signed-in administrator."""
    return bool(getattr(user, "is_authenticated", False) and user.role is Role.ADMIN)
