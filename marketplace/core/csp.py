"""The Content Security Policy every page is served with (Flask-Talisman, set up in
``marketplace.setup``). A blueprint that needs a wider policy on a few routes builds it from
``CSP`` here (e.g. the payment pages whose forms post to Stripe), so it never imports the app
factory's modules. Imports nothing of the market."""

from __future__ import annotations

CSP = {
    "default-src": "'self'",
    "img-src": ["'self'", "data:"],
    "style-src": ["'self'"],
    "script-src": ["'self'"],
    "font-src": ["'self'", "data:"],
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
