"""Where a message came from: the REST-protocol channels (rest, webchat, kiosk) put the sender's
address in the message's metadata as `client`, the source the app counts wrong record lookups by.
Anyone may post to these webhooks with any metadata; only the app, proving itself with the
service token, may say where its residents are."""

from dataclasses import dataclass, field
from typing import Any

import pytest

from connectors.kiosk import KioskInput
from connectors.rest import RELAY_HEADER
from connectors.webchat import WebChatInput

TOKEN = "relay-test-token"


@dataclass
class Posted:
    """What the channel reads of a request (sanic's Request has these)."""

    json: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    ip: str = "203.0.113.9"
    remote_addr: str = ""


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINLI_SERVICE_TOKEN", TOKEN)


def metadata(posted: Posted) -> dict[str, Any]:
    found: dict[str, Any] = WebChatInput().get_metadata(posted)  # type: ignore[arg-type]
    return found


def test_a_stranger_cannot_choose_his_address() -> None:
    forged = Posted({"sender": "x", "message": "查一下", "metadata": {"client": "198.51.100.1", "kiosk_id": "lobby"}})
    assert metadata(forged) == {"client": "203.0.113.9", "kiosk_id": "lobby"}
    wrong_token = Posted(forged.json, headers={RELAY_HEADER: "guessed"})
    assert metadata(wrong_token)["client"] == "203.0.113.9"
    assert metadata(Posted({"sender": "x", "message": "hi"}))["client"] == "203.0.113.9"
    not_a_dict = Posted({"sender": "x", "message": "hi", "metadata": "client=1.2.3.4"})
    assert metadata(not_a_dict) == {"client": "203.0.113.9"}


def test_the_app_relays_the_residents_address() -> None:
    relayed = Posted(
        {"sender": "web-abc12345", "message": "查一下", "metadata": {"client": "198.51.100.1"}},
        headers={RELAY_HEADER: TOKEN},
        ip="127.0.0.1",
    )
    assert metadata(relayed)["client"] == "198.51.100.1"
    kiosk = KioskInput().get_metadata(relayed)  # type: ignore[arg-type]
    assert kiosk == {"client": "198.51.100.1"}


def test_without_a_token_configured_nobody_is_believed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LINLI_SERVICE_TOKEN")
    told = Posted({"sender": "x", "message": "hi", "metadata": {"client": "198.51.100.1"}}, headers={RELAY_HEADER: ""})
    assert metadata(told)["client"] == "203.0.113.9"


def test_a_proxys_forwarded_address_and_ipv6_brackets() -> None:
    assert metadata(Posted({"message": "hi"}, remote_addr="[2001:db8::5]"))["client"] == "2001:db8::5"


def test_a_message_longer_than_any_resident_says_is_cut_before_the_nlu() -> None:
    """(An independent tester held an engine at 17 GB with one 3 MB message.)"""
    from connectors.rest import MAX_MESSAGE

    said = WebChatInput()._extract_message(Posted({"sender": "x", "message": "字" * 1_000_000}))  # type: ignore[arg-type]
    assert said == "字" * MAX_MESSAGE
    assert WebChatInput()._extract_message(Posted({"sender": "x", "message": "居委会几点开门"})) == "居委会几点开门"  # type: ignore[arg-type]
