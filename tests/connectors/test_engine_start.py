"""connectors/engine.py hands Rasa its API token inside the process, in a form Rasa's own parser
reads whatever the token's first character (a generated one starts with "-" one time in 64)."""

import sys

import pytest
import rasa.__main__

from connectors import engine

TOKEN = "-Ab3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0xYz_q"  # as secrets.token_urlsafe may make it
OTHER = "Zy9Xw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe_dCbA"


def test_a_token_starting_with_a_dash_reaches_rasa_as_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENGINE_API_TOKEN", TOKEN)
    monkeypatch.setenv("ACTION_SERVER_TOKEN", OTHER)
    monkeypatch.setattr(sys, "argv", ["engine", "--enable-api", "--port", "5999"])
    started: list[list[str]] = []
    monkeypatch.setattr(rasa.__main__, "main", lambda: started.append(list(sys.argv)))
    assert engine.main() == 0
    (argv,) = started
    parsed = rasa.__main__.create_argument_parser().parse_args(argv[1:])
    assert parsed.auth_token == TOKEN and parsed.enable_api and parsed.port == 5999
    assert TOKEN not in " ".join(a for a in argv if not a.startswith("--auth-token="))


def test_a_weak_token_stops_the_engine(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ENGINE_API_TOKEN", "short")
    monkeypatch.setenv("ACTION_SERVER_TOKEN", OTHER)
    monkeypatch.setattr(rasa.__main__, "main", lambda: pytest.fail("rasa must not start"))
    assert engine.main() == 2
    assert "ENGINE_API_TOKEN" in capsys.readouterr().err
