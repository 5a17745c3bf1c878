"""A failed or empty turn ends in the apology; a turn with a reply is left as it is."""

from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from connectors.never_silent import SORRY, never_silent


def message() -> UserMessage:
    return UserMessage("一三八一二三四五六七八", CollectingOutputChannel(), "resident-1", input_channel="rest")


async def test_a_crash_in_the_dialogue_is_answered_with_the_apology() -> None:
    async def crashes(_: UserMessage) -> None:
        raise RuntimeError("Failed to execute custom action 'validate_taxi_form'")

    said = message()
    await never_silent(crashes)(said)
    assert [m["text"] for m in said.output_channel.messages] == [SORRY]  # type: ignore[attr-defined]


async def test_a_silent_turn_is_answered_with_the_apology() -> None:
    async def silent(_: UserMessage) -> None:
        return None

    said = message()
    await never_silent(silent)(said)
    assert [m["text"] for m in said.output_channel.messages] == [SORRY]  # type: ignore[attr-defined]


async def test_a_turn_with_a_reply_is_unchanged() -> None:
    async def answers(m: UserMessage) -> Any:
        await m.output_channel.send_text_message(m.sender_id, "请问上车地点？")

    said = message()
    await never_silent(answers)(said)
    assert [m["text"] for m in said.output_channel.messages] == ["请问上车地点？"]  # type: ignore[attr-defined]
