import sqlalchemy as sa

from marketplace.notifications.kinds import register_kind
from marketplace.notifications.mailer import RecordingMailer
from marketplace.notifications.models import EmailStatus, Notification, OutgoingEmail
from marketplace.notifications.services import (
    mark_read,
    notify,
    notify_organisation,
    send_pending_email,
    unread_count,
)
from tests.factories import AgencyFactory, UserFactory

register_kind("test.deadline", "Bidding on “%(title)s” closes on %(date)s.")


def test_notify_is_idempotent_per_dedupe_key(db):
    user = UserFactory()
    first = notify(user, "test.deadline", params={"title": "环评", "date": "2026-12-01"}, dedupe_key="r1:3d")
    again = notify(user, "test.deadline", params={"title": "环评", "date": "2026-12-01"}, dedupe_key="r1:3d")
    db.session.commit()
    assert first is not None and again is None
    assert unread_count(user) == 1


def test_organisation_notification_reaches_every_enabled_user(db):
    org = AgencyFactory()
    a, b = UserFactory(organisation=org), UserFactory(organisation=org)
    off = UserFactory(organisation=org, is_enabled=False)
    notify_organisation(org, "test.deadline", params={"title": "x", "date": "y"}, dedupe_key="k")
    db.session.commit()
    assert unread_count(a) == 1 and unread_count(b) == 1 and unread_count(off) == 0


def test_page_shows_unread_badge_and_marks_read(browser, db, login_as):
    user = UserFactory()
    notify(user, "test.deadline", params={"title": "水土保持方案", "date": "2026-12-01"}, link="/calendar",
           dedupe_key="a")
    db.session.commit()
    login_as(user)
    html = browser.get("/dashboard").get_data(as_text=True)
    assert 'id="notifications-link"' in html and "badge" in html.split('id="notifications-link"')[1][:200]
    html = browser.get("/notifications/").get_data(as_text=True)
    assert "水土保持方案" in html
    note = db.session.execute(sa.select(Notification)).scalar_one()
    resp = browser.post("/notifications/read", {"id": str(note.id)}, form_url="/notifications/")
    assert resp.status_code == 302
    assert unread_count(user) == 0


def test_cannot_mark_someone_elses_notification(browser, db, login_as):
    owner, other = UserFactory(), UserFactory()
    notify(owner, "test.deadline", params={"title": "t", "date": "d"}, dedupe_key="a")
    db.session.commit()
    note_id = db.session.execute(sa.select(Notification.id)).scalar_one()
    login_as(other)
    resp = browser.post("/notifications/read", {"id": str(note_id)}, form_url="/notifications/")
    assert resp.status_code == 302  # back, with the error flashed
    assert unread_count(owner) == 1
    resp = browser.post("/notifications/read", {"id": "99999999999999999999"}, form_url="/notifications/")
    assert resp.status_code == 302


def test_email_outbox_sent_by_the_job_and_failures_stay_queued(app, db):
    app.config["MAIL_ENABLED"] = True
    mailer = RecordingMailer()
    app.extensions["mailer"] = mailer
    try:
        user = UserFactory(email="to@example.com")
        notify(user, "test.deadline", params={"title": "测绘", "date": "2026-12-01"}, dedupe_key="m")
        db.session.commit()
        assert send_pending_email() == 1
        assert mailer.sent[0][0] == "to@example.com" and "测绘" in mailer.sent[0][1]
        assert send_pending_email() == 0  # nothing sent twice

        class Broken:
            def send(self, *a):
                raise OSError("smtp down")

        app.extensions["mailer"] = Broken()
        notify(user, "test.deadline", params={"title": "b", "date": "c"}, dedupe_key="m2")
        db.session.commit()
        assert send_pending_email() == 0
        mail = db.session.execute(sa.select(OutgoingEmail).where(OutgoingEmail.status == EmailStatus.PENDING)).scalar_one()
        assert mail.attempts == 1 and "smtp down" in mail.last_error
    finally:
        app.config["MAIL_ENABLED"] = False
        app.extensions.pop("mailer", None)


def test_email_off_by_default_queues_nothing(db):
    user = UserFactory()
    notify(user, "test.deadline", params={"title": "b", "date": "c"}, dedupe_key="x")
    db.session.commit()
    assert db.session.execute(sa.select(sa.func.count(OutgoingEmail.id))).scalar() == 0
    assert mark_read(user) == 1
