"""Actions run in the engine's environment against a real app process (its own virtualenv,
a fresh SQLite file); rows are checked in that file with the standard library's sqlite3."""

import os
import secrets
import socket
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker

from actions import app_client

ROOT = Path(__file__).resolve().parents[2]
APP_PYTHON = ROOT / ".venvs" / "app" / "bin" / "python"
TOKEN = secrets.token_urlsafe(32)  # the app refuses a weak one


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    db = tmp_path_factory.mktemp("app") / "linli.db"
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db}",
        "SERVICE_TOKEN": TOKEN,
        "SESSION_SECRET": secrets.token_urlsafe(32),
        "APP_PORT": str(port),
    }
    for args in (["migrate"], ["load-content"]):
        subprocess.run([str(APP_PYTHON), "-m", "bot.cli", *args], env=env, cwd=ROOT, check=True)
    server = subprocess.Popen([str(APP_PYTHON), "-m", "bot.cli", "serve"], env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise
            time.sleep(0.2)
    yield {"url": url, "db": db}
    server.terminate()
    server.wait(10)


@pytest.fixture(autouse=True)
async def one_session_per_test() -> AsyncIterator[None]:
    """The client keeps one session per event loop; each test has its own loop, so close it after."""
    yield
    await app_client.close_session()


@pytest.fixture
def app(app_server: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("LINLI_APP_URL", app_server["url"])
    monkeypatch.setenv("LINLI_SERVICE_TOKEN", TOKEN)
    return app_server


@pytest.fixture
def app_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINLI_APP_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens there


def rows(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def tracker(
    text: str,
    intent: str = "",
    entities: dict[str, str] | None = None,
    slots: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
    ranking: list[tuple[str, float]] | None = None,
    sender_id: str = "resident-1",
    metadata: dict[str, str] | None = None,
    channel: str = "rest",
) -> Tracker:
    entity_list = [{"entity": k, "value": v} for k, v in (entities or {}).items()]
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.9},
        "entities": entity_list,
        "intent_ranking": [{"name": n, "confidence": c} for n, c in (ranking or [])],
        "message_id": f"msg-{abs(hash(text))}",
    }
    user_event = {
        "event": "user",
        "text": text,
        "parse_data": latest,
        "message_id": latest["message_id"],
        "input_channel": channel,
        "metadata": metadata or {},
    }
    return Tracker(
        sender_id=sender_id,
        slots=slots or {},
        latest_message=latest,
        events=[*(events or []), user_event],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


DOMAIN: dict[str, Any] = {
    "responses": {
        "utter_guess_ask_service_hours": [{"text": "问办事时间"}],
        "utter_guess_book_taxi": [{"text": "叫出租车"}],
    }
}
