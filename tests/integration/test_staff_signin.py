"""Sign-in against the running app (started as `make run` starts it, by `python -m bot.cli serve`
under uvicorn): what a stranger on the same machine or network measured and tried before.

These attempts all come from loopback, the same source as the other tests' sign-ins: they stay
well under the per-source free tries (staff_auth.SOURCE_FREE_TRIES), so nothing else waits."""

import time

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.launcher import Stack
from bot.models import LoginAttempt
from bot.services import staff_auth

PASSWORD = "guard-pass-123"


def _login(http: httpx.Client, username: str, password: str, **headers: str) -> httpx.Response:
    return http.post(
        "/staff/login", data={"username": username, "password": password}, headers=headers, follow_redirects=False
    )


def test_an_unknown_name_takes_as_long_as_a_known_one_and_forwarded_addresses_are_not_believed(
    stack: Stack, db: Engine
) -> None:
    with Session(db) as session:
        staff_auth.create_user(session, username="guard", password=PASSWORD, role="staff")
    app = stack.urls["app"]
    with httpx.Client(base_url=app, timeout=30, headers={"Origin": app}) as http:
        timings: dict[str, list[float]] = {"unknown": [], "known": []}
        tries = (("unknown", "nobody-1"), ("known", "guard"), ("unknown", "nobody-2"), ("known", "guard"))
        for kind, username in tries:
            started = time.perf_counter()
            answered = _login(http, username, "not-the-password")
            timings[kind].append(time.perf_counter() - started)
            assert answered.headers["location"] == "/staff/login"
        # Before: 8 ms for an unknown name, 238 ms for a known one.
        assert min(timings["unknown"]) > 0.5 * min(timings["known"]), timings

        forged = _login(http, "nobody-3", "x", **{"X-Forwarded-For": "198.51.100.77", "X-Forwarded-Proto": "https"})
        assert "secure" not in forged.headers.get("set-cookie", "").lower()
        assert "server" not in forged.headers  # uvicorn does not name itself
        assert _login(http, "guard", PASSWORD).headers["location"] == "/staff/"
    with Session(db) as session:
        tried = session.scalars(select(LoginAttempt).where(LoginAttempt.username.like("nobody-%")))
        clients = {a.client for a in tried}
    assert clients == {"127.0.0.1"}  # not the forged 198.51.100.77
