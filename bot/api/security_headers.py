"""Headers that tell the browser what the app's pages may do, on every HTTP response.

- Content-Security-Policy: scripts, styles, images, connections only from this site; no inline
  script; no frames, no plugins, no <base>, forms post only here. The one inline style the pages
  carry (the <style> pygal writes into each dashboard chart) is allowed by a nonce made fresh for
  every response (`csp_nonce`). The kiosk plays its replies from blob: URLs (media-src).
  /docs and /redoc (Swagger UI and ReDoc, from fastapi_offline) get a policy of their own: their
  inline scripts are allowed by their SHA-256, computed from the page itself, and ReDoc's styles,
  which it writes at run time, by 'unsafe-inline' for styles on those two pages only.
- frame-ancestors 'none' and X-Frame-Options DENY: no page can be framed (clickjacking).
- Referrer-Policy same-origin: addresses never leak to other sites, and same-origin form posts
  keep their Origin header, which the CSRF check needs (bot/api/csrf.py).
- X-Content-Type-Options nosniff, Cross-Origin-Opener-Policy, Permissions-Policy (the microphone
  for this site's kiosk page only).
- Over HTTPS (the request's scheme; X-Forwarded-Proto only from TRUSTED_PROXIES):
  Strict-Transport-Security, and every cookie the app sets gets `Secure`.
- The staff console's pages and API: Cache-Control no-store (phone numbers and addresses stay
  out of the browser's cache and the back button after sign-out).
A header a route has set itself is left as it is.
"""

import base64
import hashlib
import re
import secrets

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DOCS_PAGES = ("/docs", "/redoc", "/docs/oauth2-redirect")
STAFF = ("/staff", "/api/staff")
INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def policy(nonce: str) -> str:
    return (
        "default-src 'self'; script-src 'self'; "
        f"style-src 'self' 'nonce-{nonce}'; "
        "img-src 'self'; media-src 'self' blob:; connect-src 'self'; font-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def docs_policy(html: bytes) -> str:
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(body).digest()).decode()}'" for body in INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; font-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def csp_nonce(request: Request) -> str:
    """This response's nonce, for the one kind of inline <style> the pages have (charts)."""
    return str(request.scope.get("state", {}).get("csp_nonce", ""))


def _set_defaults(message: Message, scope: Scope, csp: str) -> None:
    headers = MutableHeaders(scope=message)
    path: str = scope["path"]
    https = scope.get("scheme") == "https"
    wanted = {
        "content-security-policy": csp,
        "x-frame-options": "DENY",
        "referrer-policy": "same-origin",
        "x-content-type-options": "nosniff",
        "cross-origin-opener-policy": "same-origin",
        "permissions-policy": "microphone=(self), camera=(), geolocation=(), payment=(), usb=()",
    }
    if https:
        wanted["strict-transport-security"] = "max-age=31536000"
    if any(path == p or path.startswith(p + "/") for p in STAFF):
        wanted["cache-control"] = "no-store"
    for name, value in wanted.items():
        if name not in headers:
            headers[name] = value
    if https:
        cookies = headers.getlist("set-cookie")
        if any("secure" not in _attributes(c) for c in cookies):
            del headers["set-cookie"]
            for cookie in cookies:
                headers.append("set-cookie", cookie if "secure" in _attributes(cookie) else f"{cookie}; Secure")


def _attributes(cookie: str) -> set[str]:
    return {part.split("=", 1)[0].strip().lower() for part in cookie.split(";")[1:]}


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(18)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        if scope["path"] in DOCS_PAGES:
            await self._docs(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                _set_defaults(message, scope, policy(nonce))
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The docs pages are small: held back whole, so the policy can name their scripts' hashes."""
        start: Message | None = None
        body = b""

        async def hold(message: Message) -> None:
            nonlocal start, body
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] == "http.response.body":
                body += message.get("body", b"")
                if message.get("more_body"):
                    return
                assert start is not None
                _set_defaults(start, scope, docs_policy(body))
                await send(start)
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            await send(message)

        await self.app(scope, receive, hold)
