"""422 for a request the routes cannot take, naming what is wrong and never repeating it.

FastAPI's own answer echoes each wrong value back (`input`, and `ctx` may hold parts of it): a
75 MB body came back in the error, and a phone number typed into the wrong field would be shown or
logged wherever the answer goes. Here each error keeps where it is (`loc`, long keys cut short),
what is wrong (`msg`) and its `type`; residents' routes (/chat/) get one Chinese sentence."""

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

RESIDENTS = "/chat/"
LONGEST_LOC = 64  # a dict key or a field name the client made up can be as long as the body
# The chat page's fields, as a resident would name them.
FIELD_NAMES = {"sender": "对话编号", "message": "消息", "message_id": "消息编号"}


def _loc(loc: tuple[Any, ...] | list[Any]) -> list[str | int]:
    return [part if isinstance(part, int) else str(part)[:LONGEST_LOC] for part in loc]


def errors_without_input(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": _loc(error.get("loc", ())), "msg": str(error.get("msg", ""))[:200], "type": error.get("type", "")}
        for error in exc.errors()[:20]
    ]


def for_residents(errors: list[dict[str, Any]]) -> str:
    fields = []
    for error in errors:
        name = next((str(p) for p in reversed(error["loc"]) if str(p) in FIELD_NAMES), "")
        label = FIELD_NAMES.get(name, "内容")
        if label not in fields:
            fields.append(label)
    return f"发送的{'、'.join(fields) or '内容'}格式不对，请刷新页面再试。"


async def validation_failed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = errors_without_input(exc)
    if request.url.path.startswith(RESIDENTS):
        return JSONResponse({"detail": for_residents(errors)}, status_code=422)
    return JSONResponse({"detail": errors}, status_code=422)
