"""The staff console's sign-in and browser-facing protections, tried as a stranger would: each
attempt fails for the stranger and still works for the rightful caller. One section per door:
who exists, guessing, forwarded addresses, sessions, cookies, cross-site requests, headers."""

import base64
import hashlib
import re
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.api import deps
from bot.api.csrf import REFUSAL
from bot.api.main import create_app
from bot.api.routes import staff_api, staff_knowledge, staff_pages
from bot.config import Settings, get_settings
from bot.models import AuditEntry, KnowledgeEntry, LoginAttempt, LoginThrottle, StaffSession, StaffUser
from bot.services import staff_auth
from tests.app.conftest import PASSWORD, SATURDAY_10AM, sign_in
from tests.app.test_bookings import request_body
from tests.app.test_staff_console import sample_path

MakeClient = Callable[..., TestClient]


@pytest.fixture
def make_client(
    accounts: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., TestClient]]:
    """Another browser (or script) on the same app and database: its own cookies, its own client
    address and scheme; `env` gives the app settings of its own (e.g. TRUSTED_PROXIES)."""
    opened: list[TestClient] = []

    def make(
        *, address: str = "testclient", base_url: str = "http://testserver", env: dict[str, str] | None = None
    ) -> TestClient:
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        app = create_app()

        def session_override() -> Iterator[Session]:
            with accounts() as session:
                yield session

        app.dependency_overrides[deps.get_session] = session_override
        client = TestClient(app, base_url=base_url, client=(address, 50000))
        client.headers["Origin"] = base_url
        opened.append(client.__enter__())
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)
    monkeypatch.undo()
    get_settings.cache_clear()


def send(client: TestClient, method: str, path: str, headers: dict[str, str | None], **kwargs: Any) -> Any:
    """A request with some of the client's usual headers changed, or (None) left out."""
    request = client.build_request(method, path, **kwargs)
    for name, value in headers.items():
        if value is None:
            request.headers.pop(name, None)
        else:
            request.headers[name] = value
    return client.send(request, follow_redirects=kwargs.pop("follow_redirects", False))


def flash(client: TestClient) -> str:
    found = re.search(r'<div class="flash[^"]*">([^<]*)</div>', client.get("/staff/login").text)
    return found.group(1) if found else ""


def signed_in(client: TestClient) -> bool:
    return client.get("/api/staff/alerts").status_code == 200


def attempts(accounts: sessionmaker[Session]) -> list[LoginAttempt]:
    with accounts() as session:
        return list(session.scalars(select(LoginAttempt).order_by(LoginAttempt.id)))


# --- 1. an unknown username costs the same work and gets the same answer ------------------------


def test_unknown_inactive_and_known_usernames_do_the_same_work(
    client: TestClient, accounts: sessionmaker[Session], clock: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    argon = staff_auth._hasher.hashers[0]
    verified: list[str] = []
    real_verify = argon.verify

    def counting(password: str | bytes, hash: str | bytes) -> bool:
        verified.append(str(password))
        return bool(real_verify(password, hash))

    monkeypatch.setattr(argon, "verify", counting)
    with accounts() as session:
        staff_auth.create_user(session, username="gone", password=PASSWORD, role="staff")
        staff_auth.set_active(
            session, user=session.scalars(select(StaffUser).filter_by(username="gone")).one(), active=False,
            actor="admin", now=clock["now"],
        )  # fmt: skip
    answers = {}
    for username in ("nobody-here", "gone", "admin"):
        verified.clear()
        response = sign_in(client, username, "wrong-password-1")
        answers[username] = (response.status_code, response.headers["location"], flash(client))
        assert verified == ["wrong-password-1"], username  # one Argon2 verify, known or not
    assert len(set(answers.values())) == 1 and answers["admin"][2] == "用户名或密码不对。"

    # And so the time it takes: the best of five, fresh accounts each time so no wait applies.
    def best_of_five(username: Callable[[int], str]) -> float:
        times = []
        for n in range(5):
            clock["now"] += timedelta(hours=2)  # past every wait and the source's memory
            started = time.perf_counter()
            sign_in(client, username(n), "wrong-password-1")
            times.append(time.perf_counter() - started)
        return min(times)

    unknown = best_of_five(lambda n: f"nobody-{n}")
    known = best_of_five(lambda n: "admin")
    assert unknown > known * 0.5, (unknown, known)  # before: 8 ms against 238 ms


# --- 2. guessing is slowed, never a lock a stranger can turn against staff ---------------------


def test_waits_grow_per_account_up_to_five_minutes_and_the_right_password_still_gets_in(
    make_client: MakeClient, accounts: sessionmaker[Session], clock: dict[str, Any]
) -> None:
    stranger = make_client(address="203.0.113.9")
    for _ in range(staff_auth.FREE_TRIES):
        sign_in(stranger, "admin", "guess-guess")
        assert flash(stranger) == "用户名或密码不对。"
    seen = []
    for _ in range(12):
        sign_in(stranger, "admin", "guess-guess")  # within the wait: refused unread, not counted
        message = flash(stranger)
        seen.append(message)
        wait = re.fullmatch(r"请稍等(\d+)(秒|分钟)再试。", message)
        assert wait, message
        clock["now"] += timedelta(seconds=int(wait.group(1)) * (60 if wait.group(2) == "分钟" else 1))
        sign_in(stranger, "admin", "guess-guess")  # the wait is over: checked, wrong, a longer wait
        assert flash(stranger) == "用户名或密码不对。"
    assert seen[:6] == [f"请稍等{s}秒再试。" for s in (1, 2, 4, 8, 16, 32)]
    assert seen[-3:] == ["请稍等5分钟再试。"] * 3  # capped
    checked = [a for a in attempts(accounts) if a.username == "admin"]
    assert len(checked) == staff_auth.FREE_TRIES + 12  # the refused ones were never checked
    clock["now"] += staff_auth.MAX_WAIT
    rightful = make_client(address="198.51.100.7")  # at worst five minutes, then in
    assert sign_in(rightful).status_code == 303 and signed_in(rightful)


def test_a_strangers_guesses_never_hold_the_admins_usual_browser(
    make_client: MakeClient, clock: dict[str, Any]
) -> None:
    # Same office, same address: the stranger is on the admin's own network.
    admin_pc = make_client(address="192.168.1.20")
    assert sign_in(admin_pc).status_code == 303
    admin_pc.post("/staff/logout")
    stranger = make_client(address="192.168.1.20")
    for n in range(30):  # the account and the address are both deep in their waits
        clock["now"] += timedelta(seconds=30)
        sign_in(stranger, "admin" if n % 2 else f"user{n}", "guess-guess")
    sign_in(stranger, "admin", PASSWORD)
    assert flash(stranger).startswith("请稍等") and not signed_in(stranger)
    assert sign_in(admin_pc).status_code == 303 and signed_in(admin_pc)  # the known browser walks in


def test_one_address_spraying_many_names_is_slowed_but_staff_elsewhere_are_not(
    make_client: MakeClient, clock: dict[str, Any]
) -> None:
    sprayer = make_client(address="2001:db8:5:6::1")
    for n in range(staff_auth.SOURCE_FREE_TRIES):  # two tries per name: no account reaches its waits
        sign_in(sprayer, f"name{n // 2}", "guess-guess")
        assert flash(sprayer) == "用户名或密码不对。"
    other_half = make_client(address="2001:db8:5:6::ffff")  # the same /64 counts as the same place
    sign_in(other_half, "xiaoli", "guess-guess")
    assert flash(other_half) == "请稍等1秒再试。"
    elsewhere = make_client(address="198.51.100.23")
    assert sign_in(elsewhere, "xiaoli").status_code == 303 and signed_in(elsewhere)


def test_a_known_browser_is_held_by_its_own_failures(make_client: MakeClient, clock: dict[str, Any]) -> None:
    mine = make_client()
    sign_in(mine)
    mine.post("/staff/logout")
    for _ in range(staff_auth.FREE_TRIES):
        sign_in(mine, "admin", "typo-typo")
    sign_in(mine)
    assert flash(mine) == "请稍等1秒再试。"  # a stolen device cookie would give a guesser nothing more
    clock["now"] += timedelta(seconds=1)
    assert sign_in(mine).status_code == 303 and signed_in(mine)


def test_parallel_guesses_cannot_share_one_opening(accounts: sessionmaker[Session], clock: dict[str, Any]) -> None:
    with accounts() as first, accounts() as second:
        keys = [staff_auth._Key("user", "admin"), staff_auth._Key("source", "203.0.113.5")]
        staff_auth.Throttle(first, keys, clock["now"]).claim()  # an attempt being checked right now
        with pytest.raises(staff_auth.TryLater):
            staff_auth.authenticate(
                second, username="admin", password=PASSWORD, client="203.0.113.99", device="", now=clock["now"]
            )
        with pytest.raises(staff_auth.TryLater):  # nor can the same place try another name meanwhile
            staff_auth.authenticate(
                second, username="xiaoli", password=PASSWORD, client="203.0.113.5", device="", now=clock["now"]
            )
        assert second.get(LoginThrottle, "user:xiaoli").next_at <= clock["now"]  # given back, not held
    clock["now"] += staff_auth.HOLD  # an attempt that died while checked lets go
    with accounts() as session:
        user = staff_auth.authenticate(
            session, username="admin", password=PASSWORD, client="203.0.113.99", device="", now=clock["now"]
        )
        assert user is not None and user.username == "admin"


# --- 3. X-Forwarded-For and X-Forwarded-Proto only from configured proxies ----------------------


def test_forwarded_headers_are_believed_only_from_trusted_proxies(
    make_client: MakeClient, accounts: sessionmaker[Session], clock: dict[str, Any]
) -> None:
    def login(client: TestClient, username: str, password: str, headers: dict[str, str]) -> Any:
        data = {"username": username, "password": password}
        return client.post("/staff/login", data=data, headers=headers, follow_redirects=False)

    forged = {"X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "https"}
    loopback = make_client(address="127.0.0.1")  # TRUSTED_PROXIES empty: not even loopback is believed
    for n in range(staff_auth.SOURCE_FREE_TRIES):  # a new forged address each time does not help
        login(loopback, f"n{n}", "x", {"X-Forwarded-For": f"10.9.8.{n}"})
    refused = login(loopback, "admin", PASSWORD, forged)
    assert refused.headers["location"] == "/staff/login"
    assert "secure" not in refused.headers["set-cookie"].lower()  # nor the forged scheme
    assert flash(loopback) == "请稍等1秒再试。"
    assert {a.client for a in attempts(accounts)} == {"127.0.0.1"}

    proxy = make_client(address="10.0.0.2", env={"TRUSTED_PROXIES": "10.0.0.0/24, 127.0.0.1"})
    proxy.headers["Origin"] = "https://testserver"  # the browser is on https, the proxy says so
    signed = login(proxy, "admin", PASSWORD, forged)
    assert signed.headers["location"] == "/staff/"
    assert attempts(accounts)[-1].client == "198.51.100.1"
    assert "__Host-linli_staff=" in signed.headers["set-cookie"] and "Secure" in signed.headers["set-cookie"]


@pytest.mark.parametrize("value", ["*", "10.0.0.300", "proxy.local"])
def test_a_wrong_trusted_proxies_setting_stops_the_app(value: str) -> None:
    with pytest.raises(ValidationError):
        Settings(trusted_proxies=value)


# --- 4. sessions are kept on the server and end when they must ----------------------------------


def cookie(client: TestClient) -> str:
    return str(client.cookies.get("linli_staff"))


def replay(make_client: MakeClient, value: str) -> TestClient:
    """A second browser carrying a copied session cookie."""
    thief = make_client()
    thief.cookies.set("linli_staff", value)
    return thief


def test_the_cookie_carries_only_a_random_id_whose_hash_the_server_keeps(
    make_client: MakeClient, accounts: sessionmaker[Session]
) -> None:
    planted = "planted-by-someone-else-1234567890"  # a fixation attempt: a cookie set before sign-in
    browser = make_client()
    browser.cookies.set("linli_staff", planted)
    assert not signed_in(browser)
    made = set_cookies(sign_in(make_client()))["linli_staff"]
    value = made.split("=", 1)[1].split(";", 1)[0]
    assert value != planted and len(value) >= 43 and "admin" not in value and "." not in value  # nothing signed in it
    with accounts() as session:
        row = session.scalars(select(StaffSession)).one()
        assert row.id_hash == hashlib.sha256(value.encode()).hexdigest() and value not in row.id_hash
        assert row.expires_at == SATURDAY_10AM + timedelta(hours=get_settings().session_hours)
    assert signed_in(replay(make_client, value))
    assert not signed_in(replay(make_client, value[:-1] + ("A" if value[-1] != "A" else "B")))


def test_sign_out_ends_the_session_for_every_copy_of_the_cookie(
    make_client: MakeClient, accounts: sessionmaker[Session]
) -> None:
    browser = make_client()
    sign_in(browser)
    copied = replay(make_client, cookie(browser))
    assert signed_in(copied)  # a copy works while the session lives ...
    browser.post("/staff/logout")
    assert not signed_in(browser) and not signed_in(copied)  # ... and not after sign-out
    with accounts() as session:
        assert session.scalars(select(StaffSession.end_reason)).one() == "logout"
    assert sign_in(browser).status_code == 303 and signed_in(browser)


def test_changing_ones_password_ends_every_other_session(
    make_client: MakeClient, accounts: sessionmaker[Session]
) -> None:
    office, home = make_client(), make_client(address="198.51.100.50")
    sign_in(office, "xiaoli")
    sign_in(home, "xiaoli")
    before = cookie(office)
    wrong = office.post(
        "/staff/password", data={"current": "not-it-at-all", "new": "new-pass-123", "again": "new-pass-123"}
    )
    assert "现在的密码不对" in wrong.text and signed_in(home)
    changed = office.post("/staff/password", data={"current": PASSWORD, "new": "new-pass-123", "again": "new-pass-123"})
    assert "密码已改好" in changed.text
    assert signed_in(office) and cookie(office) != before  # this browser goes on, with a new id
    assert not signed_in(home) and not signed_in(replay(make_client, before))
    assert "登录已经失效" in home.get("/staff/", follow_redirects=True).text
    assert sign_in(home, "xiaoli").headers["location"] == "/staff/login"  # the old password is gone
    assert sign_in(home, "xiaoli", "new-pass-123").headers["location"] == "/staff/"
    with accounts() as session:
        assert ("xiaoli", "password") in [(a.actor, a.action) for a in session.scalars(select(AuditEntry))]


def test_an_admin_reset_or_deactivation_ends_the_accounts_sessions(
    make_client: MakeClient, accounts: sessionmaker[Session]
) -> None:
    admin, xiaoli = make_client(), make_client(address="198.51.100.60")
    sign_in(admin)
    sign_in(xiaoli, "xiaoli")
    with accounts() as session:
        xiaoli_id = session.scalars(select(StaffUser.id).filter_by(username="xiaoli")).one()
        admin_id = session.scalars(select(StaffUser.id).filter_by(username="admin")).one()
    assert xiaoli.post(f"/staff/users/{admin_id}/password", data={"password": "taken-over-1"}).status_code == 403
    reset = admin.post(f"/staff/users/{xiaoli_id}/password", data={"password": "reset-pass-1"})
    assert "已重设" in reset.text and not signed_in(xiaoli)
    assert sign_in(xiaoli, "xiaoli", "reset-pass-1").status_code == 303 and signed_in(xiaoli)

    stopped = admin.post(f"/staff/users/{xiaoli_id}/active", data={"active": "false"})
    assert "已停用" in stopped.text and not signed_in(xiaoli)
    sign_in(xiaoli, "xiaoli", "reset-pass-1")
    assert flash(xiaoli) == "用户名或密码不对。" and not signed_in(xiaoli)  # as if there were no such account
    assert "不能停用自己" in admin.post(f"/staff/users/{admin_id}/active", data={"active": "false"}).text
    admin.post(f"/staff/users/{xiaoli_id}/active", data={"active": "true"})
    assert sign_in(xiaoli, "xiaoli", "reset-pass-1").status_code == 303 and signed_in(xiaoli)
    with accounts() as session:
        reasons = sorted(session.scalars(select(StaffSession.end_reason).where(StaffSession.ended_at.is_not(None))))
        assert reasons == ["deactivated", "password"]


def test_a_session_ends_session_hours_after_sign_in(
    staff: TestClient, accounts: sessionmaker[Session], clock: dict[str, Any]
) -> None:
    clock["now"] += timedelta(hours=get_settings().session_hours) - timedelta(seconds=1)
    assert signed_in(staff)  # being used keeps it no longer than its lifetime
    clock["now"] += timedelta(seconds=1)
    assert not signed_in(staff)
    with accounts() as session:
        assert session.scalars(select(StaffSession.end_reason)).one() == "expired"
    assert sign_in(staff).status_code == 303 and signed_in(staff)


# --- 5. cookies: HttpOnly, SameSite=strict, Secure over HTTPS -----------------------------------


def set_cookies(response: Any) -> dict[str, str]:
    return {c.split("=", 1)[0]: c for c in response.headers.get_list("set-cookie")}


def test_cookies_are_httponly_strict_and_secure_over_https(make_client: MakeClient) -> None:
    plain = make_client()
    made = set_cookies(sign_in(plain))
    assert set(made) == {"linli_staff", "linli_device"}
    for value in made.values():
        value = value.lower()
        assert "httponly" in value and "samesite=strict" in value and "path=/" in value and "secure" not in value
    assert "max-age" not in made["linli_staff"].lower()  # the server ends it; the browser forgets it on close
    flashed = set_cookies(sign_in(plain, password="wrong-wrong-1"))["linli_flash"].lower()
    assert "httponly" in flashed and "samesite=strict" in flashed and "secure" not in flashed

    secure = make_client(base_url="https://testserver")
    made = set_cookies(sign_in(secure))
    assert set(made) == {"__Host-linli_staff", "__Host-linli_device"}
    for value in made.values():
        value = value.lower()
        assert "secure" in value and "httponly" in value and "samesite=strict" in value and "domain" not in value
    assert signed_in(secure)
    assert "secure" in set_cookies(sign_in(secure, password="wrong-wrong-1"))["linli_flash"].lower()


# --- 6. state changes only from the console's own pages -----------------------------------------


def unsafe_staff_routes() -> list[tuple[str, str]]:
    found = []
    for prefix, router in (("", staff_pages.router), ("", staff_knowledge.router), ("/api", staff_api.router)):
        for route in router.routes:
            assert isinstance(route, APIRoute)
            found += [
                (m, prefix + route.path) for m in sorted(route.methods) if m in {"POST", "PUT", "PATCH", "DELETE"}
            ]
    return found


FOREIGN: list[dict[str, str | None]] = [
    {"Origin": "https://evil.example"},
    {"Origin": "http://testserver.evil.example"},
    {"Origin": "http://testserver:8080"},
    {"Origin": "null"},
    {"Origin": None, "Referer": "https://evil.example/staff/"},
    {"Origin": None},  # neither header: something stripped them
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
]


def test_every_state_change_from_another_site_is_refused(staff: TestClient) -> None:
    routes = unsafe_staff_routes()
    assert len(routes) >= 25
    for method, path in routes:
        for headers in FOREIGN:
            response = send(staff, method, sample_path(path), headers)
            assert response.status_code == 403, (method, path, headers)
            assert REFUSAL in response.text
    assert signed_in(staff)  # not even the sign-out went through


def test_a_refused_request_changes_nothing_and_the_same_from_the_page_works(
    staff: TestClient, accounts: sessionmaker[Session]
) -> None:
    def answer() -> str:
        with accounts() as session:
            return session.scalars(select(KnowledgeEntry.spoken).filter_by(topic="反诈骗")).one()

    before = answer()
    refused = send(staff, "PUT", "/api/staff/policies/反诈骗", FOREIGN[0], json={"answer": "请把钱转到安全账户。"})
    assert refused.status_code == 403 and refused.json() == {"detail": REFUSAL}
    page = send(staff, "POST", "/staff/content/policy/反诈骗", {"Origin": None}, data={"answer": "请转账。"})
    assert (
        page.status_code == 403 and "回到工作台" in page.text and page.headers["content-type"].startswith("text/html")
    )
    assert answer() == before
    # The console's own page: a fetch with Origin, a form with Origin, or Referer alone (old browsers).
    fetched = send(
        staff, "PUT", "/api/staff/policies/反诈骗", {"Sec-Fetch-Site": "same-origin"}, json={"answer": "不转账。"}
    )
    assert fetched.status_code == 204 and answer() == "不转账。"
    referer_only = {"Origin": None, "Referer": "http://testserver/staff/content/policy/%E5%8F%8D%E8%AF%88%E9%AA%97"}
    saved = send(staff, "POST", "/staff/content/policy/反诈骗", referer_only, data={"answer": "挂电话，不转账。"})
    assert saved.status_code == 303 and answer() == "挂电话，不转账。"


def test_signing_in_from_another_site_is_refused(client: TestClient, accounts: sessionmaker[Session]) -> None:
    forced = send(client, "POST", "/staff/login", FOREIGN[0], data={"username": "admin", "password": PASSWORD})
    assert forced.status_code == 403 and "set-cookie" not in forced.headers
    assert attempts(accounts) == []  # no password was checked
    assert sign_in(client).status_code == 303


def test_the_staff_cookie_opens_nothing_outside_the_console(staff: TestClient) -> None:
    staff.headers.pop("Authorization")  # a browser with only the staff cookie
    assert staff.post("/api/requests", json=request_body("cookie-only-1")).status_code == 401
    assert staff.get("/api/facilities/居委会/hours").status_code == 401
    assert staff.get("/api/staff/alerts").status_code == 200  # where it belongs, it works


# --- 7. headers on every response ---------------------------------------------------------------


def test_every_response_carries_the_security_headers(staff: TestClient) -> None:
    for path in ("/staff/", "/staff/login", "/api/staff/alerts", "/static/staff.css", "/chat/", "/kiosk/?kiosk=lobby-1",
                 "/healthz", "/no-such-page", "/docs", "/redoc", "/openapi.json"):  # fmt: skip
        response = staff.get(path, follow_redirects=False)
        headers = response.headers
        assert headers["x-frame-options"] == "DENY", path
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "same-origin", path
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp and "object-src 'none'" in csp, path
        assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";")[0], path
        assert "strict-transport-security" not in headers  # only over https
    assert staff.get("/staff/").headers["cache-control"] == "no-store"
    assert "no-store" not in staff.get("/static/staff.css").headers.get("cache-control", "")


def test_pages_carry_no_inline_script_or_style_but_the_charts_nonced_one(staff: TestClient) -> None:
    number = staff.post("/api/requests", json=request_body("inline-1")).json()["number"]
    pages = ["/staff/", "/staff/login", "/staff/conversations", "/staff/requests", f"/staff/requests/{number}",
             "/staff/callbacks", "/staff/taxi", "/staff/climber", "/staff/content", "/staff/content/facility/居委会",
             "/staff/content/policy/反诈骗", "/staff/users", "/staff/password", "/staff/unanswered", "/chat/",
             "/kiosk/?kiosk=lobby-1"]  # fmt: skip
    for path in pages:
        response = staff.get(path)
        assert response.status_code == 200, path
        html = response.text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\sstyle=|\son[a-z]+=|javascript:", html), path
        nonce = re.search(r"'nonce-([^']+)'", response.headers["content-security-policy"])
        assert nonce is not None
        styles = re.findall(r"<style[^>]*>", html)
        assert all(f'nonce="{nonce.group(1)}"' in s for s in styles), path
        if path == "/staff/":
            assert len(styles) == 4  # one per chart
    first, second = (staff.get("/staff/").headers["content-security-policy"] for _ in range(2))
    assert first != second  # a fresh nonce every time


def test_the_docs_pages_allow_exactly_their_own_inline_scripts(client: TestClient) -> None:
    docs = client.get("/docs")
    body = re.search(r"<script>(.*?)</script>", docs.text, re.S)
    assert body is not None
    digest = base64.b64encode(hashlib.sha256(body.group(1).encode()).digest()).decode()
    script_src = docs.headers["content-security-policy"].split("script-src", 1)[1].split(";")[0]
    assert script_src.split() == ["'self'", f"'sha256-{digest}'"]


def test_https_responses_ask_for_https_from_now_on(make_client: MakeClient) -> None:
    secure = make_client(base_url="https://testserver")
    assert secure.get("/staff/login").headers["strict-transport-security"] == "max-age=31536000"


def test_the_database_keeps_no_device_cookie_that_could_spend_a_browsers_tries(
    accounts: sessionmaker[Session],
) -> None:
    """(An independent tester read a browser's device id from login_attempt and spent its tries.)"""
    cookie = staff_auth.new_device_id()
    with accounts() as session:
        user = staff_auth.authenticate(
            session, username="admin", password=PASSWORD, client="198.51.100.9", device=cookie, now=SATURDAY_10AM
        )
        assert user is not None
        kept = {a.device for a in session.scalars(select(LoginAttempt))}
        assert cookie not in kept and hashlib.sha256(cookie.encode()).hexdigest() in kept
        # the browser is still known by its cookie …
        assert staff_auth.known_device(session, username="admin", device=cookie, now=SATURDAY_10AM)
        # … and not by what the table holds
        assert not staff_auth.known_device(session, username="admin", device=next(iter(kept)), now=SATURDAY_10AM)
