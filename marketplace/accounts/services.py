"""Account rules: registration, sign-in, passwords, sessions, government accounts."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import GOVERNMENT_ROLES, Organisation, OrgKind, Role, User
from marketplace.audit.services import record_event
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, PermissionDenied
from marketplace.core.passwords import check_password, hash_password, needs_rehash
from marketplace.core.regions import is_valid_region
from marketplace.core.uscc import USCCError, validate_uscc
from marketplace.extensions import db

MIN_PASSWORD_LENGTH = 10


def normalize_email(email: str) -> str:
    """Trim and lower-case an e-mail address."""
    return (email or "").strip().lower()


def check_password_strength(password: str) -> None:
    """Refuse short or single-class passwords.

    Raises:
        DomainError: the password is too weak.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(
            _l("The password needs at least %(n)d characters.", n=MIN_PASSWORD_LENGTH),
            field="password",
        )
    if password.isdigit() or password.isalpha():
        raise DomainError(
            _l("The password must mix letters with digits or symbols."), field="password"
        )


def _check_org_fields(uscc: str, region_code: str) -> str:
    try:
        code = validate_uscc(uscc)
    except USCCError as exc:
        raise DomainError(exc.message, field="uscc") from exc
    if not is_valid_region(region_code):
        raise DomainError(
            _l("The region code must be a six-digit administrative division code."),
            field="region_code",
        )
    if db.session.execute(sa.select(Organisation.id).where(Organisation.uscc == code)).first():
        raise DomainError(
            _l("An organisation with this unified social credit code is already registered."),
            field="uscc",
        )
    return code


def _check_email_free(email: str) -> None:
    if db.session.execute(sa.select(User.id).where(User.email == email)).first():
        raise DomainError(_l("This e-mail address is already in use."), field="email")


def register_organisation(
    *,
    kind: OrgKind,
    name: str,
    uscc: str,
    legal_representative: str,
    region_code: str,
    contact_phone: str,
    user_name: str,
    email: str,
    password: str,
    address: str = "",
) -> User:
    """Open self-registration (零门槛) of an agency or enterprise and its first user.

    Raises:
        DomainError: a field breaks a rule (the ``field`` names which).
    """
    if kind not in (OrgKind.AGENCY, OrgKind.ENTERPRISE):
        raise DomainError(_l("Government departments are created by an administrator."))
    code = _check_org_fields(uscc, region_code)
    email = normalize_email(email)
    _check_email_free(email)
    check_password_strength(password)
    org = Organisation(
        kind=kind,
        name=name.strip(),
        uscc=code,
        legal_representative=legal_representative.strip(),
        region_code=region_code,
        contact_name=user_name.strip(),
        contact_phone=contact_phone.strip(),
        contact_email=email,
        address=address.strip(),
    )
    role = Role.AGENCY_STAFF if kind is OrgKind.AGENCY else Role.ENTERPRISE_STAFF
    user = User(
        organisation=org,
        email=email,
        name=user_name.strip(),
        phone=contact_phone.strip(),
        role=role,
        password_hash=hash_password(password),
    )
    db.session.add_all([org, user])
    db.session.flush()
    record_event(
        "organisation.registered",
        org,
        actor=user,
        payload={"kind": str(kind), "name": org.name, "uscc": code, "region": region_code},
    )
    record_event("user.created", user, actor=user, payload={"role": str(role), "org": org.id})
    return user


def create_government_org(
    *, name: str, uscc: str, legal_representative: str, region_code: str, actor: User
) -> Organisation:
    """An administrator creates a government department.

    Raises:
        PermissionDenied: the actor is not an administrator.
        DomainError: a field breaks a rule.
    """
    if actor.role is not Role.ADMIN:
        raise PermissionDenied(_l("Only an administrator can do this."))
    code = _check_org_fields(uscc, region_code)
    org = Organisation(
        kind=OrgKind.GOVERNMENT,
        name=name.strip(),
        uscc=code,
        legal_representative=legal_representative.strip(),
        region_code=region_code,
    )
    db.session.add(org)
    db.session.flush()
    record_event(
        "organisation.created", org, actor=actor,
        payload={"kind": "government", "name": org.name, "uscc": code, "region": region_code},
    )
    return org


def create_user(
    *,
    organisation: Organisation,
    role: Role,
    name: str,
    email: str,
    password: str,
    actor: User | None,
) -> User:
    """Create a user in an existing organisation (administrators; the CLI passes ``actor=None``).

    Raises:
        PermissionDenied: the actor is not an administrator.
        DomainError: the role does not fit the organisation, or a field breaks a rule.
    """
    if actor is not None and actor.role is not Role.ADMIN:
        raise PermissionDenied(_l("Only an administrator can do this."))
    if role.org_kind is not organisation.kind:
        raise DomainError(
            _l("This role does not belong in a %(kind)s.", kind=organisation.kind.label),
            field="role",
        )
    email = normalize_email(email)
    _check_email_free(email)
    check_password_strength(password)
    user = User(
        organisation=organisation,
        email=email,
        name=name.strip(),
        role=role,
        password_hash=hash_password(password),
    )
    db.session.add(user)
    db.session.flush()
    record_event(
        "user.created", user, actor=actor or "cli",
        payload={"role": str(role), "org": organisation.id},
    )
    return user


def authenticate(email: str, password: str) -> User:
    """Check credentials and record the sign-in.

    Raises:
        DomainError: unknown e-mail, wrong password or a disabled account (one message for all).
    """
    user = db.session.execute(
        sa.select(User).where(User.email == normalize_email(email))
    ).scalar_one_or_none()
    if user is None or not check_password(user.password_hash, password):
        raise DomainError(_l("Wrong e-mail address or password."))
    if not user.is_enabled:
        raise DomainError(_l("This account is disabled. Contact the platform administrator."))
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    record_event("user.login", user, actor=user)
    return user


def end_sessions(user: User, *, reason: str, actor=None) -> None:
    """Invalidate every session cookie of ``user`` (logout, password change, disable)."""
    db.session.flush()
    db.session.execute(
        sa.update(User)
        .where(User.id == user.id)
        .values(session_version=User.session_version + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(user)
    record_event("user.sessions_ended", user, actor=actor or user, payload={"reason": reason})


def change_password(user: User, *, current: str, new: str) -> None:
    """Change the password after checking the current one; ends every other session.

    Raises:
        DomainError: the current password is wrong or the new one is too weak.
    """
    if not check_password(user.password_hash, current):
        raise DomainError(_l("The current password is wrong."), field="current_password")
    check_password_strength(new)
    user.password_hash = hash_password(new)
    end_sessions(user, reason="password_changed")


def set_user_enabled(user: User, *, enabled: bool, actor: User) -> None:
    """Enable or disable an account; disabling ends its sessions at once.

    Raises:
        PermissionDenied: the actor is not an administrator, or disables themself.
    """
    if actor.role is not Role.ADMIN:
        raise PermissionDenied(_l("Only an administrator can do this."))
    if user.id == actor.id and not enabled:
        raise DomainError(_l("You cannot disable your own account."))
    user.is_enabled = enabled
    record_event("user.enabled" if enabled else "user.disabled", user, actor=actor)
    if not enabled:
        end_sessions(user, reason="disabled", actor=actor)


def set_locale(user: User, locale: str) -> None:
    """Remember the user's preferred interface language."""
    user.locale = locale


def load_user(identity: str) -> User | None:
    """Flask-Login loader: the session's version must match the user's current one."""
    try:
        user_id, version = (int(part) for part in identity.split(":", 1))
    except (ValueError, AttributeError):
        return None
    user = db.session.get(User, user_id)
    if user is None or user.session_version != version or not user.is_enabled:
        return None
    return user


def government_orgs() -> list[Organisation]:
    """Government departments, by name."""
    return list(
        db.session.execute(
            sa.select(Organisation).where(Organisation.kind == OrgKind.GOVERNMENT).order_by(Organisation.name)
        ).scalars()
    )


def list_users(page: int = 1, per_page: int = 50):
    """Users with their organisations, newest first (administration page)."""
    from sqlalchemy.orm import joinedload

    return db.paginate(
        sa.select(User).options(joinedload(User.organisation)).order_by(User.id.desc()),
        page=page,
        per_page=per_page,
        error_out=False,
    )


__all__ = ["GOVERNMENT_ROLES"]
