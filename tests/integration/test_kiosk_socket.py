"""The kiosk's WebSocket through the running app: microphone audio in, caption, bot reply and
speech out. Vosk runs with the Korean model from PyPI (the stack points VOSK_MODEL_PATH at it), so
this checks the machinery — partials, the end of an utterance, a reply, WAV that decodes — not
Mandarin accuracy."""

import io
import json
import os
import re
import subprocess
import sys
import wave
from pathlib import Path
from typing import Any

import numpy as np
from websockets.sync.client import connect

from bot.launcher import Stack
from tests.integration.conftest import KOREAN_MODEL, Chat
from voice import asr, audio

CHUNK = 3200


def socket_url(stack: Stack) -> str:
    return stack.urls["app"].replace("http://", "ws://") + "/kiosk/ws"


def receive_until_audio(ws: Any) -> tuple[list[dict[str, Any]], bytes]:
    """JSON messages until the binary speech frame arrives."""
    seen: list[dict[str, Any]] = []
    while True:
        frame = ws.recv(timeout=60)
        if isinstance(frame, bytes):
            return seen, frame
        seen.append(json.loads(frame))
        if seen[-1]["type"] == "error":
            return seen, b""


def decode(wav: bytes) -> tuple[int, int, float]:
    with wave.open(io.BytesIO(wav)) as w:
        return w.getframerate(), w.getnchannels(), w.getnframes() / w.getframerate()


def test_touch_text_gets_a_reply_and_speech(stack: Stack, chat: Chat) -> None:
    with connect(socket_url(stack)) as ws:
        ws.send(json.dumps({"type": "hello", "kiosk_id": "lobby-1", "location": "党群服务站"}))
        ready = json.loads(ws.recv(timeout=30))
        assert ready["type"] == "ready" and ready["voice"] is True
        ws.send(json.dumps({"type": "text", "text": "居委会几点开门"}))
        seen, wav = receive_until_audio(ws)
    reply = next(m for m in seen if m["type"] == "reply")
    assert reply["messages"][0]["text"].startswith("居委会") and reply["speed"] == "normal"
    rate, channels, seconds = decode(wav)
    assert (rate, channels) == (16_000, 1) and seconds > 1.0
    user = [e for e in chat.tracker(ready["session"])["events"] if e["event"] == "user"]
    assert user[0]["input_channel"] == "kiosk" and user[0]["metadata"]["kiosk_id"] == "lobby-1"


def said_in(seen: list[dict[str, Any]]) -> str:
    reply = next(m for m in seen if m["type"] == "reply")
    return " ".join(m.get("text") or "" for m in reply["messages"])


def test_a_dropped_socket_goes_on_with_the_same_booking(stack: Stack, chat: Chat) -> None:
    """The page reconnects with resume=<its session>: the form half done is still open, so the
    pad's next answer is read as that answer. A made-up session id is not taken."""
    with connect(socket_url(stack)) as ws:
        ws.send(json.dumps({"type": "hello", "kiosk_id": "lobby-1"}))
        session = json.loads(ws.recv(timeout=30))["session"]
        ws.send(json.dumps({"type": "text", "text": "/book_taxi"}))
        seen, _ = receive_until_audio(ws)
    assert "手机号码" in said_in(seen)
    with connect(socket_url(stack)) as ws:
        ws.send(json.dumps({"type": "hello", "kiosk_id": "lobby-1", "resume": session}))
        assert json.loads(ws.recv(timeout=30))["session"] == session
        ws.send(json.dumps({"type": "text", "text": '/inform{"answer": "13812345678"}'}))
        seen, _ = receive_until_audio(ws)
    assert "上车" in said_in(seen)
    assert chat.tracker(session)["slots"]["taxi_phone"] == "13812345678"
    with connect(socket_url(stack)) as ws:
        ws.send(json.dumps({"type": "hello", "resume": "someone-else"}))
        assert json.loads(ws.recv(timeout=30))["session"] != "someone-else"


def test_speech_streams_partials_then_an_answer_with_audio(stack: Stack) -> None:
    said = subprocess.run(
        ["espeak-ng", "-v", "ko", "--stdout", "안녕하세요 감사합니다"], capture_output=True, check=True
    )
    pcm = audio.from_wav(said.stdout).data
    quiet = np.random.default_rng(3).normal(0, 20, 16_000 * 2).astype("<i2").tobytes()
    with connect(socket_url(stack)) as ws:
        ws.send(json.dumps({"type": "hello", "kiosk_id": "lobby-1"}))
        ws.recv(timeout=30)
        ws.send(json.dumps({"type": "listen"}))
        for i in range(0, len(pcm), CHUNK):
            ws.send(pcm[i : i + CHUNK])
        ws.send(json.dumps({"type": "stop"}))
        for i in range(0, len(quiet), CHUNK):  # after stop the recognizer is gone: ignored
            ws.send(quiet[i : i + CHUNK])
        seen, wav = receive_until_audio(ws)
    kinds = [m["type"] for m in seen]
    assert "partial" in kinds and "heard" in kinds and "reply" in kinds
    heard = next(m for m in seen if m["type"] == "heard")["text"]
    assert heard  # something was recognised (Korean words from Korean audio)
    assert decode(wav)[:2] == (16_000, 1)


def test_speech_with_buttons_on_screen_answers_as_the_button(stack: Stack, chat: Chat) -> None:
    """With buttons on screen recognition is restricted to their words, and what is heard goes to
    the bot as the nearest button's payload, as if it had been touched."""
    said = subprocess.run(["espeak-ng", "-v", "ko", "--stdout", "감사합니다"], capture_output=True, check=True)
    pcm = audio.from_wav(said.stdout).data + np.random.default_rng(6).normal(0, 20, 16_000).astype("<i2").tobytes()
    buttons = [{"title": "감사합니다", "payload": "/affirm"}, {"title": "안녕하세요", "payload": "/greet"}]
    with connect(socket_url(stack)) as ws:
        ws.send(json.dumps({"type": "hello", "kiosk_id": "lobby-1"}))
        session = json.loads(ws.recv(timeout=30))["session"]
        ws.send(json.dumps({"type": "listen", "expect": buttons}))
        for i in range(0, len(pcm), CHUNK):
            ws.send(pcm[i : i + CHUNK])
        ws.send(json.dumps({"type": "stop"}))
        seen, _ = receive_until_audio(ws)
    heard = next(m for m in seen if m["type"] == "heard")["text"]
    assert heard in ("감사합니다", "안녕하세요")
    user = [e for e in chat.tracker(session)["events"] if e["event"] == "user"]
    payload = next(b["payload"] for b in buttons if b["title"] == heard)
    assert user[-1]["text"] == payload


def test_an_utterance_with_nothing_heard_asks_again(stack: Stack) -> None:
    with connect(socket_url(stack)) as ws:
        ws.send(json.dumps({"type": "hello"}))
        ws.recv(timeout=30)
        ws.send(json.dumps({"type": "listen"}))
        ws.send(json.dumps({"type": "stop"}))
        seen = [json.loads(ws.recv(timeout=30)) for _ in range(2)]
    assert seen[0] == {"type": "heard", "text": ""}
    assert seen[1]["type"] == "error" and "没有听清楚" in seen[1]["message"]


def test_the_headless_kiosk_runs_the_same_pipeline_from_a_wav(stack: Stack, chat: Chat, tmp_path: Path) -> None:
    """`python -m voice` with a WAV for a microphone and a folder for a speaker: two utterances
    with a pause between them, two answers spoken, through the engine's kiosk channel."""
    said = subprocess.run(
        ["espeak-ng", "-v", "ko", "--stdout", "안녕하세요 감사합니다"], capture_output=True, check=True
    )
    words = audio.from_wav(said.stdout).data
    quiet = np.random.default_rng(4).normal(0, 20, 16_000 * 2).astype("<i2").tobytes()
    (tmp_path / "said.wav").write_bytes(audio.to_wav(audio.Pcm(quiet + words + quiet + words + quiet)))
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "voice",
            "--engine",
            stack.urls["engine"],
            "--kiosk-id",
            "box-7",
            "--input-wav",
            str(tmp_path / "said.wav"),
            "--output-dir",
            str(tmp_path / "replies"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "VOSK_MODEL_PATH": str(KOREAN_MODEL)},
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("听到：") == 2 and run.stdout.count("回答：") >= 2, run.stdout
    replies = sorted((tmp_path / "replies").glob("reply-*.wav"))
    assert len(replies) == 2 and all(decode(r.read_bytes())[:2] == (16_000, 1) for r in replies)
    sender = re.search(r"conversation (kiosk-[0-9a-f]+)", run.stderr)
    assert sender, run.stderr
    user = [e for e in chat.tracker(sender.group(1))["events"] if e["event"] == "user"]
    assert len(user) == 2 and user[0]["input_channel"] == "kiosk" and user[0]["metadata"]["kiosk_id"] == "box-7"


def test_the_headless_kiosk_says_plainly_what_is_missing(tmp_path: Path) -> None:
    def headless(model: Path, wav: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "voice", "--input-wav", str(wav), "--output-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            env={**os.environ, "VOSK_MODEL_PATH": str(model)},
            timeout=60,
        )

    no_sound = headless(KOREAN_MODEL, tmp_path / "missing.wav")
    assert no_sound.returncode == 2 and "没有可用的声音设备" in no_sound.stderr
    if not asr.INSTALLED_MODEL.is_dir():  # a model from `make voice-model` would be found instead
        no_model = headless(tmp_path / "no-model", tmp_path / "missing.wav")
        assert no_model.returncode == 2 and "语音没有安装" in no_model.stderr
