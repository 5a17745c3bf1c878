"""What the kiosk browser tests share: the two screens, the check that nothing on the resident's
screen is in Latin letters, the layout check (every control on screen, uncovered, clear of the
footer), and a stand-in for the app's side of /kiosk/ws for tests of the page alone."""

import json
import re
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import Page, WebSocketRoute

from tests.integration.test_staff_browser import SHOTS

SCREENS = [(1920, 1080), (1080, 1920)]
KIOSK_SOCKET = re.compile(r"/kiosk/ws$")
# Units that may follow a number on a resident's screen; any other Latin letters may not.
UNITS = {"km", "kg", "cm", "m", "min"}


def latin_on_screen(page: Page) -> list[str]:
    """The words in Latin letters the resident can see (digits are fine, and units after them)."""
    text = str(page.evaluate("() => document.body.innerText"))
    found = re.finditer(r"(\d\s*)?([A-Za-z]+)", text)
    return [m[2] for m in found if not (m[1] and m[2].lower() in UNITS)]


def shot(page: Page, name: str, screen: tuple[int, int]) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"kiosk_{name}_{screen[0]}x{screen[1]}.png"))


# Every button the resident can see: inside the window, not covered by anything (its middle and
# four points near its corners are its own), not under the footer (unless it is in it), not cut
# off by the scrolling answer area, its text not wider than itself.
CONTROLS = """() => {
  const shown = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const footer = document.querySelector('footer');
  const foot = shown(footer) ? footer.getBoundingClientRect() : null;
  const area = document.getElementById('answer').getBoundingClientRect();
  return [...document.querySelectorAll('button')].filter(shown).map((el) => {
    const box = el.getBoundingClientRect();
    const inset = Math.min(20, box.width / 4, box.height / 4);
    const points = [[box.left + box.width / 2, box.top + box.height / 2],
      [box.left + inset, box.top + inset], [box.right - inset, box.top + inset],
      [box.left + inset, box.bottom - inset], [box.right - inset, box.bottom - inset]];
    const uncovered = points.every(([x, y]) => el.contains(document.elementFromPoint(x, y)));
    const inside = box.top >= 0 && box.left >= 0 && box.bottom <= innerHeight && box.right <= innerWidth;
    const overFooter = foot !== null && !footer.contains(el) && box.bottom > foot.top && box.top < foot.bottom;
    const cut = el.closest('#answer') !== null && (box.top < area.top || box.bottom > area.bottom);
    return { text: el.innerText, inside, uncovered, overFooter, cut, fits: el.scrollWidth <= el.clientWidth,
             height: box.height, font: parseFloat(getComputedStyle(el).fontSize) };
  });
}"""


def controls(page: Page) -> list[dict[str, Any]]:
    return list(page.evaluate(CONTROLS))


def check_controls(page: Page, *, smallest_font: float = 34, lowest: float = 96) -> list[dict[str, Any]]:
    """Every control shown passes the layout check; 紧急求助 and 回到首页 are among them."""
    seen = controls(page)
    for item in seen:
        problems = [name for name in ("inside", "uncovered", "fits") if not item[name]]
        problems += [name for name in ("overFooter", "cut") if item[name]]
        assert not problems, (problems, item)
        assert item["font"] >= smallest_font and item["height"] >= lowest, item
    texts = [item["text"] for item in seen]
    assert "紧急求助" in texts and "回到首页" in texts, texts
    return seen


def entry(kind: str, **more: Any) -> dict[str, Any]:
    return {"kind": kind, **more}


def ask(text: str, buttons: list[dict[str, str]] | None = None, entry_spec: dict[str, Any] | None = None) -> list[Any]:
    """One reply as the app relays it from the engine (bot_client.ask: Rasa's REST messages)."""
    message: dict[str, Any] = {"recipient_id": "kiosk-fake", "text": text}
    if buttons:
        message["buttons"] = buttons
    if entry_spec:
        message["custom"] = {"entry": entry_spec}
    return [message]


@dataclass
class FakeApp:
    """The app's side of the kiosk socket, played by the test (Playwright's route_web_socket):
    "ready" with or without voice, a reply for each touch (by its exact payload, else `otherwise`),
    "told" for an sos; and every frame the page sent, in order."""

    voice: bool = False
    replies: dict[str, list[Any]] = field(default_factory=dict)
    otherwise: list[Any] = field(default_factory=lambda: ask("好的。"))
    frames: list[dict[str, Any]] = field(default_factory=list)
    sessions: int = 0
    sockets: list[WebSocketRoute] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.route_web_socket(KIOSK_SOCKET, self.serve)

    def serve(self, ws: WebSocketRoute) -> None:
        self.sessions += 1
        session = f"kiosk-fake{self.sessions}"

        def on_message(message: str | bytes) -> None:
            if isinstance(message, bytes):
                return
            frame = json.loads(message)
            self.frames.append(frame)
            if frame.get("type") == "hello":
                self.sockets.append(ws)
                self.send(ws, type="ready", voice=self.voice, session=frame.get("resume") or session)
            elif frame.get("type") == "text":
                self.send(ws, type="reply", messages=self.replies.get(frame["text"], self.otherwise), speed=1.0)
            elif frame.get("type") == "sos":
                self.send(ws, type="sos", come=bool(frame.get("come")), told=True)

        ws.on_message(on_message)

    @staticmethod
    def send(ws: WebSocketRoute, **message: Any) -> None:
        ws.send(json.dumps(message, ensure_ascii=False))

    def texts(self) -> list[str]:
        """What the touches sent, in order."""
        return [f["text"] for f in self.frames if f.get("type") == "text"]

    def hellos(self) -> int:
        return sum(1 for f in self.frames if f.get("type") == "hello")
