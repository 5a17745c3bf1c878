"""Each kiosk menu item completed by touch alone (taps, no keyboard, no typing) in real headless
Chromium, against the real engine, action server and app, on a landscape (1920×1080) and a
portrait (1080×1920) screen: service hours, a policy, a repair with a chosen description, the
status and cancel of a booking made earlier, and a taxi read-back corrected by touch. At every
step every control is on screen and uncovered, 紧急求助 and 回到首页 among them; no screen shows
Latin letters; what was done is checked in the database. (紧急求助: test_kiosk_sos_browser.py.)"""

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Locator, Page, Playwright, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.launcher import Stack
from bot.models import KnowledgeEntry, TaxiBooking
from tests.integration.conftest import PORT_OFFSET, Chat
from tests.integration.kiosk_page import SCREENS, check_controls, latin_on_screen
from tests.integration.test_conversations import rows
from tests.integration.test_staff_browser import CHROMIUM, FLAGS, SHOTS
from tests.integration.test_touch_dialogue import Resident

SHANGHAI = ZoneInfo("Asia/Shanghai")
REPLY_WAIT = 30_000  # ms: a turn through the engine and the action server
ids = {"ids": lambda s: f"{s[0]}x{s[1]}"}


@pytest.fixture(scope="module")
def touch_only_app(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second app on the same engine and database, without a voice model: the kiosk as most
    lobbies will have it (no talk button, questions that say 请按). Up in seconds."""
    tmp: Path = tmp_path_factory.mktemp("touch-only")
    app = Stack(
        engine_port=stack.engine_port,
        actions_port=stack.actions_port,
        app_port=8108 + PORT_OFFSET,
        database_url=stack.database_url,
        log_dir=tmp / "logs",
        secrets_file=stack.secrets_file,
        extra_env={"VOSK_MODEL_PATH": ""},
    )
    try:
        app.start_app()
        app.wait_until_ready(60)
        yield app.urls["app"]
    finally:
        app.stop()


@pytest.fixture(scope="module")
def touch_browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
    yield browser
    browser.close()


class Kiosk:
    """One kiosk page on a touch screen: taps, and after each tap the app's reply."""

    def __init__(self, browser: Browser, app: str, screen: tuple[int, int], name: str, *, voice: bool) -> None:
        self.screen, self.name, self.voice = screen, f"{name}_{'voice' if voice else 'touch'}", voice
        self.context = browser.new_context(
            viewport={"width": screen[0], "height": screen[1]}, locale="zh-CN", has_touch=True
        )
        self.page: Page = self.context.new_page()
        self.page.goto(f"{app}/kiosk/?kiosk=flow-{self.name}-{screen[0]}&where=党群服务站")
        self.session = str(self.page.wait_for_function("() => window.linli.session").json_value())
        assert self.page.evaluate("() => window.linli.voice") is voice
        self.step()

    @property
    def reply(self) -> Locator:
        return self.page.locator("#reply")

    @property
    def reply_text(self) -> str:
        return " ".join(self.reply.inner_text().split())

    def step(self) -> None:
        """The layout check of every screen: all controls on screen, uncovered, clear of the footer,
        big enough; 紧急求助 and 回到首页 among them and visible."""
        try:
            check_controls(self.page)
        except AssertionError:
            self.shot("failed")  # to look at what was wrong
            raise
        expect(self.page.locator("#sos")).to_be_visible()
        expect(self.page.locator("#home")).to_be_visible()
        if not self.voice:  # honest about voice: no talk button, and no question says 请说
            expect(self.page.locator("#talk")).to_be_hidden()
            assert "请说" not in self.page.locator("#answer").inner_text()

    def answered(self, tap: Callable[[], None]) -> None:
        """Tap, then wait for the app's reply to that tap (the page counts them), then check the screen."""
        before = int(self.page.evaluate("() => window.linli.replies"))
        tap()
        self.page.wait_for_function("(n) => window.linli.replies > n", arg=before, timeout=REPLY_WAIT)
        self.step()

    def menu(self, title: str) -> None:
        self.answered(lambda: self.page.locator("#menu").get_by_role("button", name=title, exact=True).tap())

    def tile(self, title: str) -> None:
        """One of the buttons the bot showed with its reply."""
        self.answered(lambda: self.page.locator("#choices").get_by_role("button", name=title, exact=True).tap())

    def tiles(self) -> list[str]:
        return [t.strip() for t in self.page.locator("#choices button").all_inner_texts()]

    def key(self, label: str) -> None:
        """A key of the pad or the picker that does not send anything yet."""
        self.page.locator("#entry").get_by_role("button", name=label, exact=True).tap()
        self.step()

    def pad(self, *groups: str) -> None:
        """Digits on the number pad, each group closed by 下一步 (or, the last, 确定, which sends)."""
        pad = self.page.locator("#entry .pad")
        expect(pad).to_be_visible(timeout=REPLY_WAIT)
        for i, digits in enumerate(groups):
            for digit in digits:
                pad.get_by_role("button", name=digit, exact=True).tap()
            if i < len(groups) - 1:
                self.key("下一步")
        self.step()
        self.answered(lambda: pad.get_by_role("button", name="确定", exact=True).tap())

    def pick_time(self, day: str, hour: str, *, shot: str = "") -> None:
        expect(self.page.locator("#entry .pad.times")).to_be_visible(timeout=REPLY_WAIT)
        self.key(day)
        expect(self.page.locator("#entry .label")).to_have_text(f"{day}几点？")
        if shot:
            self.shot(shot)
        self.answered(lambda: self.page.locator("#entry").get_by_role("button", name=hour, exact=True).tap())

    def shot(self, what: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"flow_{self.name}_{what}_{self.screen[0]}x{self.screen[1]}.png"))

    def finish(self) -> None:
        assert latin_on_screen(self.page) == []
        self.context.close()


def phone_for(kiosk: Kiosk, prefix: str) -> str:
    """A phone number of this test, screen and kiosk: 11 digits."""
    return f"{prefix}{int(kiosk.voice)}{kiosk.screen[0]:04d}"


Opener = Callable[[tuple[int, int], str], Kiosk]


@pytest.fixture(params=[True, False], ids=["voice", "touch_only"])
def opened(request: pytest.FixtureRequest, touch_browser: Browser, stack: Stack) -> Iterator[Opener]:
    """Kiosk pages of the app with a voice model (the stack's), or of the one without."""
    voice: bool = request.param
    app = stack.urls["app"] if voice else request.getfixturevalue("touch_only_app")
    pages: list[Kiosk] = []

    def open_one(screen: tuple[int, int], name: str) -> Kiosk:
        pages.append(Kiosk(touch_browser, app, screen, name, voice=voice))
        return pages[-1]

    yield open_one
    for kiosk in pages:
        kiosk.context.close()


@pytest.mark.parametrize("screen", SCREENS, **ids)
def test_hours_by_touch(opened: Opener, screen: tuple[int, int]) -> None:
    kiosk = opened(screen, "hours")
    kiosk.menu("办事时间")
    assert "哪个地方" in kiosk.reply_text
    assert {"居委会", "长者食堂", "社区卫生站"} <= set(kiosk.tiles()), kiosk.tiles()
    kiosk.shot("facilities")
    kiosk.tile("长者食堂")
    assert kiosk.reply_text.startswith("长者食堂今天"), kiosk.reply_text
    kiosk.shot("answer")
    kiosk.finish()


@pytest.mark.parametrize("screen", SCREENS, **ids)
def test_a_policy_by_touch(opened: Opener, db: Engine, screen: tuple[int, int]) -> None:
    kiosk = opened(screen, "policy")
    kiosk.menu("政策咨询")
    assert "哪方面" in kiosk.reply_text
    kiosk.shot("topics")
    for _ in range(12):  # the most-asked first, then 更多 … until the one this resident wants
        if "加装电梯" in kiosk.tiles():
            break
        kiosk.tile("更多")
    kiosk.tile("加装电梯")
    with Session(db) as session:
        stored, unsure = session.execute(
            select(KnowledgeEntry.spoken, KnowledgeEntry.needs_confirmation).where(KnowledgeEntry.topic == "加装电梯")
        ).one()
    said = " ".join(stored.split()) + ("具体以居委会答复为准。" if unsure else "")
    assert kiosk.reply_text.startswith(said)  # the staff-kept answer, as stored (its details below)
    kiosk.shot("answer")
    kiosk.finish()


@pytest.mark.parametrize("screen", SCREENS, **ids)
def test_a_repair_with_a_chosen_description_by_touch(opened: Opener, db: Engine, screen: tuple[int, int]) -> None:
    kiosk = opened(screen, "repair")
    phone = phone_for(kiosk, "138123")
    kiosk.menu("我要报修")
    assert {"房屋报修", "电梯故障"} <= set(kiosk.tiles()), kiosk.tiles()
    kiosk.shot("categories")
    kiosk.tile("房屋报修")
    assert "水管漏水" in kiosk.tiles() and kiosk.tiles()[-1] == "其他", kiosk.tiles()
    kiosk.shot("descriptions")
    kiosk.tile("水管漏水")
    assert "在哪里" in kiosk.reply_text, kiosk.reply_text
    expect(kiosk.page.locator("#entry .label")).to_have_text("请按几号楼：")
    kiosk.shot("address_pad")
    kiosk.pad("7", "3", "302")
    assert "手机号码" in kiosk.reply_text, kiosk.reply_text
    kiosk.pad(phone)
    numbers = {n.strip() for n in kiosk.reply.locator(".num").all_inner_texts()}
    grouped = [n for n in numbers if re.fullmatch(r"\d{4} \d{4}", n)]
    assert len(grouped) == 1, (numbers, kiosk.reply_text)  # the request number, in two fours
    kiosk.shot("filed")
    filed = rows(
        db,
        "SELECT category, description, location, phone, channel, sender_id FROM resident_request WHERE number = :n",
        n=grouped[0].replace(" ", ""),
    )
    assert filed == [("房屋报修", "水管漏水", "7号楼3楼302室", phone, "kiosk", kiosk.session)]
    kiosk.finish()


@pytest.mark.parametrize("screen", SCREENS, **ids)
def test_status_and_cancel_of_an_earlier_booking_by_touch(
    opened: Opener, chat: Chat, db: Engine, screen: tuple[int, int]
) -> None:
    kiosk = opened(screen, "status")
    phone = phone_for(kiosk, "137000")
    earlier = Resident(chat)  # booked yesterday, in another conversation (here over REST)
    earlier.menu("book_stair_climber")
    earlier.pad(phone)
    earlier.pad("5号楼6楼")
    earlier.touch("下楼")
    earlier.touch(earlier.titles[0])  # the soonest free slot
    earlier.touch("去医院看病")
    earlier.touch("对")
    found = re.search(r"(\d{4}) (\d{4})", earlier.text)
    assert found, earlier.text
    number = found[1] + found[2]
    assert rows(db, "SELECT status FROM climber_booking WHERE number = :n", n=number) == [("已预约",)]

    kiosk.menu("我的预约/报修")
    assert "编号" in kiosk.reply_text, kiosk.reply_text
    kiosk.pad(number)
    assert "手机号码" in kiosk.reply_text, kiosk.reply_text
    kiosk.pad(phone)
    assert "爬楼机" in kiosk.reply_text and kiosk.tiles() == ["取消这个"], (kiosk.reply_text, kiosk.tiles())
    kiosk.shot("status")
    kiosk.tile("取消这个")
    assert "要取消这个吗" in kiosk.reply_text, kiosk.reply_text
    expect(kiosk.page.locator("#answer")).to_have_class(re.compile("confirm"))
    kiosk.shot("cancel_confirm")
    kiosk.tile("对")
    assert "取消" in kiosk.reply_text, kiosk.reply_text
    kiosk.shot("cancelled")
    assert rows(db, "SELECT status FROM climber_booking WHERE number = :n", n=number) == [("已取消",)]
    kiosk.finish()


@pytest.mark.parametrize("screen", SCREENS, **ids)
def test_a_taxi_read_back_corrected_by_touch(opened: Opener, db: Engine, screen: tuple[int, int]) -> None:
    kiosk = opened(screen, "taxi")
    phone = phone_for(kiosk, "139123")
    kiosk.menu("叫出租车")
    assert "手机号码" in kiosk.reply_text, kiosk.reply_text
    kiosk.shot("phone_pad")
    kiosk.pad(phone)
    kiosk.shot("pickup")
    kiosk.tile("小区南门")
    kiosk.shot("destination")
    kiosk.tile("瑞金医院")
    kiosk.shot("time_picker")
    kiosk.pick_time("明天", "上午9点")
    kiosk.tile("1位")
    kiosk.tile("不用")
    assert "我读一遍" in kiosk.reply_text and "上午9点" in kiosk.reply_text, kiosk.reply_text
    expect(kiosk.page.locator("#answer")).to_have_class(re.compile("confirm"))
    kiosk.shot("read_back")
    kiosk.tile("不对")
    assert "哪一项" in kiosk.reply_text, kiosk.reply_text
    assert {"时间", "电话", "去的地方"} <= set(kiosk.tiles()), kiosk.tiles()
    # the items are tiles to choose from, not a yes/no screen of red 不对 buttons; 都对 is the yes
    expect(kiosk.page.locator("#answer")).not_to_have_class(re.compile("confirm"))
    expect(kiosk.page.locator("#choices .no")).to_have_count(0)
    expect(kiosk.page.locator("#choices .yes")).to_have_text("都对")
    kiosk.shot("which_item")
    kiosk.tile("时间")
    kiosk.shot("time_again")
    kiosk.pick_time("明天", "下午2点", shot="hours")
    assert "我读一遍" in kiosk.reply_text and "下午2点" in kiosk.reply_text, kiosk.reply_text
    assert "上午9点" not in kiosk.reply_text and "瑞金医院" in kiosk.reply_text, kiosk.reply_text
    kiosk.shot("read_back_again")
    tomorrow = datetime.now(SHANGHAI).date() + timedelta(days=1)
    kiosk.tile("对")
    kiosk.shot("booked")
    with Session(db) as session:
        booking = session.scalars(select(TaxiBooking).where(TaxiBooking.sender_id == kiosk.session)).one()
    assert (booking.pickup, booking.destination) == ("小区南门", "瑞金医院")
    assert (booking.phone, booking.channel) == (phone, "kiosk")
    assert booking.pickup_at.astimezone(SHANGHAI) == datetime.combine(tomorrow, datetime.min.time(), SHANGHAI).replace(
        hour=14
    )
    kiosk.finish()
