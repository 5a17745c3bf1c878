"""How a form turn works, for every form the bot runs.

The Rasa form only keeps the slots; each turn the action server sends the resident's words and
the slots here, and gets back the slots to set, the next slot to ask for and what to say. So the
rules for what counts as an answer live in one place, in the app, next to the data they check.

Modes: "activate" (the form starts: slots are cleared, then filled from the first message),
"answer" (the resident answered the requested slot) and "resume" (the form comes back after an
interruption, e.g. an opening-hours question: nothing new to read, just ask again).
"""

import json
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from bot.services import answers

YES_NO_BUTTONS = [{"title": "对", "payload": "/affirm"}, {"title": "不对", "payload": "/deny"}]
# A touch carries meaning, never words for the NLU to guess (issue 15): an answer's words come in
# the `answer` entity and are read here exactly as spoken ones; the item of a read-back a resident
# wants to change comes as `item` (its slot's name).
ANSWER_ENTITY = "answer"
ITEM_ENTITY = "item"

# How a touch screen lets someone answer without speaking or typing (the kiosk draws these; chat
# channels ignore them): a number pad for phone and booking numbers, a building/floor/room pad, a
# day-and-hour picker. Fixed choices are plain buttons, which every channel shows.
PHONE_ENTRY = {"kind": "digits", "label": "手机号码", "length": 11}
ADDRESS_ENTRY = {"kind": "address"}
FLOOR_ENTRY = {"kind": "number", "label": "几楼", "suffix": "楼"}
TIME_ENTRY = {"kind": "time"}


def payload(intent: str, **entities: str) -> str:
    """A Rasa payload: `/inform{"answer": "明天上午9点"}` (the NLU takes it as it is, unguessed)."""
    return f"/{intent}{json.dumps(entities, ensure_ascii=False)}" if entities else f"/{intent}"


def button(title: str, words: str | None = None) -> dict[str, str]:
    """A button that answers the question with `words` (by default its title)."""
    return {"title": title, "payload": payload("inform", **{ANSWER_ENTITY: words or title})}


def choices(*titles: str) -> list[dict[str, str]]:
    """Buttons whose words are the answer itself."""
    return [button(title) for title in titles]


def said_or_pressed(turn: "Turn", said: str, pressed: str) -> str:
    """A question worded for how this resident can answer: "请说…", or "请按…" at a kiosk
    without speech recognition, where every answer is a touch."""
    return pressed if turn.touch_only else said


@dataclass
class Turn:
    mode: str
    text: str
    intent: str
    entities: list[dict[str, Any]]
    slots: dict[str, Any]
    requested_slot: str | None
    sender_id: str
    channel: str
    message_id: str | None
    now: datetime
    # The address the resident's message came from, as the engine's channel vouches for it
    # (connectors/rest.py): the "source" whose wrong lookups are counted (lookup_limit).
    client: str = ""
    # A kiosk without speech recognition: questions say 请按, not 请说.
    touch_only: bool = False

    def entity(self, name: str) -> str | None:
        return next((str(e["value"]) for e in self.entities if e.get("entity") == name and e.get("value")), None)


@dataclass
class Say:
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    entry: dict[str, Any] | None = None  # a touch-screen way to answer (see PHONE_ENTRY…)


@dataclass
class Reply:
    slots: dict[str, Any]
    next_slot: str | None
    say: list[Say] = field(default_factory=list)
    # False: the words were no sure answer (nothing read, or just taken as free text such as a
    # place), so an interrupting intent ("居委会几点开门") may take the turn instead.
    understood: bool = True
    # An emergency kind spotted in the words (someone trapped, gas, fire): the engine answers it.
    danger: str | None = None


@dataclass
class Outcome:
    """What one answer gave: slots to set, and optionally a short note said before the question."""

    updates: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    understood: bool = True
    danger: str | None = None
    # Asked instead of the next slot's question (e.g. "哪一项不对？" with a tile for each item).
    question: Say | None = None


NOT_UNDERSTOOD = Outcome(note="不好意思，没听明白。", understood=False)


def free_text(slot: str, value: str | None) -> Outcome:
    """Any words can be a place or a purpose: taken, but not sure enough to beat another intent."""
    return Outcome({slot: value}, understood=False) if value else NOT_UNDERSTOOD


class Form:
    """A form: `slots` are asked in order; subclasses read answers and word the questions."""

    name = ""
    slots: tuple[str, ...] = ()
    extra_slots: tuple[str, ...] = ()  # kept between turns but never asked for
    cancelled_text = "好的，不办了。有事再叫我。"
    # For a read-back: the words that name each item ("时间不对" → the time slot) …
    corrections: ClassVar[dict[str, str]] = {}
    # … and the slots asked together with one, cleared with it (building → floor and room).
    companions: ClassVar[dict[str, tuple[str, ...]]] = {}
    # … and what each is called on the tiles shown after a bare 不对 ("哪一项不对？").
    item_titles: ClassVar[dict[str, str]] = {}

    def all_slots(self) -> tuple[str, ...]:
        return self.slots + self.extra_slots

    def prefill(self, session: Session, turn: Turn, state: dict[str, Any]) -> Outcome:
        return Outcome()

    def parse(self, session: Session, turn: Turn, slot: str, state: dict[str, Any]) -> Outcome:
        raise NotImplementedError

    def ask(self, session: Session, turn: Turn, slot: str, state: dict[str, Any]) -> Say:
        raise NotImplementedError

    def next_slot(self, session: Session, turn: Turn, state: dict[str, Any]) -> str | None:
        return next((slot for slot in self.slots if state.get(slot) is None), None)

    def fill(self, session: Session, turn: Turn) -> Reply:
        names = self.all_slots()
        if turn.mode == "activate":
            state: dict[str, Any] = dict.fromkeys(names)
            outcome = self.prefill(session, turn, state)
        else:
            state = {name: turn.slots.get(name) for name in names}
            outcome = Outcome()
            if turn.mode == "answer":
                if turn.intent == "cancel_booking" or answers.is_cancel(turn.text):
                    return self.cancel()
                if turn.intent == "repeat":
                    outcome = Outcome()  # asking the same question again is the repeat
                elif turn.requested_slot in names:
                    outcome = self.parse(session, turn, turn.requested_slot, state)
                else:
                    outcome = NOT_UNDERSTOOD
        state.update(outcome.updates)
        next_slot = self.next_slot(session, turn, state)  # may remember what it looked up in state
        changed = {
            name: state[name] for name in names if turn.mode == "activate" or state[name] != turn.slots.get(name)
        }
        say = [Say(outcome.note)] if outcome.note else []
        if outcome.question is not None:
            say.append(outcome.question)
        elif next_slot is not None:
            say.append(self.ask(session, turn, next_slot, state))
        if not changed and turn.requested_slot:
            # Rasa's form needs at least one slot event, or it takes the turn as "not for me".
            changed = {turn.requested_slot: state.get(turn.requested_slot)}
        return Reply(
            slots=changed,
            next_slot=next_slot,
            say=say,
            understood=outcome.understood,
            danger=outcome.danger,
        )

    def cancel(self, text: str = "") -> Reply:
        """The form closes with nothing kept, saying `text` (by default: 好的，不办了)."""
        slots: dict[str, Any] = dict.fromkeys(self.all_slots())
        slots["form_cancelled"] = True
        return Reply(slots=slots, next_slot=None, say=[Say(text or self.cancelled_text)])


def correction_target(text: str, fields: dict[str, str]) -> str | None:
    """Which item a "不对，…" is about, from the words that name it (first match wins)."""
    return next((slot for slot, words in fields.items() if re.search(words, text)), None)


def confirm(
    form: Form,
    session: Session,
    turn: Turn,
    state: dict[str, Any],
    *,
    confirm_slot: str,
    fields: dict[str, str],
) -> Outcome:
    """The answer to a read-back. 对 → confirmed. "时间不对，是后天上午" → that item is changed
    in place and read back again. "地址不对" → that item is asked again. A bare 不对 → which one?"""
    text = turn.text
    touched = turn.entity(ITEM_ENTITY)  # a tile: which item, by its slot's name
    target = touched if touched in fields else correction_target(text, fields)
    verdict = answers.yes_no(text, turn.intent)
    if target is None and verdict is True:
        return Outcome({confirm_slot: True})
    if target is None:
        # A new value without naming the item ("是后天上午") still says which item it is.
        for slot in fields:
            outcome = form.parse(session, turn, slot, dict(state))
            if slot.endswith(_GUESSABLE) and outcome.understood and outcome.updates and not outcome.note:
                return Outcome(outcome.updates, note="好的，改过来了。")
        return Outcome(question=which_item(form, turn))
    if touched:
        # Nothing said about the new value: ask for that item again, with its pad or tiles.
        return Outcome({target: None, **dict.fromkeys(form.companions.get(target, ()))}, note="好的。")
    said = turn
    if target.endswith(_FREE_TEXT):
        # "不是六院，是瑞金": the new place is what follows 是/改成; "地址不对" alone has none.
        marker = re.search(r".*(?:是|改成|改到|换成|应该)(.+)$", turn.text)
        said = replace(turn, text=marker.group(1) if marker else "")
    outcome = form.parse(session, said, target, dict(state)) if said.text else Outcome(understood=False)
    if outcome.updates.get(target) is not None:
        return Outcome(outcome.updates, note=outcome.note or "好的，改过来了。")
    return Outcome({target: None, **dict.fromkeys(form.companions.get(target, ()))}, note="好的，我们重新说一下。")


def which_item(form: Form, turn: Turn) -> Say:
    """ "哪一项不对？" with a tile for each item of the read-back (and 都对 to keep it as it is)."""
    tiles = [
        {"title": title, "payload": payload("deny", **{ITEM_ENTITY: slot})} for slot, title in form.item_titles.items()
    ]
    return Say(
        said_or_pressed(turn, "哪一项不对？您可以说：时间不对、地址不对、电话不对。", "哪一项不对？请按要改的那一项。"),
        [*tiles, {"title": "都对", "payload": "/affirm"}],
    )


# Items with a recognisable shape may be changed without being named ("是后天上午"); a free-text
# place could be anything, so it is only taken after its name and a 是/改成.
_GUESSABLE = ("_time", "_phone", "_passengers")
_FREE_TEXT = ("_pickup", "_destination", "_purpose", "_description", "_location")
