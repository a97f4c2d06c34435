"""Public open-data pages: the explanation, release and record packages, the bulk file, the verifier."""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import (
    Response,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    stream_with_context,
)
from flask_babel import gettext as _

from marketplace.core.web import page_arg
from marketplace.extensions import db, limiter
from marketplace.ocds import bp, services
from marketplace.ocds.builder import LICENSE_URL, Context

JSON_TYPE = "application/json; charset=utf-8"
VERIFIER = Path(__file__).resolve().parents[2] / "docs" / "verify_draw.py"


def _not_found():
    body = {"error": {"code": "ocds_not_found",
                      "message": _("No public contracting process has this ocid.")}}
    return jsonify(body), 404


def _json(data, *, max_age: int = 300) -> Response:
    body = services.dumps(data).encode("utf-8")
    resp = Response(body, content_type=JSON_TYPE)
    resp.headers["Cache-Control"] = f"public, max-age={max_age}"
    resp.headers["Access-Control-Allow-Origin"] = "*"
    resp.set_etag(hashlib.sha256(body).hexdigest()[:32])
    return resp.make_conditional(request)


def _releases(ocid: str):
    ctx = Context.current()
    request_id = ctx.request_id(ocid)
    if request_id is None:
        return ctx, None
    return ctx, services.releases_for(request_id, ctx)


@bp.get("/")
def index():
    """What is published, where, under which licence and with which ocid prefix."""
    ctx = Context.current()
    pagination = db.paginate(services.public_processes_query(), page=page_arg(), per_page=50, error_out=False)
    return render_template("ocds/index.html", ctx=ctx, pagination=pagination, license_url=LICENSE_URL,
                           base=ctx.urls.base)


@bp.get("/releases/<ocid>.json")
def release_package(ocid: str):
    """The release package of one contracting process (one purchase request)."""
    ctx, releases = _releases(ocid)
    if not releases:
        return _not_found()
    return _json(services.release_package(ctx, ocid, releases))


@bp.get("/records/<ocid>.json")
def record_package(ocid: str):
    """The record package of one process: its releases and the compiled release."""
    ctx, releases = _releases(ocid)
    if not releases:
        return _not_found()
    return _json(services.record_package(ctx, ocid, releases))


@bp.get("/bulk/releases.jsonl.gz")
@limiter.limit("6 per minute")
def bulk():
    """Every public process: one release package per line, gzip, produced as it is sent."""
    ctx = Context.current()
    resp = Response(stream_with_context(services.iter_bulk_gzip(ctx)), content_type="application/gzip")
    resp.headers["Content-Disposition"] = 'attachment; filename="releases.jsonl.gz"'
    resp.headers["Cache-Control"] = "public, max-age=3600"
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


@bp.get("/verify_draw.py")
def verifier():
    """The random-draw verifier (standard-library Python), to recompute a published draw."""
    try:
        text = VERIFIER.read_bytes()
    except OSError:
        current_app.logger.warning("docs/verify_draw.py is missing")
        abort(404)
    resp = Response(text, content_type="text/x-python; charset=utf-8")
    resp.headers["Cache-Control"] = "public, max-age=86400"
    resp.headers["Content-Disposition"] = 'inline; filename="verify_draw.py"'
    return resp
