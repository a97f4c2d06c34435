"""The compiled release of a record: the releases merged by the OCDS 1.1 merge rules.

The rules, as far as the fields this export emits need them (OCDS 1.1 "Merging"):

- releases are applied oldest first, by ``date`` (a stable sort: equal dates keep their order);
- an object is merged field by field; a later value replaces an earlier one; ``null`` removes it;
- an array of objects that all carry an ``id`` is merged item by item, matching on ``id``
  (new ids are appended, items missing from a later release are kept);
- any other array (strings, objects without ids) is replaced whole;
- the compiled release has ``tag`` ``["compiled"]``, the ``date`` of the last release and the id
  ``<ocid>-<date>``.
"""

from __future__ import annotations

import copy


def _is_identified_array(value) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) and "id" in v for v in value)


def _merge(base, new):
    if isinstance(new, dict):
        out = dict(base) if isinstance(base, dict) else {}
        for key, value in new.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = _merge(out.get(key), value)
        return out
    if _is_identified_array(new):
        items = [copy.deepcopy(v) for v in base] if _is_identified_array(base) else []
        index = {str(item["id"]): n for n, item in enumerate(items)}
        for value in new:
            key = str(value["id"])
            if key in index:
                items[index[key]] = _merge(items[index[key]], value)
            else:
                index[key] = len(items)
                items.append(_merge(None, value))
        return items
    return copy.deepcopy(new)


def compile_releases(releases: list[dict]) -> dict:
    """Merge ``releases`` (of one ocid) into the compiled release."""
    ordered = sorted(releases, key=lambda r: r["date"])
    compiled: dict = {}
    for release in ordered:
        body = {k: v for k, v in release.items() if k not in ("id", "tag")}
        compiled = _merge(compiled, body)
    if ordered:
        compiled["id"] = f"{ordered[-1]['ocid']}-{ordered[-1]['date']}"
        compiled["tag"] = ["compiled"]
    return compiled
