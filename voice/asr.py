"""Recognition with Vosk: one model per process, a streaming recognizer per utterance that yields
partial and final results (Vosk's endpointing ends an utterance at trailing silence), and a
grammar-restricted recognizer for the moments the dialogue expects one of a few answers."""

import json
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rapidfuzz import process

from voice import text as chinese
from voice.audio import RATE


@dataclass(frozen=True)
class Partial:
    text: str


@dataclass(frozen=True)
class Final:
    text: str


class VoiceNotInstalled(RuntimeError):
    """No Vosk model: the kiosk works by touch and says voice is not installed."""


# Where `make voice-model` unpacks the Chinese model; VOSK_MODEL_PATH may point at any other.
INSTALLED_MODEL = Path(__file__).resolve().parent.parent / "models" / "voice" / "vosk-model-small-cn-0.22"


def model_path() -> Path:
    configured = os.environ.get("VOSK_MODEL_PATH", "")
    for candidate in (Path(configured) if configured else None, INSTALLED_MODEL):
        if candidate is not None and candidate.is_dir():
            return candidate
    raise VoiceNotInstalled("no Vosk model: run `make voice-model` or set VOSK_MODEL_PATH")


@lru_cache
def load_model(path: str) -> object:
    """Loaded once per process (the small Chinese model takes a few seconds and ~100 MB)."""
    import vosk

    vosk.SetLogLevel(-1)
    return vosk.Model(path)


class Recognizer:
    """Feed 16 kHz 16-bit mono PCM in chunks; get Partial events, and a Final at each endpoint."""

    def __init__(self, model: object, *, grammar: list[str] | None = None) -> None:
        import vosk

        self.grammar = grammar
        if grammar:
            # Vosk wants the phrases as space-separated in-vocabulary words; "[unk]" takes the rest.
            self._rec = vosk.KaldiRecognizer(model, RATE, json.dumps([*grammar, "[unk]"], ensure_ascii=False))
        else:
            self._rec = vosk.KaldiRecognizer(model, RATE)

    def feed(self, pcm: bytes) -> Partial | Final:
        if self._rec.AcceptWaveform(pcm):
            return Final(self._result(self._rec.Result()))
        return Partial(chinese.join_chinese(json.loads(self._rec.PartialResult()).get("partial", "")))

    def finish(self) -> Final:
        return Final(self._result(self._rec.FinalResult()))

    def reset(self) -> None:
        self._rec.Reset()

    def _result(self, raw: str) -> str:
        heard = json.loads(raw).get("text", "").replace("[unk]", "").strip()
        return chinese.join_chinese(heard)


class RecognizerPool:
    """Free-speech recognizers, reused from one utterance to the next. Vosk composes its decoding
    graph lazily and keeps what it composed inside each recognizer: a fresh one spends about a
    second on its first words on this machine, a reused one a few tens of milliseconds
    (bench/voice_latency.py). `warm` decodes some speech once so even the first resident is quick."""

    KEEP = 4  # idle recognizers kept; more kiosks talking at once simply get fresh ones

    def __init__(self, model: object) -> None:
        self.model = model
        self._idle: list[Recognizer] = []
        self._lock = threading.Lock()
        self.warmed = False

    def acquire(self) -> Recognizer:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return Recognizer(self.model)

    def release(self, recognizer: Recognizer) -> None:
        if recognizer.grammar:
            return  # grammar recognizers are small and made for one question
        recognizer.reset()
        with self._lock:
            if len(self._idle) < self.KEEP:
                self._idle.append(recognizer)

    def warm(self, speech: bytes, chunk: int = 3200) -> None:
        """Once per pool; later calls return at once."""
        with self._lock:
            if self.warmed:
                return
            self.warmed = True
        recognizer = self.acquire()
        for start in range(0, len(speech), chunk):
            recognizer.feed(speech[start : start + chunk])
        recognizer.finish()
        self.release(recognizer)


@lru_cache
def recognizer_pool(path: str) -> RecognizerPool:
    return RecognizerPool(load_model(path))


def nearest_phrase(heard: str, phrases: list[str], *, cutoff: int = 60) -> str | None:
    """The expected answer closest to what was heard (spaces ignored), or None if none is close."""
    if not heard:
        return None
    choices = {p: "".join(p.split()) for p in phrases}
    found = process.extractOne("".join(heard.split()), choices, score_cutoff=cutoff)
    return found[2] if found else None
