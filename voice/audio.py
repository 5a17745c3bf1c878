"""Audio at the boundary: whatever comes in (WAV of any rate, width and channel count, or raw PCM
with its format stated) leaves as 16 kHz, 16-bit, mono PCM — the only format Vosk is given."""

import io
import wave
from dataclasses import dataclass

import numpy as np
import soxr

RATE = 16_000


class AudioError(ValueError):
    """Audio we cannot read; the message says why, for the log and the API's error."""


@dataclass(frozen=True)
class Pcm:
    """16 kHz 16-bit mono samples, little-endian bytes."""

    data: bytes

    @property
    def seconds(self) -> float:
        return len(self.data) / 2 / RATE


def _to_float(raw: bytes, width: int) -> np.ndarray:
    if width == 2:
        return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    if width == 1:  # 8-bit WAV is unsigned
        return (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    if width == 4:
        return np.frombuffer(raw, dtype="<i4").astype(np.float32) / 2147483648.0
    raise AudioError(f"unsupported sample width: {width * 8} bit")


def normalise(raw: bytes, *, rate: int, channels: int = 1, width: int = 2) -> Pcm:
    """Raw interleaved PCM → 16 kHz 16-bit mono (channels averaged, resampled with soxr)."""
    if not 8000 <= rate <= 192_000:
        raise AudioError(f"unsupported sample rate: {rate} Hz")
    if not 1 <= channels <= 8:
        raise AudioError(f"unsupported channel count: {channels}")
    frame = width * channels
    if len(raw) % frame:
        raw = raw[: len(raw) - len(raw) % frame]  # a torn last frame from a stream
    samples = _to_float(raw, width)
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    if rate != RATE and samples.size:
        samples = soxr.resample(samples, rate, RATE)
    pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2")
    return Pcm(pcm.tobytes())


def from_wav(data: bytes) -> Pcm:
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            if wav.getcomptype() != "NONE":
                raise AudioError(f"compressed WAV ({wav.getcompname()}) is not supported")
            raw = wav.readframes(wav.getnframes())
            return normalise(raw, rate=wav.getframerate(), channels=wav.getnchannels(), width=wav.getsampwidth())
    except (wave.Error, EOFError) as exc:
        raise AudioError(f"not a readable WAV file: {exc}") from exc


def to_wav(pcm: Pcm) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(pcm.data)
    return out.getvalue()
