"""The words of a resident's message, whether said, typed or touched.

A touch screen sends meaning, not words (issue 15): a Rasa payload such as `/book_taxi`,
`/ask_policy{"policy_topic": "加装电梯"}`, or for a form's question `/inform{"answer": "明天上午9点"}`.
The NLU never guesses at those; the `answer` entity carries the words the button stands for, which
the app reads exactly as it reads a spoken answer. A bare payload stands for no words at all.
"""

from typing import Any

ANSWER = "answer"  # the entity a touch answer's words come in (domain.yml)


def words_of(message: dict[str, Any]) -> str:
    """`message`: the tracker's latest_message (text, intent, entities)."""
    for entity in message.get("entities") or []:
        if entity.get("entity") == ANSWER and entity.get("value") is not None:
            return str(entity["value"])
    text = str(message.get("text") or "")
    return "" if text.startswith("/") else text


def words_of_event(event: dict[str, Any]) -> str:
    """The same for a `user` event of the tracker (its parse data holds the entities)."""
    entities = (event.get("parse_data") or {}).get("entities") or []
    return words_of({"text": event.get("text"), "entities": entities})
