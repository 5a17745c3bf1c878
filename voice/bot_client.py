"""The kiosk's way to the bot: the engine's `kiosk` channel, with the kiosk's id and location."""

import re
from typing import Any

import httpx


class BotUnavailable(RuntimeError):
    pass


class BotBusy(BotUnavailable):
    """The engine's rate limit refused this turn (HTTP 429): the resident waits a moment."""


async def ask(
    engine_url: str,
    *,
    sender: str,
    text: str,
    metadata: dict[str, str],
    relay_token: str = "",
    http: httpx.AsyncClient | None = None,
) -> list[dict[str, Any]]:
    """One turn through the engine's kiosk channel, on `http` (the process's one client; the app
    makes it at start-up) or, without one, on a client for this turn alone. With `relay_token` (the
    app's service token) the engine believes the `client` address in the metadata
    (connectors/rest.py); without it, the engine takes the address the request came from."""
    url = f"{engine_url.rstrip('/')}/webhooks/kiosk/webhook"
    headers = {"X-Linli-Relay": relay_token} if relay_token else {}
    try:
        body = {"sender": sender, "message": text, "metadata": metadata}
        if http is None:
            async with httpx.AsyncClient(timeout=30) as own:
                reply = await own.post(url, json=body, headers=headers)
        else:
            reply = await http.post(url, json=body, headers=headers)
        if reply.status_code == 429:
            raise BotBusy("the engine's rate limit")
        reply.raise_for_status()
    except httpx.HTTPError as exc:
        raise BotUnavailable(str(exc)) from exc
    messages: list[dict[str, Any]] = reply.json()
    return messages


_DIGIT_WORDS = str.maketrans("0123456789", "零幺二三四五六七八九")


def digit_by_digit(text: str) -> str:
    """Phone, booking and request numbers are read one digit at a time ("三零五一二七", with 幺
    for 1 as on the phone), a number shown in two groups ("3051 2743") with a pause between them;
    short counts ("2位", "8点") stay as they are."""
    grouped = re.sub(r"(?<!\d)(\d{4}) (\d{4})(?!\d)", r"\1，\2", text)
    return re.sub(r"\d{4,}", lambda m: " ".join(m.group().translate(_DIGIT_WORDS)), grouped)


def spoken_text(messages: list[dict[str, Any]]) -> tuple[str, str]:
    """(what to say, speed): the texts joined, long numbers digit by digit; slow when the bot
    marked a repeat as slow."""
    text = digit_by_digit("。".join(m["text"].rstrip("。") for m in messages if m.get("text")))
    slow = any((m.get("custom") or {}).get("speech_rate") == "slow" for m in messages)
    return (f"{text}。" if text else ""), ("slow" if slow else "normal")
