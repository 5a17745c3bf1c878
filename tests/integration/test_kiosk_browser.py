"""The kiosk page in headless Chromium with a fake microphone that plays a WAV file: the page
streams it, shows a caption and the reply, and plays the reply's speech. Touch buttons alone
also reach the bot. The Korean model hears the Korean WAV (machinery, not Mandarin accuracy)."""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, Playwright, expect

from bot.launcher import Stack
from tests.integration.test_staff_browser import CHROMIUM, FLAGS, SHOTS
from voice import audio


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    said = subprocess.run(
        ["espeak-ng", "-v", "ko", "--stdout", "안녕하세요 감사합니다"], capture_output=True, check=True
    )
    quiet = np.random.default_rng(5).normal(0, 20, 16_000 * 3).astype("<i2").tobytes()
    # quiet before and after the words, so the recognizer's endpointing can fire
    padded = audio.Pcm(quiet[:16_000] + audio.from_wav(said.stdout).data + quiet)
    path = tmp_path_factory.mktemp("kiosk") / "speech.wav"
    path.write_bytes(audio.to_wav(padded))
    return path


@pytest.fixture(scope="module")
def mic_browser(playwright: Playwright, speech_wav: Path) -> Iterator[Browser]:
    fake_mic = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={speech_wav}",
        "--autoplay-policy=no-user-gesture-required",
    ]
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*FLAGS, *fake_mic])
    yield browser
    browser.close()


def test_the_page_streams_the_microphone_and_speaks_the_reply(mic_browser: Browser, stack: Stack) -> None:
    page = mic_browser.new_page(viewport={"width": 1280, "height": 1024}, locale="zh-CN")
    page.goto(f"{stack.urls['app']}/kiosk/?kiosk=lobby-test")
    expect(page.get_by_role("button", name="按一下说话")).to_be_enabled()
    page.get_by_role("button", name="按一下说话").click()
    expect(page.locator("#caption")).to_contain_text("听到", timeout=20_000)  # a live partial caption
    expect(page.locator("#caption")).to_contain_text("您说", timeout=30_000)  # the end of the utterance
    page.wait_for_function("window.linli.replies >= 1", timeout=30_000)
    page.wait_for_function("window.linli.played >= 1", timeout=30_000)
    assert page.locator("#reply").inner_text().strip()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "kiosk_voice.png"))
    page.close()


def test_touch_only_reaches_the_bot_and_shows_big_choices(mic_browser: Browser, stack: Stack) -> None:
    page = mic_browser.new_page(viewport={"width": 1280, "height": 1024}, locale="zh-CN")
    page.goto(f"{stack.urls['app']}/kiosk/")
    page.get_by_role("button", name="约爬楼机").click()
    expect(page.locator("#reply")).to_contain_text("手机号码", timeout=30_000)
    page.get_by_role("button", name="再说一遍").click()
    expect(page.locator("#reply")).to_contain_text("手机号码", timeout=30_000)
    page.close()
