"""The kiosk socket without a voice model and without the engine: it says so, in Chinese."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.config import get_settings
from voice import asr


def test_no_voice_model_means_touch_only(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOSK_MODEL_PATH", raising=False)
    monkeypatch.setattr(asr, "INSTALLED_MODEL", Path("/nonexistent/vosk-model"))  # even if downloaded here
    monkeypatch.setattr(get_settings(), "engine_url", "http://127.0.0.1:9")  # no engine there
    with client.websocket_connect("/kiosk/ws") as ws:
        ws.send_json({"type": "hello", "kiosk_id": "lobby-1"})
        ready = ws.receive_json()
        assert ready["type"] == "ready" and ready["voice"] is False and ready["session"].startswith("kiosk-")
        ws.send_json({"type": "listen"})
        assert "没有安装" in ws.receive_json()["message"]
        ws.send_json({"type": "text", "text": "居委会几点开门"})
        assert "暂时没有反应" in ws.receive_json()["message"]
        ws.send_text("not json")
        assert ws.receive_json() == {"type": "error", "message": "消息格式不对。"}
