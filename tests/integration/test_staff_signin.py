"""Sign-in against the running app (started as `make run` starts it, by `python -m bot.cli serve`
under uvicorn): what a stranger on the same machine or network measured and tried before.

These attempts all come from loopback, the same source as the other tests' sign-ins: they stay
well under the per-source free tries (staff_auth.SOURCE_FREE_TRIES), so nothing else waits."""

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.launcher import Stack
from bot.models import LoginAttempt
from bot.services import staff_auth
from tests.integration.conftest import through_the_proxy

PASSWORD = "guard-pass-123"


def _login(http: httpx.Client, username: str, password: str, **headers: str) -> httpx.Response:
    return http.post(
        "/staff/login", data={"username": username, "password": password}, headers=headers, follow_redirects=False
    )


def test_an_unknown_name_is_answered_as_a_known_one_and_only_the_proxy_is_believed(stack: Stack, db: Engine) -> None:
    """(That both take one Argon2 check is counted in tests/app/test_staff_security.py; measured on
    the running app under load, unknown 444–600 ms and known 452–596 ms, where it was 8 and 238.)"""
    with Session(db) as session:
        staff_auth.create_user(session, username="guard", password=PASSWORD, role="staff")
    app = stack.urls["app"]
    with httpx.Client(base_url=app, timeout=30, headers={"Origin": app}) as http:
        for username in ("nobody-1", "guard", "nobody-2", "guard"):
            answered = _login(http, username, "not-the-password")
            assert answered.headers["location"] == "/staff/login"
        forged = _login(http, "nobody-3", "x", **{"X-Forwarded-For": "198.51.100.77", "X-Forwarded-Proto": "https"})
        assert "secure" not in forged.headers.get("set-cookie", "").lower()
        assert "server" not in forged.headers  # uvicorn does not name itself
        assert _login(http, "guard", PASSWORD).headers["location"] == "/staff/"
    # the deployment's own reverse proxy (TRUSTED_PROXIES) is believed
    with through_the_proxy(base_url=app, timeout=30, headers={"Origin": app}) as proxy:
        _login(proxy, "nobody-4", "x", **{"X-Forwarded-For": "198.51.100.78"})
    with Session(db) as session:
        tried = session.scalars(select(LoginAttempt).where(LoginAttempt.username.like("nobody-%")))
        clients = {a.username: a.client for a in tried}
    assert set(clients.values()) - {"198.51.100.78"} == {"127.0.0.1"}  # never the forged 198.51.100.77
    assert clients["nobody-4"] == "198.51.100.78"
