"""Contract templates per service item: the clauses administrators maintain, and their defaults.

A template holds three texts of the model contract (付款方式, 成果验收, 其他约定); an empty
text means the model contract's default. ``generate_contract`` copies the effective texts into
the contract, so editing or removing a template never changes a contract already drafted.
The texts are plain data to the renderer (escaped, never run as template code).

Services flush and never commit; the view commits once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from marketplace.accounts.models import Role
from marketplace.audit.services import record_event
from marketplace.contracts.documents.render import RenderedContract, render_contract_pdf
from marketplace.contracts.documents.samples import sample_contract_data
from marketplace.contracts.models import (
    ACCEPTANCE_TERMS_MAX,
    PAYMENT_TERMS_MAX,
    SPECIAL_TERMS_MAX,
    ContractTemplate,
)
from marketplace.core.db import utcnow
from marketplace.core.errors import ConcurrentUpdate, PermissionDenied
from marketplace.core.text import clean_text
from marketplace.extensions import db

DEFAULT_PAYMENT_TERMS = (
    "本合同生效后十个工作日内，甲方向乙方支付合同价款的百分之三十作为预付款。\n"
    "服务成果经甲方验收合格后十个工作日内，甲方向乙方支付合同价款剩余的百分之七十。"
)
# The same paragraph the model contract prints when a contract has no acceptance terms.
DEFAULT_ACCEPTANCE_TERMS = (
    "乙方通过网上中介服务超市提交服务成果后，甲方应当在五个工作日内完成验收。验收合格的，"
    "甲方应在平台确认验收；验收不合格的，甲方应在平台书面说明理由，乙方应在双方商定的期限内"
    "修改完善后重新提交。甲方逾期未确认也未提出异议的，视为验收合格。"
)
DEFAULT_SPECIAL_TERMS = ""

# field name -> (maximum length, default text)
TERM_FIELDS: dict[str, tuple[int, str]] = {
    "payment_terms": (PAYMENT_TERMS_MAX, DEFAULT_PAYMENT_TERMS),
    "acceptance_terms": (ACCEPTANCE_TERMS_MAX, DEFAULT_ACCEPTANCE_TERMS),
    "special_terms": (SPECIAL_TERMS_MAX, DEFAULT_SPECIAL_TERMS),
}


@dataclass(frozen=True)
class ContractTerms:
    """The clauses a contract for one service item gets: the template's, defaults filled in."""

    payment_terms: str
    acceptance_terms: str
    special_terms: str
    template_version: int | None = None


def check_admin(actor) -> None:
    """Only administrators maintain contract templates.

    Raises:
        PermissionDenied: ``actor`` is not a user with the administrator role.
    """
    if getattr(actor, "role", None) is not Role.ADMIN:
        raise PermissionDenied(_l("Only an administrator can maintain contract templates."))


def get_template(service_item_id: int) -> ContractTemplate | None:
    """The service item's template in use, or None (the model contract)."""
    return db.session.execute(
        sa.select(ContractTemplate).where(ContractTemplate.service_item_id == service_item_id,
                                          ContractTemplate.is_active.is_(True))
    ).scalar_one_or_none()


def templates_by_item(service_item_ids) -> dict[int, ContractTemplate]:
    """The templates in use for these service items, by item id (with who last saved them)."""
    ids = list(service_item_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(ContractTemplate).options(joinedload(ContractTemplate.updated_by))
        .where(ContractTemplate.service_item_id.in_(ids), ContractTemplate.is_active.is_(True))
    ).scalars()
    return {t.service_item_id: t for t in rows}


def terms_for_item(service_item_id: int) -> ContractTerms:
    """The clauses a contract for this service item gets now: its template's or the defaults."""
    template = get_template(service_item_id)
    values = {
        name: (getattr(template, name) if template is not None else "") or default
        for name, (_max, default) in TERM_FIELDS.items()
    }
    return ContractTerms(**values, template_version=template.version if template else None)


def _clean_terms(values: dict[str, str]) -> dict[str, str]:
    """Check each text; a text equal to the default is stored empty (= follow the default).

    Raises:
        DomainError: a text is too long or has control characters (NUL included).
    """
    out = {}
    for name, (max_len, default) in TERM_FIELDS.items():
        text = clean_text(values[name], max_len=max_len, field=name, required=False, multiline=True)
        out[name] = "" if text == default else text
    return out


def save_template(item, *, payment_terms: str, acceptance_terms: str, special_terms: str, actor,
                  expected_version: int | None = None,
                  now: datetime | None = None) -> ContractTemplate:
    """Save the service item's contract template (a new version); contracts drafted from now on
    use it. Saving the texts unchanged does nothing.

    ``expected_version`` is the version the administrator edited (0: none yet); when given, a
    template someone else saved in the meantime is not overwritten.

    Raises:
        PermissionDenied: the actor is not an administrator.
        DomainError: a text is too long or has control characters (NUL included).
        ConcurrentUpdate: someone else saved or removed the template in the meantime.
    """
    check_admin(actor)
    now = now or utcnow()
    values = _clean_terms({"payment_terms": payment_terms, "acceptance_terms": acceptance_terms,
                           "special_terms": special_terms})
    template = db.session.execute(
        sa.select(ContractTemplate).where(ContractTemplate.service_item_id == item.id)
    ).scalar_one_or_none()
    in_use = template.version if template is not None and template.is_active else 0
    if expected_version is not None and expected_version != in_use:
        raise ConcurrentUpdate(_l("Someone else changed this contract template in the meantime. "
                                  "Review the current text and save again."))
    if template is not None and template.is_active and all(
            getattr(template, name) == text for name, text in values.items()):
        return template
    if template is None:
        template = ContractTemplate(service_item_id=item.id, version=1, is_active=True,
                                    updated_at=now, updated_by_id=actor.id, **values)
        try:
            with db.session.begin_nested():
                db.session.add(template)
                db.session.flush()
        except IntegrityError as exc:
            raise ConcurrentUpdate(_l("Someone else changed this contract template in the "
                                      "meantime. Review the current text and save again.")) from exc
    else:
        _update_row(template, version=template.version + 1, is_active=True, updated_at=now,
                    updated_by_id=actor.id, **values)
    record_event("contract_template.saved", template, actor=actor, payload={
        "service_item": item.id, "version": template.version, **values,
    })
    return template


def _update_row(template: ContractTemplate, **values) -> None:
    """Write ``values`` unless another transaction saved or removed the template first.

    Raises:
        ConcurrentUpdate: the row is no longer as read (version or state changed).
    """
    db.session.flush()
    result = db.session.execute(
        sa.update(ContractTemplate)
        .where(ContractTemplate.id == template.id, ContractTemplate.version == template.version,
               ContractTemplate.is_active.is_(template.is_active))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise ConcurrentUpdate(_l("Someone else changed this contract template in the meantime. "
                                  "Review the current text and save again."))
    db.session.refresh(template)


def remove_template(item, *, actor, now: datetime | None = None) -> bool:
    """The service item goes back to the model contract for contracts drafted from now on.

    Returns whether a template was in use (False: nothing to do).

    Raises:
        PermissionDenied: the actor is not an administrator.
        ConcurrentUpdate: someone else saved the template at the same moment.
    """
    check_admin(actor)
    template = get_template(item.id)
    if template is None:
        return False
    _update_row(template, is_active=False, updated_at=now or utcnow(), updated_by_id=actor.id)
    record_event("contract_template.removed", template, actor=actor, payload={
        "service_item": item.id, "version": template.version,
    })
    return True


def render_template_preview(item) -> RenderedContract:
    """A sample contract for this service item with the clauses it would get now.

    Raises:
        RenderError: the document cannot be rendered (no CJK font).
    """
    terms = terms_for_item(item.id)
    return render_contract_pdf(sample_contract_data(
        service_item=item.name, payment_terms=terms.payment_terms,
        acceptance_terms=terms.acceptance_terms, special_terms=terms.special_terms,
    ))
