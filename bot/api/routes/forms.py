"""One form turn: the action server sends what the resident said and the slots; the app answers
with the slots to set, the next question and what to say (see bot/services/forms/base.py)."""

from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from bot.api.deps import NowDep, SessionDep
from bot.services.forms import FORMS, Turn

router = APIRouter(tags=["dialogue"])


class TurnIn(BaseModel):
    mode: Literal["activate", "answer", "resume"]
    text: str = Field(default="", max_length=2000)
    intent: str = Field(default="", max_length=64)
    entities: list[dict[str, Any]] = Field(default_factory=list, max_length=50)
    slots: dict[str, Any] = Field(default_factory=dict)
    requested_slot: str | None = None
    sender_id: str = Field(min_length=1, max_length=128)
    channel: str = Field(default="", max_length=32)
    message_id: str | None = Field(default=None, max_length=64)
    # the resident's address as the engine's channel saw or was told it (connectors/rest.py)
    client: str = Field(default="", max_length=64)
    touch_only: bool = False  # a kiosk without speech recognition: questions say 请按


class SayOut(BaseModel):
    text: str
    buttons: list[dict[str, str]] = Field(default_factory=list)
    entry: dict[str, Any] | None = None


class TurnOut(BaseModel):
    slots: dict[str, Any]
    next_slot: str | None
    say: list[SayOut]
    understood: bool
    danger: str | None


@router.post("/forms/{form}/turn", response_model=TurnOut)
def form_turn(form: str, body: TurnIn, session: SessionDep, now: NowDep) -> TurnOut:
    if form not in FORMS:
        raise HTTPException(status_code=404, detail={"message": f"unknown form {form!r}", "known": sorted(FORMS)})
    reply = FORMS[form].fill(session, Turn(now=now, **body.model_dump()))
    return TurnOut(
        slots=reply.slots,
        next_slot=reply.next_slot,
        say=[SayOut(text=s.text, buttons=s.buttons, entry=s.entry) for s in reply.say],
        understood=reply.understood,
        danger=reply.danger,
    )
