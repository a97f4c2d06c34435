"""Whether an agency is barred from a department's approval cases by an active flag: SQL first.

Other domains use (through ``marketplace.agencies.eligibility``):
- ``flagged_sql(org_id, department_id)``: a correlated EXISTS for ``sa.not_(...)`` filters;
- ``is_flagged_for(org_id, department_id)``: the same in Python (bidding and award).

A flag is in force from the moment it is raised until it is lifted; no date is involved.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from marketplace.extensions import db
from marketplace.independence.models import FlagStatus, IndependenceFlag


def flagged_sql(org_id, department_id):
    """SQL: true when the agency in ``org_id`` has an active flag for ``department_id``."""
    flag = aliased(IndependenceFlag, name="independence_flag_exists")
    return (
        sa.select(flag.id)
        .where(flag.organisation_id == org_id, flag.department_id == department_id,
               flag.status == FlagStatus.ACTIVE)
        .correlate_except(flag)
        .exists()
    )


def is_flagged_for(org_id: int, department_id: int) -> bool:
    """Whether the agency is barred from the department's approval cases."""
    org_id = getattr(org_id, "id", org_id)
    department_id = getattr(department_id, "id", department_id)
    return bool(db.session.execute(
        sa.select(flagged_sql(sa.literal(org_id), sa.literal(department_id)))
    ).scalar())
