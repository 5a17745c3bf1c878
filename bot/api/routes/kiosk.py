"""The voice kiosk's WebSocket, /kiosk/ws: microphone audio in, text and speech out.

Client → app (JSON text frames, and binary frames of 16 kHz 16-bit mono PCM):
  {"type": "hello", "kiosk_id": "lobby-1", "location": "党群服务站"}   → {"type": "ready", "voice": bool,
                                                  "session"}; with "resume": <that session> after a
                                                  dropped socket, the same conversation goes on
  {"type": "listen", "expect": [{"title": "对", "payload": "/affirm"}, …]}
                                                  start an utterance; with expect (the buttons on
                                                  screen) recognition is restricted to them;
                                                  "number": true when digits are asked (一三八… → 138…)
  <binary PCM>…                                   → {"type": "partial", "text"} as it is heard
  {"type": "stop"}                                end of the utterance (or Vosk's endpointing)
  {"type": "text", "text": "/book_taxi"}          a touch instead of speech: an intent payload
                                                  (`/inform{"answer": "13812345678"}` from a pad)
  {"type": "sos"} / {"type": "sos", "come": true}  the red 紧急求助 button / its "请工作人员过来":
                                                  an alert for staff, stored here, never via the
                                                  NLU → {"type": "sos", "come", "told": bool}
App → client after each utterance: {"type": "heard", "text"}, {"type": "reply", "messages", "speed"},
then one binary frame: the reply as WAV. Errors: {"type": "error", "message"} in Chinese; a frame
that is not one of the above (not JSON, not an object, wrong types) gets "消息格式不对。" and the
socket stays open for the next one. Turns (a listen or a touch) are rate-limited per session and
per address (bot/api/limits.py): over the limit, {"type": "busy", "message"}, shown as a pause.
An sos is never limited and never waits: it is handled as soon as it is read, ahead of a turn still
waiting for the engine; a second one from the same session within SOS_WINDOW_SECONDS gives the same
alert (a double tap, or a resident pressing again) and is answered "told" again.
"""

import json
import logging
import re
import secrets
from functools import lru_cache
from typing import Annotated, Any, Literal

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.types import Message

from bot import clock
from bot.api import limits
from bot.api.clients import clients
from bot.api.deps import SessionDep
from bot.api.staff import TEMPLATES
from bot.config import get_settings
from bot.models import Alert
from bot.services import alerts
from voice import asr, audio, bot_client, tts
from voice import text as chinese

router = APIRouter(prefix="/kiosk")
logger = logging.getLogger(__name__)
MAX_UTTERANCE_BYTES = 16_000 * 2 * 30  # 30 seconds of speech
BAD_FRAME = "消息格式不对。"
SOS_WINDOW_SECONDS = 60  # a second touch of 紧急求助 within this is the same emergency
QUEUED_FRAMES = 1000  # frames read ahead of a slow turn (audio comes ten a second)


# The page's frames. Unknown extra keys are ignored (a newer page may send more); wrong types are not.
class Button(BaseModel):
    title: str | int | float | None = None
    payload: str | int | float | None = None


class Hello(BaseModel):
    type: Literal["hello"]
    kiosk_id: str = ""
    location: str = ""
    # the session a page had before its socket dropped: the same conversation goes on (a booking
    # half done is not lost to a network blip); 回到首页 and the idle end never send it
    resume: str = ""


SESSION_ID = re.compile(r"kiosk-[0-9a-f]{12}")


class Listen(BaseModel):
    type: Literal["listen"]
    expect: list[Button | str | int | float] | None = None
    number: bool = False


class Stop(BaseModel):
    type: Literal["stop"]


class Text(BaseModel):
    type: Literal["text"]
    text: str = ""


class Sos(BaseModel):
    type: Literal["sos"]
    come: bool = False  # the emergency screen's "请工作人员过来"


class Other(BaseModel):
    """A frame of a type this app does not know: "不认识的消息。", as before."""

    model_config = ConfigDict(extra="allow")
    type: str


Frame = Annotated[Hello | Listen | Stop | Text | Sos, Field(discriminator="type")]
FRAME: TypeAdapter[Hello | Listen | Stop | Text | Sos] = TypeAdapter(Frame)
OTHER = TypeAdapter(Other)


def read_frame(text: str) -> Hello | Listen | Stop | Text | Sos | Other | None:
    """The frame, an unknown type as `Other`, or None when it is not a frame at all."""
    try:
        return FRAME.validate_json(text)
    except ValidationError as exc:
        if any(e["type"] == "union_tag_invalid" for e in exc.errors()):
            try:
                return OTHER.validate_json(text)
            except ValidationError:
                return None
        return None


@lru_cache
def speaker() -> tts.Speaker:
    return tts.Speaker()


def recognizers() -> asr.RecognizerPool | None:
    try:
        return asr.recognizer_pool(str(asr.model_path()))
    except asr.VoiceNotInstalled:
        return None


WARM_UP_WORDS = "您好，我想叫一辆出租车，明天上午九点去医院看病。"


def warm_up(pool: asr.RecognizerPool) -> None:
    """Once per process: decode a spoken sentence so the first resident's words are quick too."""
    if not pool.warmed:
        pool.warm(audio.from_wav(speaker().speak(WARM_UP_WORDS)).data)


class KioskSession:
    def __init__(self, socket: WebSocket, db: Session) -> None:
        self.socket = socket
        self.db = db
        self.sos_stored: dict[bool, tuple[str, float]] = {}  # come → (message id, when stored)
        self.sender = f"kiosk-{secrets.token_hex(6)}"  # a new conversation for every session
        # where the kiosk is on the network, from the first frame on (a socket that never says hello
        # is still its own source): what its wrong record lookups and its alerts count against
        self.pool = recognizers()
        self.metadata: dict[str, str] = {"client": limits.client_address(socket)}
        if self.pool is None:
            self.metadata["touch_only"] = "1"  # no speech recognition: the questions say 请按
        self.recognizer: asr.Recognizer | None = None
        self.expect: dict[str, str] = {}
        self.expect_number = False
        self.received = 0
        self.last_partial = ""

    async def send(self, **message: Any) -> None:
        await self.socket.send_text(json.dumps(message, ensure_ascii=False))

    def introduce(self, message: Hello) -> None:
        """Which kiosk, where: known as soon as the hello is read, for an sos right behind it."""
        self.metadata.update(kiosk_id=message.kiosk_id[:64], location=message.location[:64])
        if SESSION_ID.fullmatch(message.resume):
            self.sender = message.resume

    async def hello(self, message: Hello) -> None:
        await self.send(type="ready", voice=self.pool is not None, session=self.sender)
        if self.pool is not None:
            await anyio.to_thread.run_sync(warm_up, self.pool)

    async def listen(self, message: Listen) -> None:
        if self.pool is None:
            await self.send(type="error", message="语音功能还没有安装，请用手点屏幕上的按钮。")
            return
        self.done_listening()
        if not await self.may_take_a_turn():
            return
        # The buttons on screen: {"title", "payload"} (or plain words). Heard words are matched to
        # the nearest title, and its payload goes to the bot, as if the button had been touched.
        self.expect = {}
        for item in (message.expect or [])[:20]:
            title, payload = (item.title, item.payload) if isinstance(item, Button) else (item, item)
            title = "" if title is None else str(title)
            if title and chinese.grammar_phrase(title):
                self.expect[title] = str(payload or title)
        grammar = [chinese.grammar_phrase(title) for title in self.expect]
        self.expect_number = message.number  # a phone, number or address is asked
        self.recognizer = asr.Recognizer(self.pool.model, grammar=grammar) if grammar else self.pool.acquire()
        self.received, self.last_partial = 0, ""

    async def audio(self, pcm: bytes) -> None:
        if self.recognizer is None:
            return
        self.received += len(pcm)
        event = await anyio.to_thread.run_sync(self.recognizer.feed, pcm)
        if isinstance(event, asr.Final):
            if event.text and not self.last_partial:
                # Vosk can end an utterance in the chunk that first heard it: still show the words.
                await self.send(type="partial", text=chinese.clean(event.text))
            await self.utterance(event.text)
        elif event.text != self.last_partial:
            self.last_partial = event.text
            await self.send(type="partial", text=event.text)
        if self.recognizer is not None and self.received > MAX_UTTERANCE_BYTES:
            await self.stop()

    async def stop(self) -> None:
        if self.recognizer is None:
            return
        final = await anyio.to_thread.run_sync(self.recognizer.finish)
        await self.utterance(final.text)

    def done_listening(self) -> None:
        if self.recognizer is not None and self.pool is not None:
            self.pool.release(self.recognizer)
        self.recognizer = None

    async def utterance(self, heard: str) -> None:
        self.done_listening()
        heard = chinese.clean(heard, expect_number=self.expect_number)
        said = heard
        if self.expect:
            spoken_titles = {chinese.join_chinese(chinese.grammar_phrase(t)): t for t in self.expect}
            nearest = asr.nearest_phrase(heard, list(spoken_titles))
            if nearest:
                heard = spoken_titles[nearest]
                said = self.expect[heard]
        await self.send(type="heard", text=heard)
        if not heard:
            await self.send(type="error", message="没有听清楚，请再说一遍，或者用手点按钮。")
            return
        await self.answer(said)

    async def may_take_a_turn(self) -> bool:
        """A turn starts with a listen or a touch: counted here, per session and per address."""
        limit = limits.resident_limits(self.socket).kiosk
        if limits.wait(limit, sender=self.sender, connection=self.socket):
            await self.send(type="busy", message=limits.BUSY)
            return False
        return True

    async def sos(self, message: Sos) -> None:
        """The alert, stored before "told" is said; not rate-limited, and no engine involved."""
        now = clock.timestamp()
        previous = self.sos_stored.get(message.come)
        if previous and now - previous[1] < SOS_WINDOW_SECONDS:
            message_id = previous[0]  # the same alert again: insert_once finds it
        else:
            message_id = f"{'come' if message.come else 'sos'}-{secrets.token_hex(6)}"
            if limits.sos_refused(self.socket, now):  # (bot/api/limits.py: SOS_RATE)
                logger.warning(
                    "kiosk %s: too many emergency alerts from one address", self.metadata.get("kiosk_id", "")
                )
                await self.send(type="sos", come=message.come, told=False)
                return
        try:
            alert = await anyio.to_thread.run_sync(self.store_sos, message_id, message.come)
        except SQLAlchemyError:
            logger.exception("kiosk %s: the emergency alert could not be stored", self.metadata.get("kiosk_id", ""))
            await self.send(type="sos", come=message.come, told=False)
            return
        if previous is None or previous[0] != message_id:
            self.sos_stored[message.come] = (message_id, now)
        await self.send(type="sos", come=message.come, told=True, alert=alert.id)

    def store_sos(self, message_id: str, come: bool) -> Alert:
        try:
            return alerts.raise_kiosk_sos(
                self.db,
                sender_id=self.sender,
                message_id=message_id,
                kiosk_id=self.metadata.get("kiosk_id", ""),
                location=self.metadata.get("location", ""),
                come=come,
            )
        finally:
            # no connection or transaction held between touches (a refused one is rolled back);
            # the session opens again for the next one, and the alert's loaded id stays readable
            self.db.close()

    async def answer(self, said: str) -> None:
        try:
            messages = await bot_client.ask(
                get_settings().engine_url,
                sender=self.sender,
                text=said,
                metadata=self.metadata,
                relay_token=get_settings().service_token,
                http=clients(self.socket).engine,
            )
        except bot_client.BotBusy:
            await self.send(type="busy", message=limits.BUSY)
            return
        except bot_client.BotUnavailable:
            await self.send(type="error", message="对不起，助手暂时没有反应，请找工作人员。")
            return
        words, speed = bot_client.spoken_text(messages)
        await self.send(type="reply", messages=messages, speed=speed)
        if words:
            wav = await anyio.to_thread.run_sync(lambda: speaker().speak(words, speed=speed))
            await self.socket.send_bytes(wav)


@router.get("/", include_in_schema=False)
def kiosk_page(request: Request) -> Response:
    """Full screen, very large text, big buttons, 紧急求助 on every screen and one talk button
    (bot/web/static/kiosk.js)."""
    return TEMPLATES.TemplateResponse(request, "kiosk.html", {})


@router.websocket("/ws")
async def kiosk_socket(socket: WebSocket, db: SessionDep) -> None:
    if not same_origin(socket):  # another site's page, opened in a visitor's browser
        await socket.close(code=1008)
        return
    await socket.accept()
    session = KioskSession(socket, db)
    # Frames are read as they come; an sos is handled at once, everything else goes in order to
    # take_turns, so that a turn waiting for the engine never holds up an emergency.
    turns, queued = anyio.create_memory_object_stream[Message](max_buffer_size=QUEUED_FRAMES)
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(take_turns, session, queued)
            await read_frames(session, turns)
            group.cancel_scope.cancel()
    finally:
        session.done_listening()  # a recognizer left mid-utterance goes back to the pool


def same_origin(socket: WebSocket) -> bool:
    """A browser names the page that opens a socket (Origin): only the kiosk page itself may. A
    client without one (the tests, a script on the kiosk box) is no other site's page."""
    origin = socket.headers.get("origin")
    if origin is None:
        return True
    scheme = "https" if socket.url.scheme == "wss" else "http"
    return origin == f"{scheme}://{socket.headers.get('host', '')}"


async def read_frames(session: KioskSession, turns: MemoryObjectSendStream[Message]) -> None:
    async with turns:
        try:
            while True:
                frame = await session.socket.receive()
                if frame["type"] == "websocket.disconnect":
                    return
                text = frame.get("text")
                message = read_frame(text) if text is not None and frame.get("bytes") is None else None
                if isinstance(message, Sos):
                    await session.sos(message)
                    continue
                if isinstance(message, Hello):
                    session.introduce(message)
                await turns.send(frame)
        except WebSocketDisconnect:
            return


async def take_turns(session: KioskSession, frames: MemoryObjectReceiveStream[Message]) -> None:
    async with frames:
        try:
            async for frame in frames:
                await take_turn(session, frame)
        except WebSocketDisconnect:
            return  # gone mid-answer: read_frames hears the disconnect too


async def take_turn(session: KioskSession, frame: Message) -> None:
    if frame.get("bytes") is not None:
        await session.audio(frame["bytes"])
        return
    message = read_frame(frame.get("text") or "")
    if message is None:
        await session.send(type="error", message=BAD_FRAME)
    elif isinstance(message, Hello):
        await session.hello(message)
    elif isinstance(message, Listen):
        await session.listen(message)
    elif isinstance(message, Stop):
        await session.stop()
    elif isinstance(message, Text):
        text = message.text.strip()[:500]
        if text and await session.may_take_a_turn():
            await session.answer(text)
    else:
        await session.send(type="error", message="不认识的消息。")
