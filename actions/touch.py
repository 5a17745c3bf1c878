"""The words of a resident's message, whether said, typed or touched.

A touch screen sends meaning, not words (issue 15): a Rasa payload such as `/book_taxi`,
`/ask_policy{"policy_topic": "加装电梯"}`, or for a form's question `/inform{"answer": "明天上午9点"}`.
The NLU never guesses at those; the `answer` entity carries the words the button stands for, which
the app reads exactly as it reads a spoken answer. A bare payload stands for no words at all.
"""

from typing import Any

from rasa_sdk import Tracker

ANSWER = "answer"  # the entity a touch answer's words come in (domain.yml)


def answer_of(message: dict[str, Any]) -> str | None:
    """The words of a touch answer (its `answer` entity), or None for anything else."""
    for entity in message.get("entities") or []:
        if entity.get("entity") == ANSWER and entity.get("value") is not None:
            return str(entity["value"])
    return None


def words_of(message: dict[str, Any]) -> str:
    """`message`: the tracker's latest_message (text, intent, entities)."""
    touched = answer_of(message)
    if touched is not None:
        return touched
    text = str(message.get("text") or "")
    return "" if text.startswith("/") else text


def words_of_event(event: dict[str, Any]) -> str:
    """The same for a `user` event of the tracker (its parse data holds the entities)."""
    entities = (event.get("parse_data") or {}).get("entities") or []
    return words_of({"text": event.get("text"), "entities": entities})


def touch_only(tracker: Tracker) -> bool:
    """A kiosk without speech recognition said so in the message's metadata (bot/api/routes/kiosk.py):
    its questions say 请按, not 请说. Only the kiosk channel's metadata counts."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            metadata = event.get("metadata")
            kiosk = event.get("input_channel") == "kiosk" and isinstance(metadata, dict)
            return kiosk and bool(metadata.get("touch_only"))
    return False
