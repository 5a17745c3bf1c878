"""The staff console against the running engine: conversations come from Rasa's tracker store,
corrections export as NLU YAML, alerts follow an emergency, content edits change the next answer.
The browser tests (real headless Chromium) are in test_staff_browser.py."""

import uuid

import httpx
import yaml

from tests.integration.conftest import Chat
from tests.integration.test_conversations import unsure_phrase


def new_sender() -> str:
    return f"console-{uuid.uuid4().hex[:8]}"


def test_a_conversation_is_listed_with_intents_and_its_intent_can_be_corrected(chat: Chat, staff: httpx.Client) -> None:
    me = new_sender()
    chat.texts(me, "居委会几点开门")
    vague, _ = unsure_phrase(chat)  # the bot falls back and asks what was meant
    chat.texts(me, vague)
    listed = {c["sender_id"]: c for c in staff.get("/api/staff/conversations").json()}
    assert me in listed and "ask_service_hours" in listed[me]["intents"]
    assert listed[me]["channel"] == "rest"
    fallbacks = staff.get("/api/staff/conversations", params={"flag": "fallback"}).json()
    assert me in {c["sender_id"] for c in fallbacks}
    transcript = staff.get(f"/api/staff/conversations/{me}").json()
    said = [m for m in transcript if m["kind"] == "user"]
    assert [m["text"] for m in said] == ["居委会几点开门", vague]
    assert said[0]["intent"] == "ask_service_hours" and said[0]["confidence"] > 0.5
    assert {"entity": "facility", "value": "居委会"} in said[0]["entities"]
    assert "action_service_hours" in [m["action"] for m in transcript if m["kind"] == "action"]
    corrected = staff.post(
        f"/api/staff/conversations/{me}/corrections", json={"event_id": said[1]["event_id"], "intent": "out_of_scope"}
    )
    assert corrected.status_code == 201
    export = yaml.safe_load(staff.get("/api/staff/corrections.yml").text)
    assert export["version"] == "3.1"
    block = next(b for b in export["nlu"] if b["intent"] == "out_of_scope")
    assert f"- {vague}" in block["examples"]
    staff.post(f"/api/staff/conversations/{me}/review", json={"reviewed": True, "tags": ["好例子"]})
    again = {c["sender_id"]: c for c in staff.get("/api/staff/conversations").json()}[me]
    assert again["reviewed"] is True and again["tags"] == ["好例子"]
    unanswered = staff.get("/staff/unanswered").text
    assert vague in unanswered


def test_an_emergency_shows_up_as_an_alert_until_acknowledged(chat: Chat, staff: httpx.Client) -> None:
    me = new_sender()
    chat.texts(me, "我摔倒了")
    alerts = [a for a in staff.get("/api/staff/alerts").json() if a["kind"] == "急病受伤"]
    assert alerts and alerts[0]["source"] == "emergency"
    assert staff.post(f"/api/staff/alerts/{alerts[0]['id']}/ack").status_code == 200
    assert alerts[0]["id"] not in [a["id"] for a in staff.get("/api/staff/alerts").json()]


def test_policy_edit_is_the_next_answer(chat: Chat, staff: httpx.Client) -> None:
    answer = f"测试答案{uuid.uuid4().hex[:4]}：湿垃圾每天早上七点到九点投放。"
    assert staff.put("/api/staff/policies/垃圾分类", json={"answer": answer}).status_code == 204
    assert chat.texts(new_sender(), "垃圾分类哪能弄") == [answer]


def test_nothing_personal_without_signing_in(chat: Chat) -> None:
    anonymous = httpx.Client(base_url=chat.stack.urls["app"], timeout=10)
    assert anonymous.get("/api/staff/conversations").status_code == 401
    assert anonymous.get("/staff/requests", follow_redirects=False).status_code == 303
