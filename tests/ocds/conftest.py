"""OCDS test helpers: fetching packages as a data user would, and the structural checks that
OCDS tools (ocdskit, Kingfisher, the Data Review Tool) rely on."""

from __future__ import annotations

import copy
import csv
import functools
import gzip
import json
import re
from pathlib import Path

import pytest

# The official OCDS 1.1.5 schema and codelists, vendored from open-contracting/standard (Apache-2.0,
# see schema/LICENSE): every release the tests fetch is validated against them.
SCHEMA_DIR = Path(__file__).parent / "schema"


def _codes(name: str) -> set[str]:
    with (SCHEMA_DIR / "codelists" / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
        return {row["Code"] for row in csv.DictReader(fh)}


RELEASE_TAGS = _codes("releaseTag")
TENDER_STATUS = _codes("tenderStatus")
AWARD_STATUS = _codes("awardStatus")
CONTRACT_STATUS = _codes("contractStatus")
PARTY_ROLES = _codes("partyRole")
METHODS = _codes("method")
CATEGORIES = _codes("procurementCategory")
MILESTONE_STATUS = _codes("milestoneStatus")


@functools.cache
def release_validator():
    """A Draft 4 validator of the official release schema."""
    import jsonschema_rs

    schema = json.loads((SCHEMA_DIR / "release-schema.json").read_text(encoding="utf-8"))
    return jsonschema_rs.Draft4Validator(schema)


def schema_errors(release: dict) -> list[str]:
    """What the official schema finds wrong with ``release`` (at most five messages)."""
    errors = [
        f"{'/'.join(map(str, e.instance_path))}: {e.message}"
        for e in release_validator().iter_errors(release)
    ]
    return errors[:5]


RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
DATE_KEYS = {"date", "startDate", "endDate", "dateSigned", "dateMet", "dueDate", "publishedDate",
             "datePublished", "dateModified", "maxExtentDate"}
PACKAGE_FIELDS = {"uri", "version", "publishedDate", "publisher", "license", "publicationPolicy"}


@pytest.fixture(autouse=True)
def _fresh_rate_limits(app):
    """The bulk download is rate-limited per address; each test starts with a clean count."""
    from marketplace.extensions import limiter

    limiter.reset()
    yield
    limiter.reset()


def get_json(client, url: str):
    resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code, resp.get_data(as_text=True)[:300])
    assert resp.mimetype == "application/json"
    return resp.get_json(), resp


def release_package(client, ocid: str) -> dict:
    return get_json(client, f"/ocds/releases/{ocid}.json")[0]


def record_package(client, ocid: str) -> dict:
    return get_json(client, f"/ocds/records/{ocid}.json")[0]


def bulk_packages(client) -> tuple[list[dict], str]:
    resp = client.get("/ocds/bulk/releases.jsonl.gz")
    assert resp.status_code == 200
    text = gzip.decompress(resp.get_data()).decode("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()], text


def _walk(value, path=""):
    if isinstance(value, dict):
        yield path, value
        for key, child in value.items():
            yield from _walk(child, f"{path}.{key}")
    elif isinstance(value, list):
        for n, child in enumerate(value):
            yield from _walk(child, f"{path}[{n}]")


def check_package(pkg: dict) -> None:
    """The package metadata every OCDS tool reads."""
    assert set(pkg) >= PACKAGE_FIELDS, PACKAGE_FIELDS - set(pkg)
    assert pkg["version"] == "1.1"
    assert RFC3339.match(pkg["publishedDate"])
    assert pkg["publisher"]["name"] and pkg["publisher"]["uri"].startswith("http")
    assert pkg["uri"].startswith("http") and pkg["license"].startswith("http")
    assert pkg["publicationPolicy"].startswith("http")


def check_release(release: dict, prefix: str, *, compiled: bool = False) -> None:
    """What OCDS tools rely on in one release (or a compiled release), and the official schema."""
    assert not schema_errors(release), (release.get("id"), schema_errors(release))
    for key in ("ocid", "id", "date", "tag", "initiationType"):
        assert key in release, key
    assert release["ocid"].startswith(prefix)
    assert release["initiationType"] == "tender"
    assert release["language"] == "zh"
    if compiled:
        assert release["tag"] == ["compiled"]
    else:
        assert release["tag"] and set(release["tag"]) <= RELEASE_TAGS, release["tag"]
    # every date: RFC 3339 with an offset
    for path, obj in _walk(release):
        for key, value in obj.items():
            if key in DATE_KEYS and isinstance(value, str):
                assert RFC3339.match(value), (path, key, value)
        if "currency" in obj:  # a Value
            assert obj["currency"] == "CNY", path
            assert isinstance(obj["amount"], int | float) and not isinstance(obj["amount"], bool), path
            assert obj["amount"] >= 0
    parties = {p["id"]: p for p in release.get("parties", [])}
    assert len(parties) == len(release.get("parties", [])), "party ids are unique"
    for party in parties.values():
        assert party["roles"] and set(party["roles"]) <= PARTY_ROLES
        assert party["identifier"]["id"] and party["identifier"]["scheme"] in ("CN-SAIC", "CN-USCC")
        assert party["id"] == f"{party['identifier']['scheme']}-{party['identifier']['id']}"

    def ref(org, role=None):
        assert org["id"] in parties, org
        assert parties[org["id"]]["name"] == org["name"]
        if role:
            assert role in parties[org["id"]]["roles"], (org, role)

    ref(release["buyer"], "buyer")
    tender = release["tender"]
    assert tender["status"] in TENDER_STATUS
    assert tender["procurementMethod"] in METHODS and tender["procurementMethodDetails"]
    assert tender["mainProcurementCategory"] in CATEGORIES
    ref(tender["procuringEntity"], "procuringEntity")
    for org in tender.get("tenderers", []):
        ref(org, "tenderer")
    if "numberOfTenderers" in tender:
        assert tender["numberOfTenderers"] == len(tender["tenderers"])
    for item in tender["items"]:
        assert item["id"] and item["classification"]["id"] and item["classification"]["scheme"]
    award_ids = set()
    for award in release.get("awards", []):
        assert award["id"] not in award_ids
        award_ids.add(award["id"])
        assert award["status"] in AWARD_STATUS
        for org in award["suppliers"]:
            ref(org, "supplier")
    for contract in release.get("contracts", []):
        assert contract["status"] in CONTRACT_STATUS
        assert contract["awardID"] in award_ids
        impl = contract.get("implementation", {})
        for t in impl.get("transactions", []):
            ref(t["payer"], "payer")
            ref(t["payee"], "payee")
        for m in impl.get("milestones", []):
            assert m["status"] in MILESTONE_STATUS
    for doc_path, obj in _walk(release):
        if "documentType" in obj:
            assert obj["id"] and obj["url"].startswith("http"), doc_path


def check_release_package(pkg: dict, prefix: str) -> None:
    check_package(pkg)
    releases = pkg["releases"]
    assert releases
    ids = [r["id"] for r in releases]
    assert len(ids) == len(set(ids)), "release ids are unique"
    assert len({r["ocid"] for r in releases}) == 1
    dates = [r["date"] for r in releases]
    assert dates == sorted(dates), "releases come oldest first"
    assert pkg["publishedDate"] == max(dates)
    for release in releases:
        check_release(release, prefix)


# --- an independent merge, written from the OCDS 1.1 merge rules --------------------------


def ocds_merge(releases: list[dict]) -> dict:
    """Compile ``releases`` as OCDS 1.1 specifies (objects by field, arrays of objects with ids
    by id, everything else replaced), to compare with the publisher's compiledRelease."""

    def merge(old, new):
        if isinstance(new, dict):
            result = copy.deepcopy(old) if isinstance(old, dict) else {}
            for k, v in new.items():
                if v is None:
                    result.pop(k, None)
                else:
                    result[k] = merge(result.get(k), v)
            return result
        if isinstance(new, list) and new and all(isinstance(x, dict) and "id" in x for x in new):
            result = copy.deepcopy(old) if isinstance(old, list) else []
            for x in new:
                match = [n for n, y in enumerate(result) if isinstance(y, dict) and y.get("id") == x["id"]]
                if match:
                    result[match[0]] = merge(result[match[0]], x)
                else:
                    result.append(merge(None, x))
            return result
        return copy.deepcopy(new)

    compiled: dict = {}
    ordered = sorted(releases, key=lambda r: r["date"])
    for release in ordered:
        compiled = merge(compiled, {k: v for k, v in release.items() if k not in ("id", "tag")})
    compiled["tag"] = ["compiled"]
    compiled["id"] = f"{ordered[-1]['ocid']}-{ordered[-1]['date']}"
    return compiled
