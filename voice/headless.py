"""The kiosk without a screen: a box with a microphone and a speaker. The same pipeline as the
kiosk page (Vosk with endpointing → the engine's kiosk channel → pyttsx3 speech), driven by a
sound card through sounddevice (PortAudio), or by WAV files for testing and demonstrations.

    python -m voice [--kiosk-id ID] [--location 党群服务站] [--engine URL]
    python -m voice --input-wav said.wav --output-dir replies/   (no sound card needed)

The microphone is closed while the box speaks, so it never answers itself. After IDLE_SECONDS
without speech it starts a new conversation for the next person.
"""

import argparse
import asyncio
import contextlib
import logging
import secrets
import sys
import time
from collections.abc import Generator
from pathlib import Path
from typing import Protocol

from voice import asr, audio, bot_client, tts
from voice import text as chinese

CHUNK_SECONDS = 0.1
IDLE_SECONDS = 90
logger = logging.getLogger("voice")


class Microphone(Protocol):
    def utterance_chunks(self) -> Generator[bytes]:
        """16 kHz 16-bit mono PCM, chunk by chunk, until the source is closed or exhausted."""
        ...


class Loudspeaker(Protocol):
    def play(self, wav: bytes) -> None: ...


class SoundCardMicrophone:
    def __init__(self, device: str | None) -> None:
        import sounddevice  # type: ignore[import-untyped]  # PortAudio: Debian's libportaudio2

        self._sd = sounddevice
        self.device = device
        try:  # say now, not at the first word, that there is no usable microphone
            sounddevice.check_input_settings(device=device, samplerate=audio.RATE, channels=1, dtype="int16")
        except (sounddevice.PortAudioError, ValueError) as problem:
            raise OSError(f"microphone: {problem}") from problem

    def utterance_chunks(self) -> Generator[bytes]:
        frames = int(audio.RATE * CHUNK_SECONDS)
        with self._sd.RawInputStream(
            samplerate=audio.RATE, channels=1, dtype="int16", blocksize=frames, device=self.device
        ) as stream:
            while True:
                data, _overflowed = stream.read(frames)
                yield bytes(data)


class SoundCardSpeaker:
    def __init__(self, device: str | None) -> None:
        import numpy as np
        import sounddevice

        self._np, self._sd, self.device = np, sounddevice, device

    def play(self, wav: bytes) -> None:
        pcm = audio.from_wav(wav)
        self._sd.play(self._np.frombuffer(pcm.data, dtype="<i2"), audio.RATE, device=self.device, blocking=True)


class WavMicrophone:
    """A WAV file as the microphone, fed at most as fast as real time allows (`realtime`)."""

    def __init__(self, path: Path, *, realtime: bool = False) -> None:
        self.pcm = audio.from_wav(path.read_bytes())
        self.realtime = realtime
        self.position = 0

    def utterance_chunks(self) -> Generator[bytes]:
        step = int(audio.RATE * CHUNK_SECONDS) * 2
        while self.position < len(self.pcm.data):
            chunk = self.pcm.data[self.position : self.position + step]
            self.position += step
            if self.realtime:
                time.sleep(CHUNK_SECONDS)
            yield chunk


class WavFolderSpeaker:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def play(self, wav: bytes) -> None:
        self.count += 1
        (self.folder / f"reply-{self.count:03d}.wav").write_bytes(wav)


class HeadlessKiosk:
    def __init__(
        self,
        *,
        microphone: Microphone,
        speaker: Loudspeaker,
        engine_url: str,
        metadata: dict[str, str],
        recognizers: asr.RecognizerPool,
    ) -> None:
        self.microphone, self.speaker = microphone, speaker
        self.engine_url, self.metadata, self.recognizers = engine_url, metadata, recognizers
        self.voice = tts.Speaker()
        self.sender = self.new_sender()
        self.last_spoken = time.monotonic()

    @staticmethod
    def new_sender() -> str:
        return f"kiosk-{secrets.token_hex(6)}"

    def listen(self) -> str | None:
        """One utterance (ended by Vosk's endpointing), or None when the microphone has no more."""
        recognizer = self.recognizers.acquire()
        try:
            chunks = self.microphone.utterance_chunks()
            for chunk in chunks:
                event = recognizer.feed(chunk)
                if isinstance(event, asr.Final) and chinese.clean(event.text):
                    chunks.close()  # the microphone is closed while the box answers
                    return chinese.clean(event.text)
            heard = chinese.clean(recognizer.finish().text)
            return heard or None
        finally:
            self.recognizers.release(recognizer)

    def answer(self, heard: str) -> list[str]:
        if time.monotonic() - self.last_spoken > IDLE_SECONDS:
            self.sender = self.new_sender()  # a new person: a new conversation
            logger.info("conversation %s", self.sender)
        self.last_spoken = time.monotonic()
        try:
            messages = asyncio.run(
                bot_client.ask(self.engine_url, sender=self.sender, text=heard, metadata=self.metadata)
            )
        except bot_client.BotUnavailable as problem:
            logger.warning("engine unavailable: %s", problem)
            messages = [{"text": "对不起，助手暂时没有反应，请找工作人员。"}]
        words, speed = bot_client.spoken_text(messages)
        if words:
            self.speaker.play(self.voice.speak(words, speed=speed))
        return [m["text"] for m in messages if m.get("text")]

    def run(self) -> None:
        logger.info("conversation %s, speaking as %s", self.sender, self.metadata.get("kiosk_id"))
        while (heard := self.listen()) is not None:
            print(f"听到：{heard}", flush=True)
            for said in self.answer(heard):
                print(f"回答：{said}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", default="http://127.0.0.1:5005", help="the Rasa engine's URL")
    parser.add_argument("--kiosk-id", default="headless")
    parser.add_argument("--location", default="")
    parser.add_argument("--input-device", default=None, help="sounddevice's name or number for the microphone")
    parser.add_argument("--output-device", default=None)
    parser.add_argument("--input-wav", type=Path, help="read speech from this WAV instead of a microphone")
    parser.add_argument("--output-dir", type=Path, help="write each spoken reply here as WAV instead of playing it")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        recognizers = asr.recognizer_pool(str(asr.model_path()))
    except asr.VoiceNotInstalled as missing:
        print(f"语音没有安装：{missing}", file=sys.stderr)
        return 2
    try:
        microphone: Microphone = (
            WavMicrophone(args.input_wav) if args.input_wav else SoundCardMicrophone(args.input_device)
        )
        speaker: Loudspeaker = (
            WavFolderSpeaker(args.output_dir) if args.output_dir else SoundCardSpeaker(args.output_device)
        )
    except (OSError, audio.AudioError) as problem:  # sounddevice raises OSError without PortAudio
        print(f"没有可用的声音设备：{problem}", file=sys.stderr)
        return 2
    kiosk = HeadlessKiosk(
        microphone=microphone,
        speaker=speaker,
        engine_url=args.engine,
        metadata={"kiosk_id": args.kiosk_id[:64], "location": args.location[:64]},
        recognizers=recognizers,
    )
    with contextlib.suppress(KeyboardInterrupt):
        kiosk.run()
    return 0
