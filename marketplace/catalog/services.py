"""Catalogue rules: administrators maintain approval items and service items; everyone reads them."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, selectinload

from marketplace.accounts.models import Role
from marketplace.audit.services import record_event
from marketplace.catalog.models import (
    CODE_MAX,
    DELIVERABLE_MAX,
    DEPARTMENT_MAX,
    DESCRIPTION_MAX,
    FEE_DOCUMENT_MAX,
    LEGAL_BASIS_MAX,
    MAX_STATUTORY_DAYS,
    NAME_MAX,
    ApprovalItem,
    FeeBasis,
    QualificationRule,
    QualificationType,
    ServiceCategory,
    ServiceItem,
)
from marketplace.core.errors import DomainError, NotFound, PermissionDenied
from marketplace.core.text import clean_query, clean_text, is_db_id, normalize_code
from marketplace.extensions import db

CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9._\-]*$")
MAX_IMPORT_ROWS = 5000
MAX_IMPORT_CHARS = 2_000_000
LIST_SEPARATORS = re.compile(r"[;；|、]")


# --- permissions and field checks ------------------------------------------------------------


def check_admin(actor) -> None:
    """Only administrators (or the CLI / seed, given as a string) maintain the catalogue.

    Raises:
        PermissionDenied: ``actor`` is a user without the administrator role.
    """
    if isinstance(actor, str):
        return
    if actor is None or getattr(actor, "role", None) is not Role.ADMIN:
        raise PermissionDenied(_l("Only an administrator can change the catalogue."))


def check_code(value, *, field: str = "code") -> str:
    """A normalised catalogue code: letters, digits, ``.``, ``_`` and ``-``; at most 40.

    Raises:
        DomainError: empty, too long or with other characters.
    """
    code = normalize_code(value)
    if not code:
        raise DomainError(_l("This field is required."), field=field)
    if len(code) > CODE_MAX:
        raise DomainError(_l("A code has at most %(n)d characters.", n=CODE_MAX), field=field)
    if not CODE_PATTERN.match(code):
        raise DomainError(
            _l("A code may contain only letters, digits, “.”, “_” and “-”."), field=field
        )
    return code


def _code_taken(model, code: str, exclude_id: int | None) -> bool:
    stmt = sa.select(model.id).where(model.code == code)
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    return db.session.execute(stmt).first() is not None


def _diff(obj, values: dict) -> dict:
    """Assign ``values`` to ``obj``; return {field: [old, new]} for what changed."""
    changed = {}
    for key, new in values.items():
        old = getattr(obj, key)
        if old != new:
            changed[key] = [str(old) if old is not None else None, str(new) if new is not None else None]
            setattr(obj, key, new)
    return changed


# --- approval items ----------------------------------------------------------------------------


def save_approval_item(
    item: ApprovalItem | None,
    *,
    code: str,
    name: str,
    department: str,
    legal_basis: str = "",
    is_active: bool = True,
    actor,
) -> ApprovalItem:
    """Create (``item`` None) or update an approval item.

    Raises:
        PermissionDenied: the actor is not an administrator.
        DomainError: a field breaks a rule or the code is taken (``field`` says which).
    """
    return _save_approval_item(
        item, code=code, name=name, department=department, legal_basis=legal_basis,
        is_active=is_active, actor=actor,
    )[0]


def _save_approval_item(item, *, code, name, department, legal_basis, is_active, actor):
    check_admin(actor)
    values = {
        "code": check_code(code),
        "name": clean_text(name, max_len=NAME_MAX, field="name"),
        "department": clean_text(department, max_len=DEPARTMENT_MAX, field="department"),
        "legal_basis": clean_text(
            legal_basis, max_len=LEGAL_BASIS_MAX, field="legal_basis", required=False, multiline=True
        ),
        "is_active": bool(is_active),
    }
    if _code_taken(ApprovalItem, values["code"], item.id if item else None):
        raise DomainError(_l("Another approval item already has this code."), field="code")
    if item is None:
        item = ApprovalItem(**values)
        db.session.add(item)
        db.session.flush()
        record_event("approval_item.created", item, actor=actor, payload=values)
        return item, "created"
    changed = _diff(item, values)
    if not changed:
        return item, "unchanged"
    db.session.flush()
    record_event("approval_item.updated", item, actor=actor, payload={"changed": changed})
    return item, "updated"


@dataclass(frozen=True)
class ImportResult:
    """What an import did."""

    created: int
    updated: int
    unchanged: int


def _csv_rows(text: str, header_words: set[str]):
    """(line number, stripped cells) for every non-empty line, skipping a header line.

    Raises:
        DomainError: the text is too large, has too many rows, or contains NUL.
    """
    if len(text) > MAX_IMPORT_CHARS:
        raise DomainError(_l("The file is too large to import."))
    if "\x00" in text:
        raise DomainError(_l("The file contains characters that are not allowed."))
    rows = []
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        for lineno, raw in enumerate(reader, start=1):
            cells = [c.strip() for c in raw]
            if not any(cells):
                continue
            if not rows and lineno == 1 and cells[0].lower() in header_words:
                continue
            rows.append((lineno, cells))
            if len(rows) > MAX_IMPORT_ROWS:
                raise DomainError(_l("At most %(n)d lines can be imported at once.", n=MAX_IMPORT_ROWS))
    except csv.Error as exc:
        raise DomainError(_l("The file is not valid CSV.")) from exc
    if not rows:
        raise DomainError(_l("The file has no lines to import."))
    return rows


def _line_error(lineno: int, exc: DomainError) -> DomainError:
    return DomainError(_l("Line %(n)d: %(problem)s", n=lineno, problem=str(exc.message)))


def import_approval_items(text: str, *, actor) -> ImportResult:
    """Create or update approval items from CSV ``code,name,department,legal_basis``.

    All or nothing: the first bad line is reported with its number and nothing is changed.

    Raises:
        PermissionDenied: the actor is not an administrator.
        DomainError: a line is malformed (the message names the line).
    """
    check_admin(actor)
    rows = _csv_rows(text, {"code", "编码", "事项编码", "审批事项编码"})
    existing = {i.code: i for i in db.session.execute(sa.select(ApprovalItem)).scalars()}
    seen: set[str] = set()
    outcomes = {"created": 0, "updated": 0, "unchanged": 0}
    for lineno, cells in rows:
        if len(cells) < 3:
            raise DomainError(
                _l("Line %(n)d: expected “code,name,department,legal basis”.", n=lineno)
            )
        try:
            code = check_code(cells[0])
            if code in seen:
                raise DomainError(_l("the code %(code)s appears twice.", code=code))
            seen.add(code)
            item = existing.get(code)
            saved, outcome = _save_approval_item(
                item, code=code, name=cells[1], department=cells[2],
                legal_basis=cells[3] if len(cells) > 3 else (item.legal_basis if item else ""),
                is_active=True, actor=actor,
            )
        except DomainError as exc:
            raise _line_error(lineno, exc) from exc
        existing[code] = saved
        outcomes[outcome] += 1
    record_event(
        "approval_item.imported", ("approval_items", "csv"), actor=actor,
        payload={"lines": len(rows), **outcomes},
    )
    return ImportResult(**outcomes)


def get_approval_item(item_id: int) -> ApprovalItem:
    """One approval item.

    Raises:
        NotFound: no such item.
    """
    item = db.session.get(ApprovalItem, item_id) if is_db_id(item_id) else None
    if item is None:
        raise NotFound(_l("This approval item does not exist."))
    return item


def list_approval_items(*, q: str = "", page: int = 1, per_page: int = 50, active_only: bool = True):
    """Approval items by code, with the service items they need (a fixed number of queries)."""
    stmt = sa.select(ApprovalItem).options(
        selectinload(ApprovalItem.service_items).joinedload(ServiceItem.category)
    )
    if active_only:
        stmt = stmt.where(ApprovalItem.is_active.is_(True))
    q = clean_query(q)
    if q:
        pattern = f"%{_escape_like(q)}%"
        stmt = stmt.where(
            sa.or_(
                ApprovalItem.name.like(pattern, escape="\\"),
                ApprovalItem.code.like(pattern, escape="\\"),
                ApprovalItem.department.like(pattern, escape="\\"),
            )
        )
    return db.paginate(stmt.order_by(ApprovalItem.code), page=page, per_page=per_page, error_out=False)


def approval_item_choices(active_only: bool = True) -> list[ApprovalItem]:
    """Every approval item, by code (for select boxes and filters)."""
    stmt = sa.select(ApprovalItem).order_by(ApprovalItem.code)
    if active_only:
        stmt = stmt.where(ApprovalItem.is_active.is_(True))
    return list(db.session.execute(stmt).scalars())


# --- categories and qualification types ------------------------------------------------------


def save_category(
    category: ServiceCategory | None, *, code: str, name: str, sort_order: int = 0, actor
) -> ServiceCategory:
    """Create or update a category of the service-item catalogue.

    Raises:
        PermissionDenied: the actor is not an administrator.
        DomainError: a field breaks a rule or the code is taken.
    """
    check_admin(actor)
    if not isinstance(sort_order, int) or not 0 <= sort_order <= 10000:
        raise DomainError(_l("The order must be between 0 and 10000."), field="sort_order")
    values = {
        "code": check_code(code),
        "name": clean_text(name, max_len=100, field="name"),
        "sort_order": sort_order,
    }
    if _code_taken(ServiceCategory, values["code"], category.id if category else None):
        raise DomainError(_l("Another category already has this code."), field="code")
    if category is None:
        category = ServiceCategory(**values)
        db.session.add(category)
        db.session.flush()
        record_event("service_category.created", category, actor=actor, payload=values)
        return category
    changed = _diff(category, values)
    if changed:
        db.session.flush()
        record_event("service_category.updated", category, actor=actor, payload={"changed": changed})
    return category


def list_categories() -> list[ServiceCategory]:
    """Categories in display order."""
    return list(
        db.session.execute(
            sa.select(ServiceCategory).order_by(ServiceCategory.sort_order, ServiceCategory.code)
        ).scalars()
    )


def save_qualification_type(
    qtype: QualificationType | None,
    *,
    code: str,
    name: str,
    issuer: str = "",
    levels: str = "",
    is_active: bool = True,
    actor,
) -> QualificationType:
    """Create or update a qualification type (资质类别).

    Raises:
        PermissionDenied: the actor is not an administrator.
        DomainError: a field breaks a rule or the code is taken.
    """
    check_admin(actor)
    values = {
        "code": check_code(code),
        "name": clean_text(name, max_len=NAME_MAX, field="name"),
        "issuer": clean_text(issuer, max_len=DEPARTMENT_MAX, field="issuer", required=False),
        "levels": clean_text(levels, max_len=200, field="levels", required=False),
        "is_active": bool(is_active),
    }
    if _code_taken(QualificationType, values["code"], qtype.id if qtype else None):
        raise DomainError(_l("Another qualification type already has this code."), field="code")
    if qtype is None:
        qtype = QualificationType(**values)
        db.session.add(qtype)
        db.session.flush()
        record_event("qualification_type.created", qtype, actor=actor, payload=values)
        return qtype
    changed = _diff(qtype, values)
    if changed:
        db.session.flush()
        record_event("qualification_type.updated", qtype, actor=actor, payload={"changed": changed})
    return qtype


def list_qualification_types(active_only: bool = False) -> list[QualificationType]:
    """Qualification types by code."""
    stmt = sa.select(QualificationType).order_by(QualificationType.code)
    if active_only:
        stmt = stmt.where(QualificationType.is_active.is_(True))
    return list(db.session.execute(stmt).scalars())


# --- service items ---------------------------------------------------------------------------


def _load_by_ids(model, ids, *, field: str, message) -> list:
    ids = sorted({int(i) for i in ids or []})
    if not ids:
        return []
    if not all(is_db_id(i) for i in ids):
        raise DomainError(message, field=field)
    rows = list(db.session.execute(sa.select(model).where(model.id.in_(ids))).scalars())
    if len(rows) != len(ids):
        raise DomainError(message, field=field)
    return rows


def save_service_item(
    item: ServiceItem | None,
    *,
    code: str,
    name: str,
    category_id: int,
    approval_item_ids,
    qualification_rule: QualificationRule = QualificationRule.NONE,
    qualification_type_ids=(),
    statutory_days: int | None = None,
    fee_basis: FeeBasis = FeeBasis.MARKET,
    fee_document: str = "",
    deliverable: str = "",
    description: str = "",
    is_active: bool = True,
    actor,
) -> ServiceItem:
    """Create or update a service item of the catalogue.

    Rules: it serves at least one approval item (nothing outside the list); a qualification
    rule "any of"/"all of" lists at least one type and "none" lists none; a government-set fee
    names its document; the statutory limit is 1–3650 working days when given.

    Raises:
        PermissionDenied: the actor is not an administrator.
        DomainError: a field breaks a rule (``field`` says which).
    """
    return _save_service_item(
        item, code=code, name=name, category_id=category_id, approval_item_ids=approval_item_ids,
        qualification_rule=qualification_rule, qualification_type_ids=qualification_type_ids,
        statutory_days=statutory_days, fee_basis=fee_basis, fee_document=fee_document,
        deliverable=deliverable, description=description, is_active=is_active, actor=actor,
    )[0]


def _save_service_item(
    item, *, code, name, category_id, approval_item_ids, qualification_rule, qualification_type_ids,
    statutory_days, fee_basis, fee_document, deliverable, description, is_active, actor,
):
    check_admin(actor)
    category = db.session.get(ServiceCategory, category_id) if is_db_id(category_id) else None
    if category is None:
        raise DomainError(_l("Choose a category."), field="category_id")
    approval_items = _load_by_ids(
        ApprovalItem, approval_item_ids, field="approval_item_ids",
        message=_l("An approval item chosen does not exist."),
    )
    if not approval_items:
        raise DomainError(
            _l("A service item must serve at least one approval item."), field="approval_item_ids"
        )
    qualification_rule = QualificationRule(qualification_rule)
    qtypes = _load_by_ids(
        QualificationType, qualification_type_ids, field="qualification_type_ids",
        message=_l("A qualification type chosen does not exist."),
    )
    if qualification_rule is QualificationRule.NONE and qtypes:
        raise DomainError(
            _l("Choose “any of” or “all of” when listing qualification types."),
            field="qualification_rule",
        )
    if qualification_rule is not QualificationRule.NONE and not qtypes:
        raise DomainError(
            _l("Choose at least one qualification type for this rule."),
            field="qualification_type_ids",
        )
    if statutory_days is not None and (
        not isinstance(statutory_days, int) or not 1 <= statutory_days <= MAX_STATUTORY_DAYS
    ):
        raise DomainError(
            _l("The statutory time limit must be between 1 and %(n)d working days.", n=MAX_STATUTORY_DAYS),
            field="statutory_days",
        )
    fee_basis = FeeBasis(fee_basis)
    fee_document = clean_text(fee_document, max_len=FEE_DOCUMENT_MAX, field="fee_document", required=False)
    if fee_basis is FeeBasis.GOVERNMENT and not fee_document:
        raise DomainError(
            _l("Name the document that sets the government fee standard."), field="fee_document"
        )
    values = {
        "code": check_code(code),
        "name": clean_text(name, max_len=NAME_MAX, field="name"),
        "category_id": category.id,
        "qualification_rule": qualification_rule,
        "statutory_days": statutory_days,
        "fee_basis": fee_basis,
        "fee_document": fee_document,
        "deliverable": clean_text(deliverable, max_len=DELIVERABLE_MAX, field="deliverable", required=False),
        "description": clean_text(
            description, max_len=DESCRIPTION_MAX, field="description", required=False, multiline=True
        ),
        "is_active": bool(is_active),
    }
    if _code_taken(ServiceItem, values["code"], item.id if item else None):
        raise DomainError(_l("Another service item already has this code."), field="code")
    links = {
        "approval_items": sorted(a.code for a in approval_items),
        "qualification_types": sorted(q.code for q in qtypes),
    }
    if item is None:
        item = ServiceItem(**values)
        item.approval_items = approval_items
        item.qualification_types = qtypes
        db.session.add(item)
        db.session.flush()
        record_event(
            "service_item.created", item, actor=actor,
            payload={**{k: str(v) if v is not None else None for k, v in values.items()}, **links},
        )
        return item, "created"
    changed = _diff(item, values)
    old_links = {
        "approval_items": sorted(a.code for a in item.approval_items),
        "qualification_types": sorted(q.code for q in item.qualification_types),
    }
    for key, new in links.items():
        if old_links[key] != new:
            changed[key] = [old_links[key], new]
    item.approval_items = approval_items
    item.qualification_types = qtypes
    if not changed:
        return item, "unchanged"
    db.session.flush()
    record_event("service_item.updated", item, actor=actor, payload={"changed": changed})
    return item, "updated"


def _parse_days(text: str) -> int | None:
    if not text:
        return None
    try:
        return int(text)
    except ValueError as exc:
        raise DomainError(_l("the statutory time limit “%(v)s” is not a whole number.", v=text[:20])) from exc


def import_service_items(text: str, *, actor) -> ImportResult:
    """Create or update service items from CSV.

    Columns: code, name, category code, approval item codes (separated by ``;``), rule
    (none/any/all), qualification type codes (``;``), statutory days, fee basis
    (market/government), fee document, deliverable, description. All or nothing.

    Raises:
        PermissionDenied: the actor is not an administrator.
        DomainError: a line is malformed (the message names the line).
    """
    check_admin(actor)
    rows = _csv_rows(text, {"code", "编码", "事项编码", "服务事项编码"})
    categories = {c.code: c.id for c in db.session.execute(sa.select(ServiceCategory)).scalars()}
    approvals = {a.code: a.id for a in db.session.execute(sa.select(ApprovalItem)).scalars()}
    qtypes = {q.code: q.id for q in db.session.execute(sa.select(QualificationType)).scalars()}
    existing = {i.code: i for i in db.session.execute(sa.select(ServiceItem)).scalars()}
    seen: set[str] = set()
    outcomes = {"created": 0, "updated": 0, "unchanged": 0}
    for lineno, cells in rows:
        if len(cells) < 4:
            raise DomainError(
                _l("Line %(n)d: expected at least “code,name,category,approval items”.", n=lineno)
            )
        cells = cells + [""] * (11 - len(cells))
        try:
            code = check_code(cells[0])
            if code in seen:
                raise DomainError(_l("the code %(code)s appears twice.", code=code))
            seen.add(code)
            category_code = normalize_code(cells[2])
            if category_code not in categories:
                raise DomainError(_l("there is no category “%(code)s”.", code=category_code[:40]))
            approval_ids = []
            for raw in LIST_SEPARATORS.split(cells[3]):
                if raw.strip():
                    key = normalize_code(raw)
                    if key not in approvals:
                        raise DomainError(_l("there is no approval item “%(code)s”.", code=key[:40]))
                    approval_ids.append(approvals[key])
            qtype_ids = []
            for raw in LIST_SEPARATORS.split(cells[5]):
                if raw.strip():
                    key = normalize_code(raw)
                    if key not in qtypes:
                        raise DomainError(_l("there is no qualification type “%(code)s”.", code=key[:40]))
                    qtype_ids.append(qtypes[key])
            rule_text = (cells[4] or ("any" if qtype_ids else "none")).lower()
            if rule_text not in {r.value for r in QualificationRule}:
                raise DomainError(_l("the rule must be “none”, “any” or “all”."))
            basis_text = (cells[7] or "market").lower()
            if basis_text not in {b.value for b in FeeBasis}:
                raise DomainError(_l("the fee basis must be “market” or “government”."))
            item = existing.get(code)
            saved, outcome = _save_service_item(
                item, code=code, name=cells[1], category_id=categories[category_code],
                approval_item_ids=approval_ids, qualification_rule=QualificationRule(rule_text),
                qualification_type_ids=qtype_ids, statutory_days=_parse_days(cells[6]),
                fee_basis=FeeBasis(basis_text), fee_document=cells[8], deliverable=cells[9],
                description=cells[10], is_active=True, actor=actor,
            )
        except DomainError as exc:
            raise _line_error(lineno, exc) from exc
        existing[code] = saved
        outcomes[outcome] += 1
    record_event(
        "service_item.imported", ("service_items", "csv"), actor=actor,
        payload={"lines": len(rows), **outcomes},
    )
    return ImportResult(**outcomes)


def get_service_item(item_id: int, *, public: bool = True) -> ServiceItem:
    """One service item with its category, approval items and qualification types.

    Raises:
        NotFound: no such item, or it is inactive and ``public``.
    """
    if not is_db_id(item_id):
        raise NotFound(_l("This service item does not exist."))
    item = db.session.execute(
        sa.select(ServiceItem)
        .options(
            joinedload(ServiceItem.category),
            selectinload(ServiceItem.approval_items),
            selectinload(ServiceItem.qualification_types),
        )
        .where(ServiceItem.id == item_id)
    ).scalar_one_or_none()
    if item is None or (public and not item.is_active):
        raise NotFound(_l("This service item does not exist."))
    return item


def search_service_items(
    *,
    category_id: int | None = None,
    approval_item_id: int | None = None,
    q: str = "",
    page: int = 1,
    per_page: int = 30,
    active_only: bool = True,
):
    """Service items filtered by category, approval item and text; a fixed number of queries."""
    stmt = service_items_query(category_id=category_id, approval_item_id=approval_item_id, q=q,
                               active_only=active_only)
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def service_items_query(
    *, category_id: int | None = None, approval_item_id: int | None = None, q: str = "",
    active_only: bool = True,
) -> sa.Select:
    """The catalogue query behind :func:`search_service_items` (the page and the API share it)."""
    stmt = sa.select(ServiceItem).options(
        joinedload(ServiceItem.category),
        selectinload(ServiceItem.approval_items),
        selectinload(ServiceItem.qualification_types),
    )
    if active_only:
        stmt = stmt.where(ServiceItem.is_active.is_(True))
    if is_db_id(category_id):
        stmt = stmt.where(ServiceItem.category_id == category_id)
    if is_db_id(approval_item_id):
        stmt = stmt.where(ServiceItem.approval_items.any(ApprovalItem.id == approval_item_id))
    q = clean_query(q)
    if q:
        pattern = f"%{_escape_like(q)}%"
        stmt = stmt.where(
            sa.or_(ServiceItem.name.like(pattern, escape="\\"), ServiceItem.code.like(pattern, escape="\\"))
        )
    return stmt.join(ServiceItem.category).order_by(ServiceCategory.sort_order, ServiceItem.code)


def service_item_choices(active_only: bool = True) -> list[ServiceItem]:
    """Service items by code (for select boxes)."""
    stmt = sa.select(ServiceItem).order_by(ServiceItem.code)
    if active_only:
        stmt = stmt.where(ServiceItem.is_active.is_(True))
    return list(db.session.execute(stmt).scalars())


def catalogue_counts() -> dict[str, int]:
    """How many rows each catalogue holds (administration overview)."""
    return {
        name: db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()
        for name, model in (
            ("approval_items", ApprovalItem),
            ("service_items", ServiceItem),
            ("categories", ServiceCategory),
            ("qualification_types", QualificationType),
        )
    }


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
