"""Speech out: pyttsx3 driving espeak-ng with the Mandarin voice `cmn-latn-pinyin` (espeak-ng
1.51's plain `cmn` voice spells pinyin letters), slower than usual for elderly listeners, slower
still for "说慢一点". Returns 16 kHz mono WAV; the same text at the same rate comes from a cache."""

import io
import itertools
import tempfile
import threading
import time
import wave
from collections import OrderedDict
from pathlib import Path

import pyttsx3

from voice import audio

VOICE = "cmn-latn-pinyin"
RATES = {"normal": 140, "slow": 105}  # words per minute; espeak's own default is 175
CACHE_SIZE = 256


def _written(path: Path, timeout: float = 10.0) -> bytes:
    """The WAV file once espeak has finished writing it. pyttsx3 2.99's espeak driver writes the
    file from espeak's end-of-message callback, which can come after runAndWait() returned."""
    deadline = time.monotonic() + timeout
    while True:
        if path.exists():
            data = path.read_bytes()
            try:
                with wave.open(io.BytesIO(data)) as wav:
                    if wav.getnframes() * wav.getsampwidth() * wav.getnchannels() <= len(data) - 44:
                        return data
            except (wave.Error, EOFError):
                pass  # still being written
        if time.monotonic() > deadline:
            raise RuntimeError(f"espeak-ng wrote no speech to {path}")
        time.sleep(0.01)


class Speaker:
    """One pyttsx3 engine per process; it is not thread-safe, so calls take turns."""

    def __init__(self, voice: str = VOICE) -> None:
        self._engine = pyttsx3.init("espeak")
        known = {v.id for v in self._engine.getProperty("voices")}
        chosen = next((v for v in (voice, f"sit/{voice}") if v in known), None)
        if chosen is None:
            raise RuntimeError(f"espeak-ng has no voice {voice!r}: install espeak-ng (Debian package)")
        self._engine.setProperty("voice", chosen)
        self._lock = threading.Lock()
        self._dir = tempfile.TemporaryDirectory(prefix="linli-tts-")
        self._count = itertools.count()
        self._cache: OrderedDict[tuple[str, str], bytes] = OrderedDict()

    def speak(self, text: str, *, speed: str = "normal") -> bytes:
        key = (text, speed)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            path = Path(self._dir.name) / f"speech-{next(self._count)}.wav"
            self._engine.setProperty("rate", RATES.get(speed, RATES["normal"]))
            self._engine.save_to_file(text, str(path))
            self._engine.runAndWait()
            try:
                wav = audio.to_wav(audio.from_wav(_written(path)))
            finally:
                path.unlink(missing_ok=True)
            self._cache[key] = wav
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
            return wav
