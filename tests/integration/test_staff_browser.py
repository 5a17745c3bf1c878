"""The staff console in real headless Chromium (Debian's `chromium`, driven by Playwright),
against the running engine, action server and app. Screenshots go to results/screenshots/."""

import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml
from playwright.sync_api import Browser, Page, Playwright, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.launcher import Stack
from bot.models import KnowledgeQuestion
from tests.integration.conftest import STAFF_PASSWORD, Chat

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "results" / "screenshots"
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]  # fmt: skip


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: `make test` installs it (apt-get install chromium)")
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
    yield launched
    launched.close()


@pytest.fixture
def console(browser: Browser, stack: Stack, staff: httpx.Client, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser session on a 1366×768 screen, signed in as the test admin."""
    context = browser.new_context(
        base_url=stack.urls["app"], viewport={"width": 1366, "height": 768}, accept_downloads=True, locale="zh-CN"
    )
    page = context.new_page()
    page.goto("/staff/")
    expect(page).to_have_url(re.compile(r"/staff/login"))
    page.get_by_label("用户名").fill("tester")
    page.get_by_label("密码").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_text("测试员")).to_be_visible()
    yield page
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def sender() -> str:
    return f"browser-{uuid.uuid4().hex[:8]}"


def test_find_a_conversation_correct_an_intent_and_export(console: Page, chat: Chat) -> None:
    me = sender()
    chat.texts(me, "加装电梯要多少人同意")
    console.goto("/staff/conversations")
    console.get_by_role("link", name="加装电梯要多少人同意").first.click()
    row = console.locator("tr.msg-user", has_text="加装电梯要多少人同意")
    expect(row).to_contain_text("ask_policy")
    row.get_by_label("正确的意图").select_option("help")
    row.get_by_role("button", name="改").click()
    expect(console.locator(".flash")).to_contain_text("已改为 help")
    console.goto("/staff/conversations")
    with console.expect_download() as download:
        console.get_by_role("link", name="下载改过意图的句子").click()
    exported = yaml.safe_load(Path(download.value.path()).read_text(encoding="utf-8"))
    block = next(b for b in exported["nlu"] if b["intent"] == "help")
    assert "- 加装电梯要多少人同意" in block["examples"]


def test_move_a_request_from_received_to_done(console: Page, chat: Chat) -> None:
    number = chat.app_post(
        "/api/requests",
        {
            "idempotency_key": f"{sender()}:m1",
            "sender_id": sender(),
            "phone": "13812345678",
            "category": "公共设施损坏",
            "description": "五号楼门口路灯坏了",
            "location": "五号楼门口",
        },
    )["number"]
    console.goto("/staff/requests")
    console.get_by_role("link", name=number).click()
    for status in ("已派单", "处理中", "已办结"):
        console.get_by_label("新状态").select_option(status)
        console.get_by_label("说明").fill(f"测试：{status}")
        console.get_by_role("button", name="保存").last.click()
        expect(console.locator("h1")).to_contain_text(status)
    expect(console.get_by_role("heading", name="回访")).to_be_visible()


def test_find_a_booking_by_the_number_a_resident_reads_out(console: Page, chat: Chat) -> None:
    number = chat.app_post(
        "/api/taxi-bookings",
        {
            "idempotency_key": f"{sender()}:find",
            "sender_id": sender(),
            "phone": "13812345678",
            "pickup": "七号楼门口",
            "destination": "瑞金医院",
            "pickup_at": (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=2)).isoformat(),
        },
    )["number"]
    console.goto("/staff/")
    console.get_by_role("link", name="查编号").click()
    console.get_by_label("编号").fill(f"{number[:4]}-{number[4:]}")  # as it is written down on the phone
    console.get_by_role("button", name="查").click()
    expect(console.locator("h2").first).to_contain_text(f"叫车 {number[:4]} {number[4:]} · 待派车")
    expect(console.locator("main")).to_contain_text("七号楼门口 → 瑞金医院")
    console.get_by_label("编号").fill(number[:6] + number[7] + number[6])  # the last two swapped
    console.get_by_role("button", name="查").click()
    if number[6] != number[7]:
        expect(console.locator(".flash.error")).to_contain_text("对不上")


def test_record_a_plate_and_the_resident_hears_it(console: Page, chat: Chat) -> None:
    me = sender()
    for said in ("明天上午九点帮我叫部车去六院", "13812345678", "五号楼门口", "一个人", "不用"):
        chat.texts(me, said)
    booked = " ".join(chat.texts(me, "对的"))
    number = re.search(r"编号(\d{4}) (\d{4})", booked).expand(r"\1\2")  # type: ignore[union-attr]
    console.goto("/staff/taxi")
    row = console.locator("tr", has_text=number)
    row.get_by_label("车牌").fill("沪C24680")
    row.get_by_label("车型").fill("蓝色出租")
    row.get_by_role("button", name="已派车").click()
    expect(console.locator(".flash")).to_contain_text("沪C24680")
    heard = " ".join(chat.texts(me, "我叫的车到哪里了"))
    assert "沪C24680" in heard and "蓝色出租" in heard


def test_edit_hours_and_the_bot_says_the_new_ones(console: Page, chat: Chat) -> None:
    console.goto("/staff/content")
    console.get_by_role("link", name="睦邻活动室").click()
    for day in ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"):
        console.get_by_label(day, exact=True).fill("07:15-21:45")
    console.get_by_role("button", name="保存每周时间").click()
    expect(console.locator(".flash")).to_contain_text("已保存")
    answer = " ".join(chat.texts(sender(), "活动室今天几点开门"))
    assert "7点15分" in answer


def test_an_emergency_alert_appears_on_the_page(console: Page, chat: Chat, staff: httpx.Client) -> None:
    for earlier in staff.get("/api/staff/alerts").json():  # start from a quiet board
        staff.post(f"/api/staff/alerts/{earlier['id']}/ack")
    console.goto("/staff/requests")
    chat.texts(sender(), "我摔倒了")
    alert = console.locator("#alerts li", has_text="急病受伤").first
    expect(alert).to_be_visible(timeout=15_000)  # polled every 5 seconds
    alert.get_by_role("button", name="已处理").click()
    expect(console.locator("#alerts li", has_text="急病受伤")).to_have_count(0, timeout=15_000)


def test_resident_chat_page_on_a_phone(browser: Browser, stack: Stack) -> None:
    """Send a message, get a Chinese reply, press a quick-reply button, reload and see the history."""
    context = browser.new_context(base_url=stack.urls["app"], viewport={"width": 360, "height": 740}, locale="zh-CN")
    page = context.new_page()
    page.goto("/chat/")
    # the greeting (a freshly started engine's first turn can take a few seconds)
    expect(page.locator(".bubble.bot").first).to_contain_text("邻里助手", timeout=30_000)
    expect(page.locator(".bubble.me")).to_have_count(0)  # the resident has said nothing yet
    for said in ("约爬楼机", "13812345678", "五号楼六楼"):
        page.get_by_label("输入消息").fill(said)
        page.get_by_role("button", name="发送").click()
        expect(page.locator(".bubble.me").last).to_have_text(said)
        expect(page.locator("#typing")).to_be_hidden()
    page.locator("#quick button", has_text="下楼").click()  # the bot's 下楼/上楼/往返 buttons
    expect(page.locator(".bubble.me").last).to_have_text("下楼")
    expect(page.locator(".bubble.bot").last).to_contain_text("什么时间")
    page.get_by_role("button", name="大字").click()
    before = page.locator(".bubble").count()
    page.reload()
    expect(page.locator(".bubble")).to_have_count(before)
    assert "big" in (page.locator("body").get_attribute("class") or "")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "chat_360px.png"), full_page=True)
    context.close()


# --- what the browser is told (bot/api/security_headers.py, bot/api/csrf.py) ---------------------

WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


def csp_watch(page: Page) -> list[str]:
    """Every Content-Security-Policy complaint on this page: console messages and the DOM's events."""
    complaints: list[str] = []
    page.on("console", lambda m: complaints.append(m.text) if "Content Security Policy" in m.text else None)
    page.add_init_script(WATCH_CSP)
    return complaints


def violations(page: Page, complaints: list[str]) -> list[str]:
    return complaints + list(page.evaluate("window.__csp || []"))


def test_console_pages_load_with_no_csp_violation(browser: Browser, stack: Stack, staff: httpx.Client) -> None:
    context = browser.new_context(base_url=stack.urls["app"], locale="zh-CN")
    page = context.new_page()
    complaints = csp_watch(page)
    page.goto("/staff/login")
    page.get_by_label("用户名").fill("tester")
    page.get_by_label("密码").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator(".card.chart svg")).to_have_count(4)  # the charts, each with its nonced <style>
    title = page.locator(".card.chart svg .title").first
    assert title.evaluate("e => getComputedStyle(e).fontSize") == "20px"  # the chart's own style applied
    seen = []
    for path in ("/staff/conversations", "/staff/requests", "/staff/callbacks", "/staff/taxi", "/staff/climber",
                 "/staff/content", "/staff/unanswered", "/staff/users", "/staff/password", "/staff/"):  # fmt: skip
        page.goto(path)
        expect(page.locator("header .brand")).to_be_visible()
        seen += violations(page, complaints)
    page.wait_for_timeout(5500)  # one alerts poll (staff.js: fetch to the same origin)
    assert seen + violations(page, complaints) == []
    context.close()


def test_resident_chat_kiosk_and_docs_load_with_no_csp_violation(browser: Browser, stack: Stack) -> None:
    context = browser.new_context(base_url=stack.urls["app"], locale="zh-CN")
    page = context.new_page()
    complaints = csp_watch(page)
    page.goto("/chat/")
    page.get_by_label("输入消息").fill("居委会几点开门")
    page.get_by_role("button", name="发送").click()
    expect(page.locator(".bubble.bot").last).to_contain_text("居委会")
    assert violations(page, complaints) == [], "chat"
    page.goto("/kiosk/?kiosk=lobby-1")
    expect(page.get_by_role("button", name="按一下说话")).to_be_visible(timeout=30_000)  # the WebSocket is open
    page.get_by_role("button", name="办事时间").click()
    page.wait_for_function("() => window.linli.replies >= 1", timeout=30_000)
    assert violations(page, complaints) == [], "kiosk"
    page.goto("/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("邻里助手 API")
    assert violations(page, complaints) == [], "docs"
    page.goto("/redoc")
    expect(page.locator("h1").first).to_contain_text("邻里助手 API", timeout=20_000)
    # ReDoc's bundle shows its maker's logo from cdn.redoc.ly: refused, as any CDN must be (the
    # app runs offline); nothing of the docs themselves is.
    assert [v for v in violations(page, complaints) if "cdn.redoc.ly/redoc/logo-mini.svg" not in v] == [], "redoc"
    context.close()


ATTACKER = "http://attacker.test"


def test_another_site_can_neither_frame_the_console_nor_post_to_it(
    console: Page, stack: Stack, staff: httpx.Client
) -> None:
    """A page from another site, opened in the signed-in browser (Playwright serves it)."""
    app = stack.urls["app"]
    service = {"Authorization": f"Bearer {stack.secrets['SERVICE_TOKEN']}"}
    before = staff.get("/api/policies/反诈骗", headers=service).json()
    console.route(
        f"{ATTACKER}/**",
        lambda route: route.fulfill(
            content_type="text/html; charset=utf-8",
            body=f"""<!doctype html><meta charset="utf-8">
            <iframe id="framed" src="{app}/staff/"></iframe>
            <form id="f" method="post" action="{app}/staff/content/policy/%E5%8F%8D%E8%AF%88%E9%AA%97">
            <input name="answer" value="把钱转到安全账户"></form>""",
        ),
    )
    console.goto(f"{ATTACKER}/prize.html")
    for _ in range(100):  # the frame ends on Chromium's error page: refused by frame-ancestors 'none'
        if any(frame.url.startswith("chrome-error://") for frame in console.frames):
            break
        console.wait_for_timeout(100)
    assert [frame.url for frame in console.frames[1:]] == ["chrome-error://chromewebdata/"]
    console.evaluate("document.getElementById('f').submit()")
    expect(console.locator("body")).to_contain_text("已拒绝", timeout=10_000)
    after = staff.get("/api/policies/反诈骗", headers=service).json()
    assert after["answer"] == before["answer"]
    console.goto("/staff/")  # the console itself goes on working
    expect(console.get_by_text("测试员")).to_be_visible()


GLASSES = "社区里能不能借到老花镜"
GLASSES_AGAIN = "哪里可以借老花眼镜"
GLASSES_ANSWER = "党群服务站前台可以借老花镜，用好请还回来。"


def test_a_question_nobody_answered_becomes_an_entry_and_the_next_resident_is_answered(
    console: Page, chat: Chat, db: Engine
) -> None:
    """The loop of the knowledge base, closed in the console: a resident asks what no entry
    answers, staff turn it into an entry on 没答上的问题, another resident asks in other words."""
    # The app builds the matcher's index on the first question (encoding every way of asking and
    # fitting the classifier: longer than the action server's 5 s on a cold start), so it is built
    # here first, with a title asked word for word (answered for sure: not a question for staff).
    assert chat.app_post("/api/knowledge/answer", {"question": "敬老卡在哪办"})["outcome"] == "answered"
    first = " ".join(chat.texts(sender(), GLASSES))
    assert "还不知道" in first and "老花镜" not in first.replace(GLASSES, ""), first
    with Session(db) as session:
        kept = session.scalars(select(KnowledgeQuestion).where(KnowledgeQuestion.text == GLASSES)).all()
        assert [(q.outcome, q.handled) for q in kept] == [("unknown", False)]
    console.goto("/staff/")
    console.get_by_role("link", name="没答上的问题").click()
    group = console.locator("table.groups tr", has_text=GLASSES)
    expect(group).to_contain_text("没答上")
    group.get_by_text("新建条目").click()
    group.get_by_label("标题").fill("借老花镜")
    group.get_by_label("回答").fill(GLASSES_ANSWER)
    group.get_by_label("别的说法").fill("老花眼镜可以借吗")
    SHOTS.mkdir(parents=True, exist_ok=True)
    console.screenshot(path=str(SHOTS / "knowledge_unanswered.png"))
    group.get_by_role("button", name="建好").click()
    expect(console.locator(".flash")).to_contain_text("条目“借老花镜”已建好")
    expect(console.locator("h1")).to_contain_text("待核实")
    expect(console.locator("#asks + p + table")).to_contain_text(GLASSES)
    console.screenshot(path=str(SHOTS / "knowledge_entry.png"), full_page=True)
    console.goto("/staff/unanswered")
    expect(console.locator("table.groups")).not_to_contain_text(GLASSES)
    console.goto("/staff/knowledge?q=老花镜")
    expect(console.locator("main")).to_contain_text("借老花镜")
    console.screenshot(path=str(SHOTS / "knowledge_list.png"))
    # the next resident, in other words: the knowledge base answers with the new entry at once …
    matched = chat.app_post("/api/knowledge/answer", {"question": GLASSES_AGAIN, "sender_id": sender()})
    assert matched["outcome"] == "answered" and matched["entry"]["title"] == "借老花镜", matched
    assert matched["entry"]["spoken"] == GLASSES_ANSWER and matched["entry"]["needs_confirmation"] is True
    # … and over REST, when the NLU sends the question to the knowledge base (待核实: with the caveat)
    later = " ".join(chat.texts(sender(), GLASSES_AGAIN))  # the NLU takes it for out of scope: asked strictly
    assert GLASSES_ANSWER in later and "具体以居委会答复为准" in later, later
