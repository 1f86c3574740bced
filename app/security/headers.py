"""Security headers on every response.

A handful of fixed headers, so written here rather than pulling in a library.
"""
import secrets

from flask import current_app, g, has_request_context, request

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",  # Bootstrap draws form controls with data: SVGs
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def style_nonce() -> str:
    """A nonce for an inline <style> of this response: the server-drawn charts carry their CSS
    in the SVG (services/charts.py). Only a response that asked for one allows it."""
    if not has_request_context():
        return ""
    if "style_nonce" not in g:
        g.style_nonce = secrets.token_urlsafe(16)
    return g.style_nonce


def apply(response):
    h = response.headers
    nonce = g.get("style_nonce")
    h.setdefault("Content-Security-Policy",
                 CSP.replace("style-src 'self'", f"style-src 'self' 'nonce-{nonce}'") if nonce else CSP)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if current_app.config["HSTS"]:
        h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.endpoint != "static":
        # Pages carry personal data: never keep them in a shared or back-button cache.
        h["Cache-Control"] = "no-store"
    return response
