"""The demo data: cases and requests in every interesting state, built through the services."""

from marketplace.demo.procurement import load_procurement_demo
from marketplace.procurement import services
from marketplace.procurement.models import PurchaseRequest, RequestStatus


def test_demo_loads_every_state(db, client):
    from marketplace.demo import load_demo

    load_demo("demo-Passw0rd", with_market=False)
    ids = load_procurement_demo()
    db.session.commit()
    status = {key: db.session.get(PurchaseRequest, i).status for key, i in ids.items()}
    assert status == {
        "park": RequestStatus.AWARDED, "school": RequestStatus.AWARDED, "pipe": RequestStatus.AWARDED,
        "clinic": RequestStatus.AWARDED, "land": RequestStatus.FAILED,
        "land_round2": RequestStatus.PUBLISHED, "road": RequestStatus.PUBLISHED, "depot": RequestStatus.DRAFT,
    }
    assert services.award_is_final(db.session.get(PurchaseRequest, ids["park"]))
    assert client.get("/announcements").status_code == 200
    for key in ("park", "school", "pipe", "clinic", "land"):
        assert client.get(f"/announcements/{ids[key]}/result").status_code == 200, key
    assert client.get(f"/announcements/{ids['road']}").status_code == 200
    assert client.get(f"/announcements/{ids['depot']}").status_code == 404
