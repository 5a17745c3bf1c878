"""The action server's way to the app keeps one session per event loop: a flood of turns opens no
new session (and no new connection pool) per call, and the calls still answer."""

from typing import Any

import aiohttp
import pytest

from actions import app_client


async def test_many_calls_share_one_session(app: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[aiohttp.ClientSession] = []
    real_init = aiohttp.ClientSession.__init__

    def counting_init(self: aiohttp.ClientSession, *args: Any, **kwargs: Any) -> None:
        made.append(self)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(aiohttp.ClientSession, "__init__", counting_init)
    answers = [await app_client.policy("加装电梯") for _ in range(20)]
    assert all(a["topic"] == "加装电梯" for a in answers)
    assert len(made) == 1 and not made[0].closed
    with pytest.raises(app_client.NotFound):  # an error answer leaves the session usable
        await app_client.policy("没有这个话题")
    assert (await app_client.policy("加装电梯"))["topic"] == "加装电梯" and len(made) == 1
