"""The limits on the running stack, where only the real processes show them: the engine loads our
REST channel from credentials.yml (with its rate limits) and takes SANIC_REQUEST_MAX_SIZE from the
launcher's environment; the app's chat page is refused with the kind sentence when it floods."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.integration.conftest import Chat

BUSY = "说得太快了，请稍等一下再说。"


def flood(http: httpx.Client, url: str, body: dict[str, str], count: int) -> list[int]:
    """`count` copies of one message at once, as a script would send them."""
    with ThreadPoolExecutor(max_workers=20) as pool:
        return list(pool.map(lambda _: http.post(url, json=body).status_code, range(count)))


def test_a_flooding_sender_at_the_engine_is_refused_and_a_neighbour_answered(chat: Chat) -> None:
    url = f"{chat.stack.urls['engine']}/webhooks/rest/webhook"
    flooder = f"flooder-{uuid.uuid4().hex[:8]}"
    with httpx.Client(timeout=60) as http:
        codes = flood(http, url, {"sender": flooder, "message": "你好"}, 60)
        assert 20 <= codes.count(200) <= 30 and codes.count(429) >= 30, codes  # burst 25, then refused
        refused = http.post(url, json={"sender": flooder, "message": "你好"})
        assert refused.status_code == 429 and refused.json()[0]["text"] == BUSY
    assert any("居委会" in t for t in chat.texts(f"resident-{uuid.uuid4().hex[:8]}", "居委会几点开门"))


def test_a_body_over_the_engines_limit_is_refused_and_a_message_still_answered(chat: Chat) -> None:
    url = f"{chat.stack.urls['engine']}/webhooks/rest/webhook"
    with httpx.Client(timeout=60) as http:
        huge = http.post(url, json={"sender": "stranger-big", "message": "长" * 2_000_000})  # 6 MB of JSON
        assert huge.status_code == 413
    assert any("居委会" in t for t in chat.texts(f"resident-{uuid.uuid4().hex[:8]}", "居委会几点开门"))


def test_the_chat_page_flooded_answers_429_kindly_and_another_phone_is_answered(chat: Chat) -> None:
    flooder, neighbour = f"web-{uuid.uuid4().hex[:12]}", f"web-{uuid.uuid4().hex[:12]}"
    with httpx.Client(base_url=chat.stack.urls["app"], timeout=60) as http:
        codes = flood(http, "/chat/send", {"sender": flooder, "message": "你好"}, 40)
        assert 10 <= codes.count(200) <= 20 and codes.count(429) >= 20, codes  # burst 15, then refused
        refused = http.post("/chat/send", json={"sender": flooder, "message": "你好"})
        assert refused.status_code == 429 and refused.json() == {"detail": BUSY}
        too_big = http.post("/chat/send", json={"sender": neighbour, "message": "长" * 1_000_000})
        assert too_big.status_code == 413 and "太大" in too_big.json()["detail"]
        answered = http.post("/chat/send", json={"sender": neighbour, "message": "居委会几点开门"})
        assert answered.status_code == 200 and any("居委会" in m.get("text", "") for m in answered.json())
