"""Outgoing e-mail behind a small protocol: SMTP in production, a recorder in tests, off by default."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Protocol

from flask import current_app


class Mailer(Protocol):
    """Sends one e-mail or raises."""

    def send(self, to: str, subject: str, body: str) -> None: ...


class SMTPMailer:
    """Plain SMTP with optional STARTTLS and login, configured from MAIL_* settings."""

    def __init__(self, config):
        self.host = config["MAIL_SERVER"]
        self.port = config["MAIL_PORT"]
        self.use_tls = config["MAIL_USE_TLS"]
        self.username = config.get("MAIL_USERNAME")
        self.password = config.get("MAIL_PASSWORD")
        self.sender = config["MAIL_SENDER"]

    def send(self, to: str, subject: str, body: str) -> None:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = to
        msg["Subject"] = subject
        msg.set_content(body)
        with smtplib.SMTP(self.host, self.port, timeout=20) as smtp:
            if self.use_tls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(msg)


class RecordingMailer:
    """Keeps what would have been sent (tests and development)."""

    def __init__(self):
        self.sent: list[tuple[str, str, str]] = []

    def send(self, to: str, subject: str, body: str) -> None:
        self.sent.append((to, subject, body))


def get_mailer() -> Mailer | None:
    """The configured mailer, or None when e-mail is off (the default)."""
    override = current_app.extensions.get("mailer")
    if override is not None:
        return override
    if not current_app.config.get("MAIL_ENABLED"):
        return None
    return SMTPMailer(current_app.config)
