"""The one way actions reach the app: its JSON API, with the service token.

Configuration comes from the environment when a call is made, never at import time:
LINLI_APP_URL (default http://127.0.0.1:8000) and LINLI_SERVICE_TOKEN.
"""

import asyncio
import logging
import os
import re
from typing import Any
from urllib.parse import quote

import aiohttp

logger = logging.getLogger(__name__)

TIMEOUT = aiohttp.ClientTimeout(total=5)
REBUILD_TIMEOUT = aiohttp.ClientTimeout(total=15)


class AppUnavailable(Exception):
    """The app could not be reached or failed: the resident gets an apology, not a crash."""


class NotFound(Exception):
    def __init__(self, detail: Any) -> None:
        super().__init__(str(detail))
        self.detail = detail


class Conflict(Exception):
    """The app refused because the world changed (HTTP 409): a slot just taken, a record closed."""

    def __init__(self, detail: Any) -> None:
        message = detail.get("message") if isinstance(detail, dict) else str(detail)
        super().__init__(message)
        self.message = str(message)
        self.detail = detail


class Rejected(Exception):
    """The app refused (HTTP 422: the input, e.g. a number whose check digit fails; 429: too many
    wrong lookups); `message` is a Chinese explanation to read out."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# One session per event loop (the action server runs one): its connections to the app stay open
# between calls instead of a new pool per call. uvicorn closes a connection idle for 5 s; the
# session drops its own after 3, so it never sends on one the app is closing.
KEEPALIVE_SECONDS = 3.0
_session: tuple[asyncio.AbstractEventLoop, aiohttp.ClientSession] | None = None


def _shared_session() -> aiohttp.ClientSession:
    global _session
    loop = asyncio.get_running_loop()
    if _session is None or _session[0] is not loop or _session[1].closed:
        connector = aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS)
        _session = (loop, aiohttp.ClientSession(timeout=TIMEOUT, connector=connector))
    return _session[1]


async def close_session() -> None:
    """Close this loop's session (tests, or a server shutting down); the next call makes a new one."""
    global _session
    if _session is not None and _session[0] is asyncio.get_running_loop():
        await _session[1].close()
    _session = None


def _base_url() -> str:
    return os.environ.get("LINLI_APP_URL", "http://127.0.0.1:8000").rstrip("/")


def _headers() -> dict[str, str]:
    token = os.environ.get("LINLI_SERVICE_TOKEN", "")
    if not token:  # actions.server refuses to start without it; a test or a stray process may not
        raise AppUnavailable("LINLI_SERVICE_TOKEN is not set")
    return {"Authorization": f"Bearer {token}"}


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def without_control_characters(value: Any) -> Any:
    """What residents type may carry control characters (pasted text, a terminal's colour codes);
    they mean nothing, and the app refuses NUL outright, so they go before anything is sent."""
    if isinstance(value, str):
        return _CONTROL.sub("", value)
    if isinstance(value, dict):
        return {k: without_control_characters(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_control_characters(v) for v in value]
    return value


async def _request(method: str, path: str, **kwargs: Any) -> Any:
    url = f"{_base_url()}{path}"
    for part in ("json", "params"):
        if part in kwargs:
            kwargs[part] = without_control_characters(kwargs[part])
    try:
        async with _shared_session().request(method, url, headers=_headers(), **kwargs) as response:
            body = await response.json(content_type=None)
            if response.status == 404:
                raise NotFound(body.get("detail"))
            if response.status == 409:
                raise Conflict(body.get("detail"))
            if response.status in (422, 429):
                detail = body.get("detail")
                raise Rejected(detail if isinstance(detail, str) else "输入的内容不对，请再说一遍。")
            if response.status >= 400:
                raise AppUnavailable(f"{method} {path} answered {response.status}")
            return body
    except (aiohttp.ClientError, TimeoutError, asyncio.TimeoutError, ValueError) as exc:  # distinct on 3.10
        logger.warning("app unreachable: %s %s: %s", method, path, exc)
        raise AppUnavailable(str(exc)) from exc


async def facility_hours(name: str, when: str) -> dict[str, Any]:
    return await _request("GET", f"/api/facilities/{quote(name)}/hours", params={"when": when})


async def policy(topic: str) -> dict[str, Any]:
    return await _request("GET", f"/api/policies/{quote(topic)}")


async def facilities() -> list[str]:
    return list(await _request("GET", "/api/facilities"))


async def knowledge_tiles(page: int) -> dict[str, Any]:
    return await _request("GET", "/api/knowledge/tiles", params={"page": page})


async def knowledge_answer(**question: Any) -> dict[str, Any]:
    # the first question after staff changed entries waits for the index to be rebuilt
    return await _request("POST", "/api/knowledge/answer", json=question, timeout=REBUILD_TIMEOUT)


async def raise_alert(**fields: Any) -> dict[str, Any]:
    return await _request("POST", "/api/alerts", json=fields)


async def request_callback(**fields: Any) -> dict[str, Any]:
    return await _request("POST", "/api/handoffs", json=fields)


async def parse_phone(text: str) -> str:
    body = await _request("POST", "/api/parse/phone", json={"text": text})
    return str(body["phone"])


async def form_turn(form: str, **turn: Any) -> dict[str, Any]:
    return await _request("POST", f"/api/forms/{quote(form)}/turn", json=turn)


async def book_taxi(**fields: Any) -> dict[str, Any]:
    return await _request("POST", "/api/taxi-bookings", json=fields)


async def book_stair_climber(**fields: Any) -> dict[str, Any]:
    return await _request("POST", "/api/stair-climber/bookings", json=fields)


async def file_request(**fields: Any) -> dict[str, Any]:
    return await _request("POST", "/api/requests", json=fields)


async def record_status(**fields: Any) -> dict[str, Any]:
    return await _request("POST", "/api/records/status", json=fields)


async def cancel_record(number: str, **fields: Any) -> dict[str, Any]:
    return await _request("POST", f"/api/records/{quote(number)}/cancel", json=fields)
