"""The HTML pages of the standalone server (the tab, /docs): their Content-Security-Policy.

A page may run only scripts from this server and the inline scripts we wrote into
it (each marked with a fresh nonce per response); it loads nothing from any other
host. See docs/security.md.
"""

from __future__ import annotations

import re
import secrets

# Styles stay inline-capable: gradio and Swagger UI set style attributes from script.
_PAGE_POLICY = (
    "default-src 'self'; script-src 'self'{nonce}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
)
PAGE_CSP = _PAGE_POLICY.format(nonce="")  # any other non-API answer: no inline script at all

_SCRIPT_TAG = re.compile(rb"<script\b")
# Scripts and preconnects to other hosts in a page template (gradio 3's iframe resizer, font hosts).
_OUTSIDE = [re.compile(rb"<script\b[^>]*\bsrc=\"(?:https?:)?//[^\"]*\"[^>]*>\s*</script>", re.I),
            re.compile(rb"<link\b[^>]*\brel=\"(?:preconnect|dns-prefetch)\"[^>]*>", re.I)]


def local_only(body: bytes) -> bytes:
    """The page without its references to other hosts."""
    for pattern in _OUTSIDE:
        body = pattern.sub(b"", body)
    return body


def with_nonce(body: bytes) -> tuple[bytes, str]:
    """(the page with a fresh nonce on each of its script tags, the CSP header that admits them).
    Only for pages whose markup we control (no user data is ever in them)."""
    nonce = secrets.token_urlsafe(18)
    body = _SCRIPT_TAG.sub(b'<script nonce="' + nonce.encode() + b'"', body)
    return body, _PAGE_POLICY.format(nonce=f" 'nonce-{nonce}'")
