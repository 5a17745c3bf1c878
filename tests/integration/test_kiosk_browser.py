"""The kiosk page in headless Chromium with a fake microphone that plays a WAV file: the page
streams it, shows a caption and the reply, and plays the reply's speech. Touch buttons alone
alone book a stair-climber. The Korean model hears the Korean WAV (machinery, not Mandarin accuracy)."""

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Browser, Page, Playwright, WebSocketRoute, expect
from sqlalchemy import Engine

from bot.launcher import Stack
from tests.integration.kiosk_page import KIOSK_SOCKET
from tests.integration.test_conversations import rows
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


def relay_and_record(page: Page) -> list[dict[str, Any]]:
    """The page's socket goes to the app as always; the JSON frames it sends are kept, in order."""
    sent: list[dict[str, Any]] = []

    def relay(ws: WebSocketRoute) -> None:
        app = ws.connect_to_server()

        def to_app(message: str | bytes) -> None:
            if isinstance(message, str):
                sent.append(json.loads(message))
            app.send(message)

        ws.on_message(to_app)

    page.route_web_socket(KIOSK_SOCKET, relay)
    return sent


def test_the_page_streams_the_microphone_and_speaks_the_reply(mic_browser: Browser, stack: Stack) -> None:
    page = mic_browser.new_page(viewport={"width": 1280, "height": 1024}, locale="zh-CN")
    page.goto(f"{stack.urls['app']}/kiosk/?kiosk=lobby-test")
    # shown once the app says it has a voice model (its first session loads the model: seconds)
    expect(page.get_by_role("button", name="按一下说话")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="按一下说话").click()
    # a live caption while listening (counted by the page: it may last only a moment), then the end
    page.wait_for_function("() => window.linli.partials >= 1", timeout=30_000)
    expect(page.locator("#caption")).to_contain_text("您说", timeout=30_000)
    page.wait_for_function("() => window.linli.replies >= 1", timeout=30_000)
    page.wait_for_function("() => window.linli.played >= 1", timeout=30_000)
    assert page.locator("#reply").inner_text().strip()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "kiosk_voice.png"))
    page.close()


def test_a_stair_climber_is_booked_by_touch_alone(mic_browser: Browser, stack: Stack, db: Engine) -> None:
    """No speaking, no typing: the menu button, the number pad, the building/floor/room pad, the
    direction, the soonest free slot, the purpose, and 对 on the confirmation screen."""
    page = mic_browser.new_page(viewport={"width": 1280, "height": 1024}, locale="zh-CN")
    sent = relay_and_record(page)
    page.goto(f"{stack.urls['app']}/kiosk/?kiosk=lobby-touch")
    session = page.wait_for_function("() => window.linli.session").json_value()
    page.get_by_role("button", name="约爬楼机").click()
    expect(page.locator("#reply")).to_contain_text("手机号码", timeout=30_000)
    expect(page.locator("#menu")).to_be_hidden()  # the pad takes the screen
    pad = page.locator("#entry")
    for digit in "13912345678":
        pad.get_by_role("button", name=digit, exact=True).click()
    expect(pad.locator(".typed")).to_have_text("13912345678")
    pad.get_by_role("button", name="确定").click()
    expect(page.locator("#reply")).to_contain_text("几号楼", timeout=30_000)
    for digits in ("5", "6", "602"):
        for digit in digits:
            pad.get_by_role("button", name=digit, exact=True).click()
        pad.get_by_role("button", name=re.compile("下一步|确定")).click()
    expect(page.locator("#reply")).to_contain_text("往返", timeout=30_000)
    page.locator("#choices").get_by_role("button", name="下楼").click()
    expect(page.locator("#reply")).to_contain_text("什么时间", timeout=30_000)
    first_slot = page.locator("#choices button").first
    slot_title = first_slot.inner_text()
    first_slot.click()
    expect(page.locator("#reply")).to_contain_text("做什么", timeout=30_000)
    page.locator("#choices").get_by_role("button", name="去医院看病").click()
    expect(page.locator("#reply")).to_contain_text("对吗", timeout=30_000)
    expect(page.locator("#answer")).to_have_class(re.compile("confirm"))
    assert slot_title in page.locator("#reply").inner_text()  # the slot tapped is the one read back
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "kiosk_confirm.png"))
    page.locator("#choices").get_by_role("button", name="对", exact=True).click()
    expect(page.locator("#reply")).to_contain_text("编号", timeout=30_000)
    # what the page's own buttons sent are intents: the menu's, and the pads' answers; a reply's
    # buttons send their payloads as they came (下楼, the slot, the purpose: the dialogue's own)
    texts = [f["text"] for f in sent if f.get("type") == "text"]
    assert texts[:3] == ["/book_stair_climber", '/inform{"answer":"13912345678"}', '/inform{"answer":"5号楼6楼602室"}']
    assert texts[-1] == "/affirm" and len(texts) == 7, texts
    booked_number = page.locator("#reply .num").filter(has_text=re.compile(r"^5\d{3} \d{4}$"))
    numbers = set(booked_number.all_inner_texts())  # shown big (said twice: "约好了，编号…（编号…）")
    assert len(numbers) == 1
    number = numbers.pop().replace(" ", "")  # shown in two groups of four, stored as eight digits
    page.screenshot(path=str(SHOTS / "kiosk_booked.png"))
    booked = rows(
        db,
        "SELECT building, floor, room, direction, purpose, phone, channel FROM climber_booking WHERE number = :n",
        n=number,
    )
    assert booked == [("5号楼", 6, "602", "下楼", "去医院看病", "13912345678", "kiosk")]
    assert rows(db, "SELECT sender_id FROM climber_booking WHERE number = :n", n=number) == [(session,)]
    page.close()


def test_a_booking_number_is_typed_on_the_pad_in_two_fours(mic_browser: Browser, stack: Stack) -> None:
    """The status question's pad takes eight digits (or six, for a number issued before), shows
    them as the paper prints them, and sends them; a number one digit off is told to be checked."""
    page = mic_browser.new_page(viewport={"width": 1280, "height": 1024}, locale="zh-CN")
    page.goto(f"{stack.urls['app']}/kiosk/?kiosk=lobby-pad")
    page.wait_for_function("() => Boolean(window.linli.session)")
    page.get_by_role("button", name="我的预约/报修").click()
    expect(page.locator("#reply")).to_contain_text("八位数字", timeout=30_000)
    pad = page.locator("#entry")
    done = pad.get_by_role("button", name="确定")
    for digit in "305127":
        pad.get_by_role("button", name=digit, exact=True).click()
    expect(pad.locator(".typed")).to_have_text("3051 27")
    expect(done).to_be_enabled()  # six digits: a number issued before
    pad.get_by_role("button", name="2", exact=True).click()
    expect(done).to_be_disabled()  # seven: no number has seven
    pad.get_by_role("button", name="4", exact=True).click()
    expect(pad.locator(".typed")).to_have_text("3051 2724")
    expect(done).to_be_enabled()
    pad.get_by_role("button", name="9", exact=True).click()  # a ninth digit is not taken
    expect(pad.locator(".typed")).to_have_text("3051 2724")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "kiosk_number_pad.png"))
    done.click()  # 3051 2724: the check digit says it cannot be a number
    expect(page.locator("#reply")).to_contain_text("对不上", timeout=30_000)
    page.close()
