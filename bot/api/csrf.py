"""No state-changing request reaches the staff console unless it comes from the console's own pages.

Every POST/PUT/PATCH/DELETE under /staff/ and /api/staff/ (the pages' forms, staff.js's fetches,
scripts with a staff cookie) must name this site as its origin: the `Origin` header, or when a
browser sent none the `Referer`, must be this app's own scheme://host:port (the scheme as the
request arrived, X-Forwarded-Proto only from TRUSTED_PROXIES), and `Sec-Fetch-Site`, when the
browser sends it, must say same-origin. A request with neither header is refused too: every
browser in use sends `Origin` on such requests (the pages' Referrer-Policy, same-origin, keeps it),
so a missing one means something stripped it. Another site's page, even one that gets a staff
browser to post a form or a fetch, is refused here with a 403 before any work is done — on top of
the SameSite=strict cookies, which such a request would not carry anyway.

`current_staff` applies the same check (`same_origin`) wherever the staff cookie is accepted, so
a route added outside these prefixes cannot be reached across sites with it either.
"""

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PROTECTED = ("/staff", "/api/staff")
REFUSAL = "这个请求不是从本系统的工作台页面发出的，已拒绝。请回到工作台页面再操作。"
DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_of(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme]


def same_origin(scope: Scope) -> bool:
    """Does this request say it comes from a page of this very site?"""
    headers = Headers(scope=scope)
    scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
    host = headers.get("host", "")
    own = _origin_of(f"{scheme}://{host}") if host else None
    if own is None:
        return False
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site != "same-origin":
        return False
    claimed = headers.get("origin")
    if claimed is None or claimed == "null":
        claimed = headers.get("referer")
    return claimed is not None and _origin_of(claimed) == own


def protected(scope: Scope) -> bool:
    path: str = scope["path"]
    return scope["method"] in UNSAFE and any(path == p or path.startswith(p + "/") for p in PROTECTED)


def refusal(path: str) -> Response:
    if path.startswith("/api/"):
        return JSONResponse({"detail": REFUSAL}, status_code=403)
    return HTMLResponse(
        f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>已拒绝</title>'
        f'<p>{REFUSAL}</p><p><a href="/staff/">回到工作台</a></p></html>',
        status_code=403,
    )


class SameOriginOnly:
    """ASGI middleware: refuses cross-site state changes to the staff console (module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and protected(scope) and not same_origin(scope):
            await refusal(scope["path"])(scope, receive, send)
            return
        await self.app(scope, receive, send)
