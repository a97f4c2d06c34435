"""The demo data exported whole, the open-data page, and the official schema (vendored)."""

from __future__ import annotations

import copy

import pytest
import sqlalchemy as sa

from marketplace.procurement.models import Bid, PurchaseRequest, RequestStatus
from marketplace.procurement.services import result_is_public
from tests.ocds.conftest import (
    bulk_packages,
    check_release,
    check_release_package,
    ocds_merge,
    record_package,
    release_package,
    schema_errors,
)

PREFIX = "ocds-zjm000-"


@pytest.fixture
def demo(db):
    from marketplace.demo import load_demo

    load_demo("demo-Passw0rd")
    db.session.commit()
    return list(db.session.execute(sa.select(PurchaseRequest).order_by(PurchaseRequest.id)).scalars())


def test_every_demo_request_exports_and_passes_the_structural_checks(demo, db, client):
    public = [r for r in demo if r.status is not RequestStatus.DRAFT]
    assert len(public) >= 5
    packages, bulk_text = bulk_packages(client)
    assert [p["releases"][0]["ocid"] for p in packages] == [f"{PREFIX}{r.id}" for r in public]
    tags = set()
    for req, from_bulk in zip(public, packages, strict=True):
        ocid = f"{PREFIX}{req.id}"
        pkg = release_package(client, ocid)
        check_release_package(pkg, PREFIX)
        assert from_bulk == pkg  # the bulk line is the same package
        (record,) = record_package(client, ocid)["records"]
        assert record["compiledRelease"] == ocds_merge(pkg["releases"])
        check_release(record["compiledRelease"], PREFIX, compiled=True)
        tags.update(t for r in pkg["releases"] for t in r["tag"])
        if not result_is_public(req):
            assert all("tenderers" not in r["tender"] and "awards" not in r for r in pkg["releases"])
    # The demo covers the whole life of a process, and a termination.
    assert {"tender", "award", "awardUpdate", "contract", "implementation", "contractTermination",
            "tenderUpdate"} <= tags
    for req in demo:
        if req.status is RequestStatus.DRAFT:
            assert client.get(f"/ocds/releases/{PREFIX}{req.id}.json").status_code == 404
    # The demo's open random draw has sealed bids (118,000 and 125,000 yuan): nowhere in the export.
    sealed = [b for b in db.session.execute(sa.select(Bid)).scalars() if not result_is_public(b.request)]
    assert sealed
    for bid in sealed:
        yuan = bid.price_fen / 100
        for text in (f"{yuan:.2f}", f'"amount":{int(yuan)}' if yuan == int(yuan) else f'"amount":{yuan}',
                     f"{yuan:,.2f}", str(bid.price_fen)):
            assert text not in bulk_text, text


def test_the_open_data_page_is_chinese_by_default(db, client):
    from tests.procurement.conftest import make_scenario

    req = make_scenario(db).published()
    db.session.commit()
    html = client.get("/ocds/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "网上中介服务超市" in html  # the publisher, as the releases name it
    assert PREFIX in html and "/ocds/bulk/releases.jsonl.gz" in html
    assert "creativecommons.org/licenses/by/4.0" in html
    assert f"/ocds/releases/{PREFIX}{req.id}.json" in html
    assert 'id="footer-open-data"' in client.get("/").get_data(as_text=True)
    english = client.get("/ocds/?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in english and "Open contracting data (OCDS)" in english


def test_every_release_validates_against_the_official_schema(demo, client):
    packages, _text = bulk_packages(client)
    assert packages
    for pkg in packages:
        for release in pkg["releases"]:
            errors = schema_errors(release)
            assert not errors, (release["id"], errors)


def test_the_schema_check_catches_a_broken_release(demo, client):
    packages, _text = bulk_packages(client)
    release = copy.deepcopy(packages[0]["releases"][0])
    release["tender"]["status"] = "openForBids"  # not in the closed tenderStatus codelist
    release["date"] = "yesterday"
    assert schema_errors(release)
