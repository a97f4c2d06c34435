"""The evidence of a sanction case: the pieces a regulator enters (a contract, an approval case, a
complaint, a rating... by its number or id), checked and resolved to their records, and the
public number each one shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import Organisation
from marketplace.core.errors import DomainError
from marketplace.core.text import has_control_chars
from marketplace.credit.models import REF_ID_MAX, RefType
from marketplace.sanctions.models import EVIDENCE_NOTE_MAX, MAX_EVIDENCE, SanctionEvidence


@dataclass(frozen=True)
class Evidence:
    """One piece of evidence as entered: what it is, its id, a note."""

    object_type: RefType
    object_id: str
    note: str = ""


def _evidence_label(evidence) -> str:
    """How the credit ledger names a piece of evidence: its number, the note beside it."""
    number = evidence_number(evidence)
    return (f"{number} · {evidence.note}" if number and evidence.note else number or evidence.note)[:200]


def resolve_evidence(items: Iterable[Evidence], agency: Organisation, *, strict: bool = True) -> list[SanctionEvidence]:
    """The evidence rows for ``items``: each typed number or id resolved to its record, once.

    ``strict=False`` (automatic proposals, whose references come from the ledger) keeps a
    reference that resolves to nothing as it is instead of refusing it.

    Raises:
        DomainError: a number or id matches no record of its kind, or a contract is not one of
            the agency's.
    """
    from marketplace.credit import references

    rows: list[SanctionEvidence] = []
    seen: set[tuple[RefType, str]] = set()
    for item in items:
        found = references.resolve(item.object_type, item.object_id) if item.object_type is not RefType.OTHER else None
        if found is None:
            if strict and item.object_type is not RefType.OTHER:
                raise DomainError(_l("No %(kind)s has the number or id “%(value)s”. Enter the number shown "
                                     "on the record (e.g. a contract number) or its id.",
                                     kind=item.object_type.label, value=item.object_id), field="evidence")
            row = SanctionEvidence(object_type=item.object_type, object_id=item.object_id, note=item.note)
        else:
            if (found.object_type is RefType.CONTRACT and strict
                    and found.obj.agency_org_id != agency.id):
                raise DomainError(_l("Contract %(no)s is not a contract of this agency.", no=found.number),
                                  field="evidence")
            row = SanctionEvidence(object_type=found.object_type, object_id=found.object_id,
                                   number=found.number, contract_id=found.contract_id,
                                   approval_case_id=found.approval_case_id, note=item.note)
        key = (row.object_type, row.object_id)
        if key not in seen:
            seen.add(key)
            rows.append(row)
    return rows


def _clean_evidence(items) -> list[Evidence]:
    cleaned: list[Evidence] = []
    for raw in items or ():
        if isinstance(raw, Evidence):
            kind, obj_id, note = raw.object_type, raw.object_id, raw.note
        elif isinstance(raw, dict):
            kind, obj_id, note = raw.get("object_type"), raw.get("object_id"), raw.get("note", "")
        else:
            kind, obj_id, *rest = tuple(raw)
            note = rest[0] if rest else ""
        obj_id = str(obj_id or "").strip()
        note = str(note or "").strip()
        if not kind and not obj_id and not note:
            continue
        try:
            kind = RefType(kind)
        except ValueError as exc:
            raise DomainError(_l("Choose what each piece of evidence is."), field="evidence") from exc
        if not obj_id or len(obj_id) > REF_ID_MAX or has_control_chars(obj_id):
            raise DomainError(_l("Each piece of evidence needs its number (at most %(n)d characters).",
                                 n=REF_ID_MAX), field="evidence")
        if len(note) > EVIDENCE_NOTE_MAX or has_control_chars(note):
            raise DomainError(_l("An evidence note may have at most %(n)d plain characters.",
                                 n=EVIDENCE_NOTE_MAX), field="evidence")
        item = Evidence(kind, obj_id, note)
        if all((e.object_type, e.object_id) != (item.object_type, item.object_id) for e in cleaned):
            cleaned.append(item)
    if len(cleaned) > MAX_EVIDENCE:
        raise DomainError(_l("At most %(n)d pieces of evidence.", n=MAX_EVIDENCE), field="evidence")
    return cleaned


def evidence_number(evidence: SanctionEvidence) -> str:
    """The public number of a piece of evidence (what was typed, for an unresolved older row)."""
    if evidence.number:
        return evidence.number
    return "" if evidence.object_id.isdigit() and evidence.object_type is not RefType.OTHER else evidence.object_id
