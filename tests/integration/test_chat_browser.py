"""The residents' web chat on a phone (360×740, by touch) in real Chromium against the running
stack: no bubble the resident did not send, a 大字 button that is remembered, the newest message
never under the quick replies or the composer (normal and 大字, six and more buttons), and every
failure said in Chinese with a 重新发送 that gets the message answered once."""

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, Route, expect

from bot.launcher import Stack
from tests.integration.conftest import Chat
from tests.integration.test_staff_browser import CHROMIUM, FLAGS, SHOTS

PHONE = {"width": 360, "height": 740}
GREETING = "邻里助手"


@pytest.fixture(scope="module")
def phone_browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", *FLAGS])
    yield browser
    browser.close()


@pytest.fixture
def phone(phone_browser: Browser, stack: Stack) -> Iterator[Page]:
    """A fresh phone (its own storage), touch screen, Chinese."""
    context = phone_browser.new_context(
        base_url=stack.urls["app"], viewport=PHONE, has_touch=True, is_mobile=True, locale="zh-CN"
    )
    page = context.new_page()
    yield page
    context.close()


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"chat_{name}_360x740.png"))


def open_chat(page: Page) -> None:
    page.goto("/chat/")
    # a freshly started engine's first turn can take a few seconds
    expect(page.locator(".bubble.bot").first).to_contain_text(GREETING, timeout=30_000)
    expect(page.locator("#typing")).to_be_hidden()


def say(page: Page, text: str) -> None:
    page.get_by_label("输入消息").fill(text)
    page.get_by_role("button", name="发送").tap()
    expect(page.locator(".bubble.me").last).to_have_text(text)
    expect(page.locator("#typing")).to_be_hidden()


def tap_quick(page: Page, title: str) -> None:
    page.locator("#quick button", has_text=title).first.tap()
    expect(page.locator(".bubble.me").last).to_have_text(title)
    expect(page.locator("#typing")).to_be_hidden()


def sender_of(page: Page) -> str:
    return str(page.evaluate("() => JSON.parse(localStorage.getItem('linli.chat')).sender"))


def user_messages(chat: Chat, sender: str) -> list[dict[str, Any]]:
    return [e for e in chat.tracker(sender)["events"] if e["event"] == "user"]


# Everything a resident can read: the page's text, the box's placeholder, the buttons' words.
VISIBLE_TEXT = """() => [document.body.innerText, ...[...document.querySelectorAll('input')].map(
  (i) => i.placeholder + ' ' + i.value), document.title].join('\\n')"""


def assert_no_latin(page: Page) -> None:
    text = str(page.evaluate(VISIBLE_TEXT))
    assert not re.search("[A-Za-z]", text), text


# Where the last message is, and where the log, the quick replies and the composer are.
BOXES = """() => {
  const box = (e) => {
    const r = e.getBoundingClientRect();
    return { top: r.top, bottom: r.bottom, height: r.height };
  };
  const bubbles = document.querySelectorAll('#log > *');
  const quick = document.getElementById('quick');
  return {
    last: box(bubbles[bubbles.length - 1]),
    log: box(document.getElementById('log')),
    quick: quick.childElementCount ? box(quick) : null,
    quickScrolls: quick.scrollHeight > quick.clientHeight + 1,
    composer: box(document.getElementById('composer')),
    buttons: quick.childElementCount,
  };
}"""


def assert_last_message_fully_visible(page: Page) -> dict[str, Any]:
    boxes: dict[str, Any] = page.evaluate(BOXES)
    last, log = boxes["last"], boxes["log"]
    assert last["height"] > 0, boxes
    assert last["top"] >= log["top"] - 0.5 and last["bottom"] <= log["bottom"] + 0.5, boxes  # inside the log's view
    if boxes["quick"]:
        assert last["bottom"] <= boxes["quick"]["top"] + 0.5, boxes
        assert boxes["quick"]["bottom"] <= boxes["composer"]["top"] + 0.5, boxes
    assert last["bottom"] <= boxes["composer"]["top"] + 0.5, boxes
    assert boxes["composer"]["bottom"] <= PHONE["height"] + 0.5, boxes
    return boxes


def font_px(page: Page, selector: str) -> float:
    return float(page.locator(selector).first.evaluate("(e) => parseFloat(getComputedStyle(e).fontSize)"))


def test_first_load_shows_the_greeting_and_no_bubble_the_resident_did_not_send(phone: Page, chat: Chat) -> None:
    open_chat(phone)
    expect(phone.locator(".bubble.me")).to_have_count(0)
    expect(phone.locator(".bubble")).to_have_count(1)
    # the greeting was asked for (the dialogue heard "/greet"), it just is not the resident's words
    assert [e["text"] for e in user_messages(chat, sender_of(phone))] == ["/greet"]
    phone.reload()
    expect(phone.locator(".bubble.bot")).to_have_count(1)
    expect(phone.locator(".bubble.me")).to_have_count(0)
    assert len(user_messages(chat, sender_of(phone))) == 1  # greeted once, not on every load
    assert_no_latin(phone)
    shot(phone, "greeting")


def test_da_zi_is_a_big_button_that_is_remembered(phone: Page) -> None:
    open_chat(phone)
    toggle = phone.get_by_role("button", name="大字")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(toggle).to_contain_text("关")
    box = toggle.bounding_box()
    assert box and box["height"] >= 44 and box["width"] >= 44, box
    normal = font_px(phone, ".bubble.bot")
    toggle.tap()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(toggle).to_contain_text("开")
    say(phone, "约爬楼机")  # the reply has no buttons yet; a later one does
    for selector in (".bubble.bot", ".bubble.me", "#text", "#send"):
        assert font_px(phone, selector) >= 24, selector
    assert font_px(phone, ".bubble.bot") >= normal * 1.3
    phone.reload()
    expect(phone.get_by_role("button", name="大字")).to_have_attribute("aria-pressed", "true")
    assert "big" in (phone.locator("body").get_attribute("class") or "")
    assert font_px(phone, ".bubble.bot") >= 24
    assert_no_latin(phone)
    phone.get_by_role("button", name="大字").tap()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    phone.reload()
    expect(phone.get_by_role("button", name="大字")).to_have_attribute("aria-pressed", "false")
    assert font_px(phone, ".bubble.bot") < 24


@pytest.mark.parametrize("big", [False, True], ids=["normal", "big"])
def test_quick_replies_never_cover_the_last_message(phone: Page, chat: Chat, big: bool) -> None:
    """A taxi booking by touch: the pickups (4 buttons), then the destinations (6 and more); after
    every reply the newest message is whole above the quick replies and the composer."""
    open_chat(phone)
    if big:
        phone.get_by_role("button", name="大字").tap()
    say(phone, "帮我叫部出租车")
    seen = []
    for _ in range(4):  # answer by touch until the destinations are offered
        boxes = assert_last_message_fully_visible(phone)
        seen.append(boxes["buttons"])
        if boxes["buttons"] >= 6:
            break
        if boxes["buttons"]:
            tap_quick(phone, phone.locator("#quick button").first.inner_text())
        else:
            say(phone, "13812345678")
    assert max(seen) >= 6, seen
    # the payloads (/inform{...}) never reach the screen: the buttons' titles do
    assert not phone.locator(".bubble", has_text="/").count()
    assert_no_latin(phone)
    shot(phone, "big_quick_replies" if big else "quick_replies")
    # the quick replies stay within about a third of the screen, scrolling themselves if need be
    boxes = phone.evaluate(BOXES)
    assert boxes["quick"]["height"] <= 0.37 * PHONE["height"], boxes
    if big:  # six big buttons do not fit in a third of the screen: the area scrolls, the last one is reachable
        assert boxes["quickScrolls"], boxes
        assert font_px(phone, "#quick button") >= 24
        last = phone.locator("#quick button").last
        last.scroll_into_view_if_needed()
        seen_box, quick_box = last.bounding_box(), phone.locator("#quick").bounding_box()
        assert seen_box and quick_box and quick_box["y"] <= seen_box["y"], (seen_box, quick_box)
        assert seen_box["y"] + seen_box["height"] <= quick_box["y"] + quick_box["height"] + 0.5, (seen_box, quick_box)
        assert_last_message_fully_visible(phone)  # scrolling the buttons moved no text under them
    tap_quick(phone, phone.locator("#quick button").first.inner_text())
    assert_last_message_fully_visible(phone)


def drop_answers(page: Page, times: int) -> list[str]:
    """The connection drops after the request reached the server: the server answers, the phone
    never hears it (the case a message id is for). Returns the message ids seen."""
    seen: list[str] = []

    def handle(route: Route) -> None:
        seen.append(json.loads(route.request.post_data or "{}").get("message_id", ""))
        if len(seen) <= times:
            route.fetch()  # delivered and answered …
            route.abort("connectionreset")  # … and the answer lost
        else:
            route.continue_()

    page.route("**/chat/send", handle)
    return seen


def test_a_dropped_connection_is_said_in_chinese_and_the_retry_is_answered_once(phone: Page, chat: Chat) -> None:
    open_chat(phone)
    me = sender_of(phone)
    said = "居委会几点开门"
    seen = drop_answers(phone, times=2)  # the page's own quiet second try is lost too
    phone.get_by_label("输入消息").fill(said)
    phone.get_by_role("button", name="发送").tap()
    failure = phone.locator(".failure")
    expect(failure).to_contain_text("网络不通")
    expect(failure.get_by_role("button", name="重新发送")).to_be_visible()
    expect(phone.locator(".bubble.me")).to_have_text([said])  # what was typed is still there
    assert_no_latin(phone)
    assert_last_message_fully_visible(phone)
    shot(phone, "error_retry")
    failure.get_by_role("button", name="重新发送").tap()
    expect(phone.locator(".bubble.bot").last).to_contain_text("居委会")
    expect(phone.locator(".failure")).to_have_count(0)
    assert len(seen) == 3 and len(set(seen)) == 1, seen  # the same message id every time
    heard = [e for e in user_messages(chat, me) if e["text"] == said]
    assert len(heard) == 1 and heard[0]["message_id"] == seen[0], heard  # run once, not three times
    expect(phone.locator(".bubble.bot", has_text="居委会")).to_have_count(1)  # and shown once
    assert_no_latin(phone)


def test_with_the_network_down_nothing_typed_is_lost(phone: Page, chat: Chat) -> None:
    open_chat(phone)
    me = sender_of(phone)
    phone.route("**/chat/send", lambda route: route.abort("internetdisconnected"))
    phone.context.set_offline(True)
    say_text = "加装电梯要多少人同意"
    phone.get_by_label("输入消息").fill(say_text)
    phone.get_by_role("button", name="发送").tap()
    expect(phone.locator(".failure")).to_contain_text("没有连上网络")
    phone.context.set_offline(False)  # the page comes back, the chat's address still does not answer
    phone.reload()  # even a reload keeps it, with its button
    expect(phone.locator(".bubble.me")).to_have_text([say_text])
    expect(phone.get_by_role("button", name="重新发送")).to_be_visible()
    assert_no_latin(phone)
    phone.unroute("**/chat/send")
    phone.get_by_role("button", name="重新发送").tap()
    expect(phone.locator(".bubble.bot", has_text="同意").last).to_be_visible()  # the answer (its details after it)
    expect(phone.locator(".failure")).to_have_count(0)
    assert [e["text"] for e in user_messages(chat, me)].count(say_text) == 1


# What a server, or something between it and the phone, may answer instead of the replies.
SAID_503 = json.dumps({"detail": "对不起，助手暂时没有反应，请稍后再试。"})
FAULTS = {
    "500 text": (500, "text/plain", "Internal Server Error", "出了点问题", True),
    "502 page": (502, "text/html", "<html><body><h1>502 Bad Gateway</h1>nginx</body></html>", "出了点问题", True),
    "503 said": (503, "application/json", SAID_503, "暂时没有反应", True),
    "200 not json": (200, "text/html", "<html>Sorry</html>", "出了点问题", True),
    "413": (413, "text/html", "<h1>413 Request Entity Too Large</h1>", "太长", False),
    "422 list": (422, "application/json", json.dumps({"detail": [{"msg": "field required"}]}), "改一改", False),
    "422 said": (422, "application/json", json.dumps({"detail": "这条消息太长了，请分几次发。"}), "太长", False),
    "429": (429, "application/json", json.dumps({"detail": "Too Many Requests"}), "说得太快", True),
    "429 said": (429, "application/json", json.dumps({"detail": "说得太快了，请稍等一下再说。"}), "说得太快", True),
}  # fmt: skip


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_server_fault_is_said_in_chinese(phone: Page, fault: str) -> None:
    status, content_type, body, expected, retry = FAULTS[fault]
    open_chat(phone)
    phone.route("**/chat/send", lambda route: route.fulfill(status=status, content_type=content_type, body=body))
    said = "我要报修"
    phone.get_by_label("输入消息").fill(said)
    phone.get_by_role("button", name="发送").tap()
    failure = phone.locator(".failure")
    expect(failure).to_contain_text(expected)
    expect(failure.get_by_role("button", name="重新发送")).to_have_count(1 if retry else 0)
    expect(phone.locator(".bubble.me")).to_have_text([said])
    if not retry:  # a message that must be changed goes back into the box
        expect(phone.get_by_label("输入消息")).to_have_value(said)
    assert_no_latin(phone)
    if fault == "500 text":
        shot(phone, "error_500")


def test_a_conversation_kept_by_the_earlier_page_loses_its_false_bubbles(phone: Page) -> None:
    """The earlier page stored the "你好" it sent for the greeting as the resident's, and its
    errors in English: neither is shown any more; what was really said stays."""
    open_chat(phone)
    me = sender_of(phone)
    earlier = {
        "sender": me,
        "big": False,
        "messages": [
            {"who": "me", "text": "你好"},
            {"who": "bot", "text": "您好，我是邻里助手！"},
            {"who": "me", "text": "居委会几点开门"},
            {"who": "error", "text": "Failed to fetch"},
        ],
    }
    phone.evaluate("(saved) => localStorage.setItem('linli.chat', JSON.stringify(saved))", earlier)
    phone.reload()
    expect(phone.locator(".bubble.me")).to_have_text(["居委会几点开门"])
    expect(phone.locator(".bubble.bot")).to_have_count(1)  # not greeted again
    assert sender_of(phone) == me
    assert_no_latin(phone)


def test_clear_asks_on_the_page_and_starts_a_new_conversation(phone: Page) -> None:
    open_chat(phone)
    say(phone, "居委会几点开门")
    first = sender_of(phone)
    phone.get_by_role("button", name="清空").tap()
    box = phone.get_by_role("alertdialog")
    expect(box).to_contain_text("清空这段对话吗")
    assert_no_latin(phone)
    box.get_by_role("button", name="不清空").tap()
    expect(box).to_be_hidden()
    expect(phone.locator(".bubble.me")).to_have_count(1)
    phone.get_by_role("button", name="清空").tap()
    box.get_by_role("button", name="清空", exact=True).tap()
    expect(phone.locator(".bubble.bot")).to_have_count(1)
    expect(phone.locator(".bubble.bot").first).to_contain_text(GREETING)
    expect(phone.locator(".bubble.me")).to_have_count(0)
    assert sender_of(phone) != first
