"""PostgreSQL text cannot hold the NUL character (U+0000): a request carrying one would fail deep in
the database with a server error. It is never meaningful in what residents or staff write, so it
is refused at the door with a clear 422 (query string, JSON `\\u0000`, form `%00`)."""

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REFUSAL = {"detail": "text must not contain the NUL character (U+0000)"}
# The residents' chat is not refused: it drops control characters itself and answers (chat.py).
RESIDENTS_OWN = "/chat/"


def carries_nul(query: bytes, body: bytes, content_type: str) -> bool:
    if b"%00" in query:
        return True
    if "json" in content_type and b"\\u0000" in body.lower():
        try:  # only a decoded NUL counts: the text "\\u0000" written out is allowed
            return _has_nul(json.loads(body))
        except ValueError:
            return False  # not JSON: the route says what is wrong with it
    if "form" in content_type:
        return b"%00" in body or b"\x00" in body
    return False


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class NulGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(RESIDENTS_OWN):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        body = await request.body()
        if carries_nul(scope.get("query_string", b""), body, request.headers.get("content-type", "")):
            response: Response = JSONResponse(REFUSAL, status_code=422)
            await response(scope, receive, send)
            return

        sent = False

        async def replay() -> Message:  # the body was read here: hand it on once
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
