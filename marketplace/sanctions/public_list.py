"""The public list of decided sanctions (黑名单 by default; suspensions, warnings or all): in force,
not repaired, filtered by the agency's name or USCC; its CSV export, and an agency's listed cases.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from marketplace.accounts.models import Organisation, User
from marketplace.core.db import utcnow
from marketplace.core.text import clean_query
from marketplace.credit.models import RefType
from marketplace.extensions import db
from marketplace.sanctions._common import china_day
from marketplace.sanctions.eligibility import listed_sql
from marketplace.sanctions.evidence import evidence_number
from marketplace.sanctions.grounds import ground_title
from marketplace.sanctions.models import SanctionCase, SanctionKind

LIST_KINDS = ("blacklist", "suspension", "warning", "all")


def _public_query(*, q: str, kind: str, on: date):
    stmt = (
        sa.select(SanctionCase)
        .join(Organisation, Organisation.id == SanctionCase.organisation_id)
        .where(listed_sql(SanctionCase, on))
        .options(selectinload(SanctionCase.organisation), selectinload(SanctionCase.evidence),
                 selectinload(SanctionCase.decider).selectinload(User.organisation))
        .order_by(SanctionCase.decided_at.desc(), SanctionCase.id.desc())
    )
    if kind != "all":
        stmt = stmt.where(SanctionCase.kind == SanctionKind(kind if kind in LIST_KINDS else "blacklist"))
    q = clean_query(q)
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(sa.or_(Organisation.name.ilike(like, escape="\\"),
                                 Organisation.uscc.ilike(like, escape="\\")))
    return stmt


def public_list(*, q: str = "", kind: str = "blacklist", page: int = 1, per_page: int = 30,
                on: date | None = None):
    """The public list (黑名单 by default): decided, not ended, not repaired; name/USCC filter."""
    on = on or china_day(utcnow())
    return db.paginate(_public_query(q=q, kind=kind, on=on), page=page, per_page=per_page,
                       error_out=False)


def public_list_query(*, q: str = "", kind: str = "blacklist", on: date | None = None) -> sa.Select:
    """The query behind :func:`public_list` and the CSV (the API shares it)."""
    return _public_query(q=q, kind=kind, on=on or china_day(utcnow()))


def public_rows(*, q: str = "", kind: str = "blacklist", on: date | None = None,
                limit: int = 10_000) -> list[SanctionCase]:
    """The same list, unpaged (for the CSV export)."""
    on = on or china_day(utcnow())
    return list(db.session.execute(_public_query(q=q, kind=kind, on=on).limit(limit)).scalars())


def csv_table(cases: Iterable[SanctionCase]) -> tuple[list[str], list[list]]:
    """Header and rows of the public CSV export (translated labels, neutral values)."""
    header = [str(_l("Case")), str(_l("Agency")), str(_l("Unified social credit code")),
              str(_l("Sanction")), str(_l("Ground")), str(_l("Start")), str(_l("End")),
              str(_l("Deciding department")), str(_l("Approval cases and contracts"))]
    rows = []
    for case in cases:
        refs = " ".join(f"{e.object_type.label} {evidence_number(e) or '—'}" for e in case.evidence
                        if e.object_type in (RefType.APPROVAL_CASE, RefType.CONTRACT))
        rows.append([
            case.reference, case.organisation.name, case.organisation.uscc, str(case.kind.label),
            ground_title(case.ground_code), case.start_date.isoformat() if case.start_date else "",
            case.end_date.isoformat() if case.end_date else str(_l("indefinite")),
            case.decider.organisation.name if case.decider else "", refs,
        ])
    return header, rows


def listed_cases_for(org_id: int, on: date | None = None) -> list[SanctionCase]:
    """The agency's cases on the public list on ``on`` (its credit panel shows them)."""
    on = on or china_day(utcnow())
    return list(db.session.execute(
        sa.select(SanctionCase)
        .where(SanctionCase.organisation_id == org_id, listed_sql(SanctionCase, on))
        .order_by(SanctionCase.decided_at.desc())
    ).scalars())
