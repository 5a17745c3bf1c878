"""Request bodies larger than MAX_BODY_BYTES are refused with 413 before they are read in full.

The outermost middleware, so nothing behind it (the NUL guard, the session, a route parsing JSON)
ever holds more than the limit: a declared Content-Length above it is refused at once; a chunked
body (no Content-Length) is counted as it arrives and refused the moment it passes the limit, the
rest never read. Nothing the app accepts comes near the limit (a chat message is 1000 characters)."""

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    """Raised to whatever is reading the body; the 413 has been sent already."""


def refusal(max_bytes: int) -> JSONResponse:
    return JSONResponse({"detail": f"发送的内容太大了，最多 {max_bytes // 1024} KB。"}, status_code=413)


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await refusal(self.max_bytes)(scope, receive, send)
            return

        received = 0
        started = refused = False

        async def counted() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    if not started:
                        refused = True
                        await refusal(self.max_bytes)(scope, receive, send)
                    raise BodyTooLarge()
            return message

        async def unless_refused(message: Message) -> None:
            nonlocal started
            if refused:  # the app's own answer to the broken-off body: the 413 went out instead
                return
            started = True
            await send(message)

        try:
            await self.app(scope, counted, unless_refused)
        except BodyTooLarge:
            if not refused:
                raise
