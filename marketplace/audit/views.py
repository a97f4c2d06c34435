"""Public pages of the audit chain: recent events and signed checkpoints."""

from __future__ import annotations

import sqlalchemy as sa
from flask import jsonify, render_template

from marketplace.audit import bp
from marketplace.audit.models import AuditCheckpoint, AuditEvent
from marketplace.audit.registry import describe
from marketplace.audit.services import public_events_query
from marketplace.core import keys
from marketplace.core.web import page_arg
from marketplace.extensions import db


@bp.route("/")
def index():
    pagination = db.paginate(
        public_events_query().order_by(AuditEvent.seq.desc()), page=page_arg(), per_page=50,
        error_out=False,
    )
    return render_template("audit/index.html", pagination=pagination, events=describe(pagination.items))


@bp.route("/checkpoints")
def checkpoints():
    rows = db.session.execute(
        sa.select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(200)
    ).scalars().all()
    return render_template(
        "audit/checkpoints.html", checkpoints=rows, public_key=keys.public_key_pem(),
        key_id=keys.key_id(),
    )


@bp.route("/checkpoints.json")
def checkpoints_json():
    rows = db.session.execute(sa.select(AuditCheckpoint).order_by(AuditCheckpoint.seq)).scalars()
    return jsonify(
        {
            "public_key": keys.public_key_pem(),
            "key_id": keys.key_id(),
            "checkpoints": [
                {"seq": c.seq, "head_hash": c.head_hash, "signature": c.signature,
                 "created_at": c.created_at.isoformat(), "key_id": c.key_id}
                for c in rows
            ],
        }
    )
