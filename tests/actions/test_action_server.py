"""The action server as a stranger on the network meets it: a hand-made tracker posted to /webhook
raises nothing without the engine's token, and the engine's call (with it) still works. It listens
on loopback only, and does not start with a weak token."""

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.actions.conftest import ROOT, free_port, rows, tracker
from tests.network import outward_address, reachable

ENGINE_TOKEN = secrets.token_urlsafe(32)


def call(url: str, body: bytes | None = None, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read()


def start(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "actions.server", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


@pytest.fixture(scope="module")
def action_server(app_server: dict[str, Any]) -> Iterator[str]:
    from tests.actions.conftest import TOKEN

    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ACTION_SERVER_TOKEN": ENGINE_TOKEN,
        "LINLI_SERVICE_TOKEN": TOKEN,
        "LINLI_APP_URL": app_server["url"],
    }
    server = start(env, port)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not (_up(port) and call(f"{url}/health")[0] == 200):
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise RuntimeError(server.stdout.read().decode() if server.stdout else "did not start")
        time.sleep(0.3)
    yield url
    server.terminate()
    server.wait(10)


def _up(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def emergency_call(sender: str) -> bytes:
    state = tracker("燃气漏了好重的味道", "emergency", {"emergency_type": "燃气泄漏"}, sender_id=sender).current_state()
    return json.dumps({"next_action": "action_emergency", "sender_id": sender, "tracker": state, "domain": {}}).encode()


def test_a_hand_made_tracker_without_the_token_does_nothing(action_server: str, app_server: dict[str, Any]) -> None:
    for token in (None, "", "guess", ENGINE_TOKEN[:-1]):
        status, body = call(f"{action_server}/webhook", emergency_call("stranger-1"), token)
        assert status == 401 and b"gas" not in body
    assert rows(app_server["db"], "SELECT id FROM alert WHERE sender_id = ?", "stranger-1") == []
    assert call(f"{action_server}/actions")[0] == 401  # nor may the actions be listed
    assert call(f"{action_server}/health")[0] == 200  # the health check stays open: it tells nothing


def test_the_engines_call_with_the_token_runs_the_action(action_server: str, app_server: dict[str, Any]) -> None:
    status, body = call(f"{action_server}/webhook", emergency_call("engine-1"), ENGINE_TOKEN)
    assert status == 200 and b"utter_emergency_gas" in body
    assert rows(app_server["db"], "SELECT kind FROM alert WHERE sender_id = ?", "engine-1") == [("燃气泄漏",)]


def test_a_failing_call_does_not_send_the_request_back(action_server: str) -> None:
    secret_phone = b"13812345678"
    body = b'{"next_action": "action_emergency", "tracker": {"slots": {"taxi_phone": "13812345678"}}}'
    status, answer = call(f"{action_server}/webhook", body, ENGINE_TOKEN)
    assert status >= 400 and secret_phone not in answer


def test_it_listens_on_loopback_only(action_server: str) -> None:
    port = int(action_server.rsplit(":", 1)[1])
    outward = outward_address()
    if outward is None:
        pytest.skip("this machine has no address but loopback")
    assert reachable("127.0.0.1", port) and not reachable(outward, port)


@pytest.mark.parametrize("weak", ["", "dev-service-token-change-me", "short"])
def test_it_does_not_start_with_a_weak_token(weak: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ACTION_SERVER_TOKEN": weak, "LINLI_SERVICE_TOKEN": ENGINE_TOKEN}
    done = subprocess.run(
        [sys.executable, "-m", "actions.server", "--port", str(free_port())],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "ACTION_SERVER_TOKEN" in done.stderr
