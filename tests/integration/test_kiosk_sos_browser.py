"""The kiosk's 紧急求助 in real Chromium, on a landscape and a portrait screen: one touch, from the
start screen or mid-form with the number pad open, shows the four numbers and tells staff (an
alert row with the kiosk's id and location, in the staff alert bar's list); with the engine down
the alert still goes, and with the app silent the numbers still show and the page says staff
could not be told."""

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, WebSocketRoute, expect
from sqlalchemy import Engine

from bot.launcher import Stack
from tests.integration.kiosk_page import SCREENS, latin_on_screen
from tests.integration.test_conversations import rows
from tests.integration.test_staff_browser import CHROMIUM, FLAGS, SHOTS

NUMBERS = ["120", "119", "110", "962777"]
TOLD = "已经通知工作人员。"
NOT_TOLD = "没能通知到工作人员，请直接拨打上面的电话。"


@pytest.fixture(scope="module")
def kiosk_browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
    yield browser
    browser.close()


def open_kiosk(browser: Browser, stack: Stack, screen: tuple[int, int], kiosk: str, *, wait: bool = True) -> Page:
    page = browser.new_page(viewport={"width": screen[0], "height": screen[1]}, locale="zh-CN")
    page.goto(f"{stack.urls['app']}/kiosk/?kiosk={kiosk}&where=党群服务站")
    if wait:
        page.wait_for_function("() => Boolean(window.linli.session)")
    return page


def session_of(page: Page) -> str:
    return str(page.evaluate("() => window.linli.session"))


def shot(page: Page, name: str, screen: tuple[int, int]) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"kiosk_sos_{name}_{screen[0]}x{screen[1]}.png"))


# For every element the selector finds: on screen, not covered, its text big (and not wider than it).
LAYOUT = """(selector) => [...document.querySelectorAll(selector)].map((el) => {
  const box = el.getBoundingClientRect();
  const top = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
  const hasText = (e) => [...e.childNodes].some((n) => n.nodeType === 3 && n.data.trim());
  const texts = [el, ...el.querySelectorAll('*')].filter(hasText);
  const sizes = texts.map((e) => parseFloat(getComputedStyle(e).fontSize));
  const inside = box.top >= 0 && box.left >= 0 && box.bottom <= innerHeight && box.right <= innerWidth;
  const fits = texts.every((e) => e.scrollWidth <= el.clientWidth);
  return { text: el.innerText, inside, uncovered: el.contains(top), smallest: Math.min(...sizes), fits };
})"""


def check_emergency_screen(page: Page) -> None:
    screen = page.locator("#sos-screen")
    expect(screen).to_be_visible()
    tiles = screen.locator(".tile .number")
    expect(tiles).to_have_text(NUMBERS)
    for what in ("急救", "火警", "报警", "燃气抢修"):
        expect(screen.locator(".tile .what", has_text=what)).to_be_visible()
    layout: list[dict[str, Any]] = page.evaluate(LAYOUT, "#sos-screen .tile, #sos-screen button")
    assert len(layout) == 6, layout  # four tiles, two buttons
    for item in layout:
        assert item["inside"] and item["uncovered"] and item["fits"] and item["smallest"] >= 40, item
    assert page.locator("#sos-state").evaluate("(e) => parseFloat(getComputedStyle(e).fontSize)") >= 48
    assert latin_on_screen(page) == []  # nothing in Latin letters on the resident's screen


def alerts_of(db: Engine, session: str) -> list[tuple[object, ...]]:
    return rows(db, "SELECT kind, place, channel, message FROM alert WHERE sender_id = :s ORDER BY id", s=session)


def in_alert_bar(staff: httpx.Client, place: str) -> list[str]:
    response = staff.get("/api/staff/alerts")
    assert response.status_code == 200
    return [a["label"] for a in response.json() if a["where"] == place]


@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_sos_from_the_start_screen_shows_the_numbers_and_tells_staff_once(
    kiosk_browser: Browser, stack: Stack, db: Engine, staff: httpx.Client, screen: tuple[int, int]
) -> None:
    kiosk = f"start-{screen[0]}"
    page = open_kiosk(kiosk_browser, stack, screen, kiosk)
    session = session_of(page)
    sos = page.locator("#sos")
    expect(sos).to_have_text("紧急求助")
    sos.dispatch_event("click")
    sos.dispatch_event("click")  # a double tap: the second touch lands before the first is answered
    check_emergency_screen(page)
    expect(page.locator("#sos-state")).to_have_text(TOLD, timeout=10_000)
    shot(page, "start", screen)
    place = f"党群服务站 {kiosk}"
    assert alerts_of(db, session) == [("未分类", place, "kiosk", "自助机上按了紧急求助")]
    assert in_alert_bar(staff, place) == ["紧急求助·未分类"]
    page.close()


@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_sos_mid_taxi_form_with_the_pad_open_then_staff_come_then_home(
    kiosk_browser: Browser, stack: Stack, db: Engine, screen: tuple[int, int]
) -> None:
    kiosk = f"taxi-{screen[0]}"
    page = open_kiosk(kiosk_browser, stack, screen, kiosk)
    session = session_of(page)
    page.get_by_role("button", name="叫出租车").click()
    pad = page.locator("#entry .pad")
    expect(pad).to_be_visible(timeout=30_000)
    for digit in "139":
        pad.get_by_role("button", name=digit, exact=True).click()
    expect(page.locator("#menu")).to_be_hidden()  # the pad takes the screen, 紧急求助 stays
    sos = page.locator("#sos")
    expect(sos).to_be_visible()
    # 紧急求助, every key of the pad and 不办了: on screen and none covered by another
    for item in page.evaluate(LAYOUT, "#sos, #entry button"):
        assert item["inside"] and item["uncovered"] and item["smallest"] >= 34, item
    shot(page, "pad_open", screen)
    sos.click()
    check_emergency_screen(page)
    expect(page.locator("#sos-state")).to_have_text(TOLD, timeout=10_000)
    place = f"党群服务站 {kiosk}"
    assert alerts_of(db, session) == [("未分类", place, "kiosk", "自助机上按了紧急求助")]
    page.get_by_role("button", name="请工作人员过来").click()
    expect(page.locator("#sos-state")).to_have_text("已经请工作人员过来，请在这里等。", timeout=10_000)
    shot(page, "staff_come", screen)
    assert [r[3] for r in alerts_of(db, session)] == [
        "自助机上按了紧急求助",
        "自助机上按了“请工作人员过来”：请马上去自助机",
    ]
    page.locator("#sos-screen").get_by_role("button", name="回到首页").click()
    expect(page.locator("#sos-screen")).to_be_hidden()
    expect(page.locator("#menu")).to_be_visible()
    expect(page.locator("#entry .pad")).to_have_count(0)
    page.wait_for_function("(old) => window.linli.session && window.linli.session !== old", arg=session)
    page.close()


@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_with_the_app_silent_the_numbers_show_and_the_page_says_staff_were_not_told(
    kiosk_browser: Browser, stack: Stack, screen: tuple[int, int]
) -> None:
    def silent(ws: WebSocketRoute) -> None:
        """The kiosk socket opens but nothing answers: no ready, no reply, no alert."""

    page = kiosk_browser.new_page(viewport={"width": screen[0], "height": screen[1]}, locale="zh-CN")
    page.route_web_socket(re.compile(r"/kiosk/ws$"), silent)
    page.goto(f"{stack.urls['app']}/kiosk/?kiosk=silent&where=党群服务站")
    page.locator("#sos").click()
    check_emergency_screen(page)  # at once, from the page itself
    expect(page.locator("#sos-state")).to_have_text("正在通知工作人员……")
    expect(page.locator("#sos-state")).to_have_text(NOT_TOLD, timeout=15_000)
    shot(page, "not_told", screen)
    page.close()


def test_with_the_socket_closed_the_numbers_show_and_staff_are_told_once_it_is_back(
    kiosk_browser: Browser, stack: Stack, db: Engine
) -> None:
    refused = {"on": True}

    def closing(ws: WebSocketRoute) -> None:
        if refused["on"]:
            ws.close()
        else:
            ws.connect_to_server()

    page = kiosk_browser.new_page(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    page.route_web_socket(re.compile(r"/kiosk/ws$"), closing)
    page.goto(f"{stack.urls['app']}/kiosk/?kiosk=closed&where=党群服务站")
    page.locator("#sos").click()
    check_emergency_screen(page)
    expect(page.locator("#sos-state")).to_have_text(NOT_TOLD)
    refused["on"] = False  # the network is back: the page reconnects and sends the sos it kept
    expect(page.locator("#sos-state")).to_have_text(TOLD, timeout=15_000)
    assert alerts_of(db, session_of(page)) == [("未分类", "党群服务站 closed", "kiosk", "自助机上按了紧急求助")]
    page.close()


def test_with_the_engine_down_the_kiosk_still_tells_staff(kiosk_browser: Browser, stack: Stack, db: Engine) -> None:
    """Last in this file: the engine is stopped, and started again for the tests after it."""
    stack.stop("engine")
    try:
        for screen in SCREENS:
            kiosk = f"no-engine-{screen[0]}"
            page = open_kiosk(kiosk_browser, stack, screen, kiosk)
            page.get_by_role("button", name="叫出租车").click()
            expect(page.locator("#caption")).to_contain_text("暂时没有反应", timeout=30_000)
            page.locator("#sos").click()
            check_emergency_screen(page)
            expect(page.locator("#sos-state")).to_have_text(TOLD, timeout=10_000)
            shot(page, "no_engine", screen)
            assert alerts_of(db, session_of(page)) == [
                ("未分类", f"党群服务站 {kiosk}", "kiosk", "自助机上按了紧急求助")
            ]
            page.close()
    finally:
        stack.start_engine()
        stack.wait_until_ready()
