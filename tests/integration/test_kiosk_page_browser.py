"""The kiosk page itself in real Chromium, by touch alone (clicks, no keyboard), on a landscape
and a portrait screen: the app serves the page, and the test plays the app's side of the socket
(kiosk_page.FakeApp), so what the page sends and how it lays out each step is checked without
the engine. Every touch sends an intent payload; every control is on screen, clear of the footer,
with 紧急求助 and 回到首页 on every step; no talk button without voice; "您还在吗？" before
anything is cleared."""

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from bot.launcher import Stack
from tests.integration.conftest import PORT_OFFSET
from tests.integration.kiosk_page import SCREENS, FakeApp, ask, check_controls, entry, latin_on_screen, shot
from tests.integration.test_staff_browser import CHROMIUM, FLAGS

PHONE = entry("digits", label="手机号码", length=11)
NUMBER = entry("digits", label="编号", lengths=[8, 6])
ADDRESS = entry("address")
FLOOR = entry("number", label="几楼", suffix="楼")
TIME = entry("time")
YES_NO = [{"title": "对", "payload": "/affirm"}, {"title": "不对", "payload": "/deny"}]
PLACES = ["瑞金医院", "中山医院", "华山医院", "第六人民医院", "社区卫生服务中心", "区中心医院", "火车站", "其他地方"]


def inform(words: str) -> str:
    return "/inform" + json.dumps({"answer": words}, ensure_ascii=False, separators=(",", ":"))


# A taxi booked by touch, as the dialogue will ask for it: what the fake app answers each payload.
TAXI = {
    "/book_taxi": ask("请按一下您的手机号码，司机会打这个电话联系您。", entry_spec=PHONE),
    inform("13812345678"): ask("您在哪里上车？请按几号楼、几楼。", entry_spec=ADDRESS),
    inform("5号楼6楼602室"): ask(
        "去哪里？",
        [{"title": p, "payload": "/inform" + json.dumps({"answer": p}, ensure_ascii=False)} for p in PLACES],
    ),
    '/inform{"answer": "瑞金医院"}': ask(
        "什么时候用车？比如：现在、明天上午九点。", [{"title": "现在", "payload": inform("现在")}], TIME
    ),
    inform("明天上午9点"): ask("好的，明天上午9点从5号楼6楼602室到瑞金医院，电话13812345678，对吗？", YES_NO),
}


@pytest.fixture(scope="module")
def app_alone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Only the app (it serves the page; the socket's other side is the test's): up in seconds."""
    tmp: Path = tmp_path_factory.mktemp("kiosk-page")
    running = Stack(
        engine_port=5106 + PORT_OFFSET,
        actions_port=5156 + PORT_OFFSET,
        app_port=8106 + PORT_OFFSET,
        database_url=f"sqlite:///{tmp / 'linli.db'}",
        log_dir=tmp / "logs",
        secrets_file=tmp / "secrets.env",
    )
    try:
        running.prepare_database()
        running.start_app()
        running.wait_until_ready(60)
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def kiosk_browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
    yield browser
    browser.close()


def open_page(browser: Browser, app: Stack, fake: FakeApp, screen: tuple[int, int], query: str = "") -> Page:
    page = browser.new_page(viewport={"width": screen[0], "height": screen[1]}, locale="zh-CN")
    fake.attach(page)
    page.goto(f"{app.urls['app']}/kiosk/?kiosk=page-test{query}")
    page.wait_for_function("() => Boolean(window.linli.session)")
    return page


def sent_after(fake: FakeApp, before: int) -> list[str]:
    return fake.texts()[before:]


def touch_digits(page: Page, digits: str) -> None:
    pad = page.locator("#entry .pad")
    for digit in digits:
        pad.get_by_role("button", name=digit, exact=True).click()


@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_step_of_a_taxi_by_touch_fits_the_screen_and_sends_payloads(
    kiosk_browser: Browser, app_alone: Stack, screen: tuple[int, int]
) -> None:
    fake = FakeApp(replies=TAXI)
    page = open_page(kiosk_browser, app_alone, fake, screen)
    # The start screen, without voice: no talk button, "请按", six menu buttons and the footer's two.
    expect(page.locator("#reply")).to_have_text("您好！请按下面的按钮。")
    expect(page.locator("#talk")).to_be_hidden()
    assert "说话" not in page.locator("body").inner_text()
    seen = check_controls(page)
    assert [s["text"] for s in seen] == [
        "回到首页", "紧急求助", "叫出租车", "约爬楼机", "我要报修", "办事时间", "政策咨询", "我的预约/报修",
        "再说一遍", "说慢一点", "找工作人员",
    ]  # fmt: skip
    assert latin_on_screen(page) == []
    shot(page, "start", screen)

    page.get_by_role("button", name="叫出租车").click()
    expect(page.locator("#entry .pad")).to_be_visible()
    expect(page.locator("#menu")).to_be_hidden()  # the menu steps aside; 紧急求助 and 回到首页 stay
    quit_button = page.get_by_role("button", name="不办了")
    assert quit_button.bounding_box()["height"] >= 120  # type: ignore[index]
    touch_digits(page, "13812345678")
    expect(page.locator("#entry .typed")).to_have_text("13812345678")
    check_controls(page)
    assert latin_on_screen(page) == []
    shot(page, "pad_phone", screen)
    page.get_by_role("button", name="确定").click()

    # the address in three steps: 几号楼, 几楼, 几室 (may be skipped)
    expect(page.locator("#entry .label")).to_have_text("请按几号楼：")
    for digits, label in (("5", "请按几楼："), ("6", "请按几室（不知道可以跳过）：")):
        check_controls(page)
        touch_digits(page, digits)
        page.get_by_role("button", name="下一步").click()
        expect(page.locator("#entry .label")).to_have_text(label)
    touch_digits(page, "602")
    check_controls(page)
    shot(page, "pad_address", screen)
    page.get_by_role("button", name="确定").click()

    # more than six choices: all on screen, none under the footer
    expect(page.locator("#choices button")).to_have_count(len(PLACES))
    expect(page.locator("#menu")).to_be_visible()
    check_controls(page)
    shot(page, "choices", screen)
    page.locator("#choices").get_by_role("button", name="瑞金医院").click()

    # the day, then one of twelve hours (with 现在 offered as a choice too)
    expect(page.locator("#entry .label")).to_have_text("请按哪一天：")
    check_controls(page)
    page.get_by_role("button", name="明天").click()
    expect(page.locator("#entry .pad button")).to_have_count(13)  # twelve hours and 换一天
    check_controls(page)
    assert latin_on_screen(page) == []
    shot(page, "time_picker", screen)
    page.get_by_role("button", name="上午9点").click()

    # the read-back: a confirmation screen, because its buttons say /affirm and /deny
    expect(page.locator("#answer")).to_have_class(re.compile("confirm"))
    expect(page.locator("#choices .yes")).to_have_text("对")
    expect(page.locator("#choices .no")).to_have_text("不对")
    check_controls(page)
    shot(page, "confirm", screen)
    page.locator("#choices .yes").click()

    assert fake.texts() == [
        "/book_taxi",
        '/inform{"answer":"13812345678"}',
        '/inform{"answer":"5号楼6楼602室"}',
        '/inform{"answer": "瑞金医院"}',  # a reply's button: its payload exactly as it came
        '/inform{"answer":"明天上午9点"}',
        "/affirm",
    ]
    page.close()


@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_floor_and_number_pads_fit_and_send_the_typed_answer(
    kiosk_browser: Browser, app_alone: Stack, screen: tuple[int, int]
) -> None:
    fake = FakeApp(
        replies={
            "/book_stair_climber": ask("5号楼几楼？", entry_spec=FLOOR),
            "/check_status": ask(
                # two lines on a landscape screen, with a button beside the pad: the longest step
                "请按一下编号，就是登记时告诉您的八位数字（以前登记的是六位）。记不得也没关系，请按“记不得”。",
                [{"title": "记不得", "payload": inform("记不得")}],
                NUMBER,
            ),
            inform("30512743"): ask("这个编号没有找到，请再按一遍。", entry_spec=NUMBER),
        }
    )
    page = open_page(kiosk_browser, app_alone, fake, screen)
    page.get_by_role("button", name="约爬楼机").click()
    expect(page.locator("#entry .label")).to_have_text("请按几楼：")
    touch_digits(page, "12")
    expect(page.locator("#entry .typed")).to_have_text("12楼")
    check_controls(page)
    shot(page, "pad_floor", screen)
    page.get_by_role("button", name="确定").click()
    page.get_by_role("button", name="回到首页").click()  # a fresh start: a new conversation
    page.wait_for_function("() => window.linli.session === 'kiosk-fake2'")
    expect(page.locator("#menu")).to_be_visible()
    page.get_by_role("button", name="我的预约/报修").click()
    expect(page.locator("#entry .label")).to_have_text("请按编号：")
    touch_digits(page, "30512743")
    expect(page.locator("#entry .typed")).to_have_text("3051 2743")
    check_controls(page)  # the pad and 记不得 together
    shot(page, "pad_number", screen)
    page.get_by_role("button", name="确定").click()
    page.wait_for_function("() => window.linli.replies >= 4")
    page.locator("#entry").get_by_role("button", name="不办了").click()
    assert fake.texts() == [
        "/book_stair_climber",
        '/inform{"answer":"12楼"}',
        "/check_status",
        '/inform{"answer":"30512743"}',
        '/inform{"answer":"不办了"}',
    ]
    page.close()


def test_every_static_button_sends_an_intent_payload_never_words(kiosk_browser: Browser, app_alone: Stack) -> None:
    fake = FakeApp()  # every touch answered "好的。": the menu stays
    page = open_page(kiosk_browser, app_alone, fake, (1920, 1080))
    names = [
        "叫出租车", "约爬楼机", "我要报修", "办事时间", "政策咨询", "我的预约/报修",
        "再说一遍", "说慢一点", "找工作人员",
    ]  # fmt: skip
    for count, name in enumerate(names, start=1):
        page.get_by_role("button", name=name, exact=True).click()
        page.wait_for_function("(n) => window.linli.replies >= n", arg=count)
    assert fake.texts() == [
        "/book_taxi",
        "/book_stair_climber",
        "/file_request",
        "/ask_service_hours",
        "/ask_policy",
        "/check_status",
        '/repeat{"answer":"再说一遍"}',
        '/repeat{"answer":"说慢一点"}',
        "/human_handoff",
    ]
    # each one an intent, with its entities as JSON when it has any: nothing for the NLU to guess
    for text in fake.texts():
        found = re.fullmatch(r"/(\w+)(\{.*\})?", text)
        assert found, text
        assert found[2] is None or isinstance(json.loads(found[2]), dict)
    # and every button on the page that sends something says what it sends
    static = page.evaluate("() => [...document.querySelectorAll('[data-intent]')].map((b) => b.dataset.payload)")
    assert static == fake.texts()
    page.close()


@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_with_voice_the_talk_button_shows_and_the_greeting_says_so(
    kiosk_browser: Browser, app_alone: Stack, screen: tuple[int, int]
) -> None:
    page = open_page(kiosk_browser, app_alone, FakeApp(voice=True), screen)
    expect(page.locator("#talk")).to_be_visible()
    expect(page.locator("#reply")).to_contain_text("按一下说话")
    seen = check_controls(page)
    assert [s["text"] for s in seen][-4:] == ["按一下说话", "再说一遍", "说慢一点", "找工作人员"]
    shot(page, "start_voice", screen)
    page.close()


@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_idle_asks_first_and_continue_keeps_the_pad(
    kiosk_browser: Browser, app_alone: Stack, screen: tuple[int, int]
) -> None:
    fake = FakeApp(replies=TAXI)
    page = open_page(kiosk_browser, app_alone, fake, screen, "&idle=2&idle_end=3")
    page.get_by_role("button", name="叫出租车").click()
    touch_digits(page, "139")
    question = page.locator("#idle-screen")
    page.wait_for_selector("#idle-screen", state="visible", timeout=10_000)
    expect(question.locator("h2")).to_have_text("您还在吗？")
    expect(page.locator("#entry .pad")).to_be_hidden()  # kept, not shown, behind the question
    seen = check_controls(page, lowest=110)
    assert [s["text"] for s in seen] == ["回到首页", "紧急求助", "继续", "结束"]
    assert latin_on_screen(page) == []
    shot(page, "idle_question", screen)
    sent = len(fake.frames)
    page.get_by_role("button", name="继续").click()
    expect(question).to_be_hidden()
    expect(page.locator("#entry .typed")).to_have_text("139")  # everything kept
    touch_digits(page, "1")
    expect(page.locator("#entry .typed")).to_have_text("1391")
    assert fake.frames[sent:] == []  # nothing said to the app: the same conversation goes on
    assert page.evaluate("() => window.linli.session") == "kiosk-fake1"

    # asked again; this time 结束: the start screen and a new conversation
    page.wait_for_selector("#idle-screen", state="visible", timeout=10_000)
    page.get_by_role("button", name="结束").click()
    expect(question).to_be_hidden()
    expect(page.locator("#entry .pad")).to_have_count(0)
    expect(page.locator("#menu")).to_be_visible()
    expect(page.locator("#reply")).to_have_text("您好！请按下面的按钮。")
    page.wait_for_function("() => window.linli.session === 'kiosk-fake2'")
    page.close()


def test_idle_clears_the_screen_only_after_the_question_goes_unanswered(
    kiosk_browser: Browser, app_alone: Stack
) -> None:
    fake = FakeApp(replies=TAXI)
    page = open_page(kiosk_browser, app_alone, fake, (1080, 1920), "&idle=1&idle_end=2")
    page.get_by_role("button", name="叫出租车").click()
    touch_digits(page, "139")
    page.wait_for_selector("#idle-screen", state="visible", timeout=10_000)
    assert page.locator("#entry .typed").inner_text() == "139"  # still there while asked
    page.wait_for_selector("#idle-screen", state="hidden", timeout=10_000)
    expect(page.locator("#entry .pad")).to_have_count(0)
    expect(page.locator("#reply")).to_have_text("您好！请按下面的按钮。")
    page.wait_for_function("() => window.linli.session === 'kiosk-fake2'")
    assert fake.texts() == ["/book_taxi"]  # nothing sent in the resident's name
    page.close()


def test_no_idle_question_over_the_emergency_screen(kiosk_browser: Browser, app_alone: Stack) -> None:
    fake = FakeApp(replies=TAXI)
    page = open_page(kiosk_browser, app_alone, fake, (1920, 1080), "&idle=1&idle_end=1")
    page.get_by_role("button", name="叫出租车").click()
    expect(page.locator("#entry .pad")).to_be_visible()
    page.get_by_role("button", name="紧急求助").click()
    expect(page.locator("#sos-state")).to_have_text("已经通知工作人员。")
    page.wait_for_timeout(3_500)  # longer than the question and the clearing together
    expect(page.locator("#idle-screen")).to_be_hidden()
    expect(page.locator("#sos-screen")).to_be_visible()
    assert page.evaluate("() => window.linli.session") == "kiosk-fake1"
    page.close()


def test_a_dropped_socket_resumes_the_same_conversation_and_a_fresh_start_does_not(
    kiosk_browser: Browser, app_alone: Stack
) -> None:
    fake = FakeApp(replies=TAXI)
    page = open_page(kiosk_browser, app_alone, fake, (1920, 1080))

    def hellos_when(count: int) -> list[dict[str, Any]]:
        for _ in range(100):  # the page reconnects after a second
            if fake.hellos() >= count:
                break
            page.wait_for_timeout(100)
        return [f for f in fake.frames if f.get("type") == "hello"]

    page.get_by_role("button", name="叫出租车").click()
    touch_digits(page, "139")
    fake.sockets[-1].close()  # the network blinks
    hellos = hellos_when(2)
    assert len(hellos) == 2 and hellos[1]["resume"] == "kiosk-fake1" and "resume" not in hellos[0]
    expect(page.locator("#entry .typed")).to_have_text("139")  # the pad is kept, and the booking
    page.get_by_role("button", name="回到首页").click()
    hellos = hellos_when(3)
    assert len(hellos) == 3 and "resume" not in hellos[2]  # a fresh start is a new conversation
    page.close()
