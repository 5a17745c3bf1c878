"""The running stack tried as a stranger on the same network would (issue: locked doors): the
engine's HTTP API, the action server and the secrets. Each attempt fails for the stranger and the
rightful caller (our own tools, with the token) still gets through."""

import stat
from pathlib import Path

import httpx
from sqlalchemy import Engine

from bot.installation_secrets import NAMES, read
from bot.launcher import Stack
from tests.integration.conftest import Chat
from tests.integration.test_conversations import new_sender, rows
from tests.network import outward_address, reachable


def test_the_engines_api_wants_its_token(stack: Stack, chat: Chat) -> None:
    me = new_sender()
    chat.texts(me, "帮我叫部车 电话13812345678")  # a conversation holding a phone
    engine = stack.urls["engine"]
    stranger = httpx.Client(timeout=30)
    for token in (None, "", "guess", stack.secrets["ENGINE_API_TOKEN"][:-1]):
        params = {} if token is None else {"token": token}
        tracker = stranger.get(f"{engine}/conversations/{me}/tracker", params=params)
        assert tracker.status_code == 401 and "13812345678" not in tracker.text
        assert stranger.get(f"{engine}/status", params=params).status_code == 401
        assert stranger.delete(f"{engine}/model", params=params).status_code == 401
        assert stranger.put(f"{engine}/model", params=params, json={"model_file": "/tmp/x"}).status_code == 401
        execute = stranger.post(
            f"{engine}/conversations/{me}/execute", params=params, json={"name": "action_book_taxi"}
        )
        assert execute.status_code == 401
    # our own tools, with the token: the model is still loaded and the conversation is there
    assert httpx.get(stack.engine_api("/status"), timeout=30).json()["model_file"]
    events = chat.tracker(me)["events"]
    assert any(e.get("text") == "帮我叫部车 电话13812345678" for e in events)
    # and the residents' door stays open without any token
    assert chat.texts(new_sender(), "你好")


def test_a_hand_made_tracker_posted_to_the_action_server_books_nothing(stack: Stack, db: Engine) -> None:
    sender = new_sender()
    call = {
        "next_action": "action_emergency",
        "sender_id": sender,
        "tracker": {
            "sender_id": sender,
            "slots": {},
            "latest_message": {"text": "着火了", "intent": {"name": "emergency"}, "entities": []},
            "events": [],
            "paused": False,
            "active_loop": {},
        },
        "domain": {},
    }
    webhook = f"{stack.urls['actions']}/webhook"
    assert httpx.post(webhook, json=call, timeout=30).status_code == 401
    assert httpx.post(webhook, json=call, headers={"Authorization": "Bearer guess"}, timeout=30).status_code == 401
    assert rows(db, "SELECT id FROM alert WHERE sender_id = :s", s=sender) == []
    rightful = httpx.post(
        webhook, json=call, headers={"Authorization": f"Bearer {stack.secrets['ACTION_SERVER_TOKEN']}"}, timeout=30
    )
    assert rightful.status_code == 200
    assert len(rows(db, "SELECT id FROM alert WHERE sender_id = :s", s=sender)) == 1


def test_only_loopback_reaches_the_engine_the_action_server_and_the_app(stack: Stack) -> None:
    outward = outward_address()
    ports = {"engine": stack.engine_port, "actions": stack.actions_port, "app": stack.app_port}
    assert all(reachable("127.0.0.1", port) for port in ports.values())
    if outward is not None:  # a neighbour on the network reaches none of them directly
        assert [name for name, port in ports.items() if reachable(outward, port)] == []


def test_the_installations_secrets_are_its_own_private_and_never_on_a_command_line(stack: Stack) -> None:
    path: Path = stack.secrets_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    written = read(path)
    assert set(written) == set(NAMES) and written == stack.secrets
    for name, process in stack.processes.items():
        command_line = Path(f"/proc/{process.pid}/cmdline").read_bytes().decode()
        shown = [key for key, value in written.items() if value in command_line]
        assert shown == [], f"{name} shows {shown} in the process list"
        # and each process was given only the secrets it uses
        environment = Path(f"/proc/{process.pid}/environ").read_bytes().decode().split("\0")
        given = {entry.split("=", 1)[0] for entry in environment if "=" in entry} & set(NAMES)
        assert (
            given
            == {
                "app": {"SERVICE_TOKEN", "SESSION_SECRET"},
                "actions": {"ACTION_SERVER_TOKEN"},
                "engine": {"ENGINE_API_TOKEN", "ACTION_SERVER_TOKEN"},
            }[name]
        ), name
