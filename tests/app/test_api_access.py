import threading

import pytest
from fastapi.testclient import TestClient

from bot.api.main import create_app
from bot.config import get_settings
from bot.services import knowledge_base

# Open to anyone by design: the health check, and the residents' chat page's endpoint.
PUBLIC = {"/healthz", "/chat/send"}


def test_healthz_answers_anyone(client: TestClient) -> None:
    client.headers.pop("Authorization")
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_waits_for_the_knowledge_base_built_at_start(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "knowledge_warm_up", True)
    monkeypatch.setattr(knowledge_base, "warmed", threading.Event())
    assert client.get("/healthz").status_code == 503
    knowledge_base.warm_up()  # builds the index (or logs why not: the first question builds it), then says so
    assert client.get("/healthz").json() == {"status": "ok"}


def test_every_api_route_refuses_a_missing_or_wrong_token(client: TestClient) -> None:
    client.headers.pop("Authorization")
    paths = create_app().openapi()["paths"]
    routes = [(method.upper(), path) for path, ops in paths.items() if path not in PUBLIC for method in ops]
    assert len(routes) >= 7, routes
    for method, path in routes:
        url = path.replace("{name}", "居委会").replace("{topic}", "加装电梯")
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
            response = client.request(method, url, headers=headers, json={})
            assert response.status_code == 401, (method, path, headers)


def test_api_docs_load_their_assets_from_the_app_not_a_cdn(client: TestClient) -> None:
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")  # needs Swagger UI 5
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower() and "http" not in page.text.replace("http-equiv", "")
    for asset in ("/static-offline-docs/swagger-ui-bundle.js", "/static-offline-docs/swagger-ui.css"):
        assert asset in page.text
        response = client.get(asset)
        assert response.status_code == 200 and len(response.content) > 10_000


def test_chat_endpoint_checks_its_input_and_says_when_the_engine_is_away(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.config import get_settings

    client.headers.pop("Authorization")
    monkeypatch.setattr(get_settings(), "engine_url", "http://127.0.0.1:9")  # nothing listens there
    assert (
        client.post("/chat/send", json={"sender": "web-12345678", "message": "   "}).json()["detail"]
        == "请先写点什么再发送。"
    )
    assert client.post("/chat/send", json={"sender": "../etc", "message": "你好"}).status_code == 422
    too_long = client.post("/chat/send", json={"sender": "web-12345678", "message": "长" * 1001})
    assert too_long.status_code == 422 and "太长" in too_long.json()["detail"]
    away = client.post("/chat/send", json={"sender": "web-12345678", "message": "你好"})
    assert away.status_code == 503 and "暂时没有反应" in away.json()["detail"]
    page = client.get("/chat/")
    assert page.status_code == 200 and "/static/chat.js" in page.text and "http" not in page.text


def test_the_nul_character_is_refused_at_the_door(client: TestClient) -> None:
    """PostgreSQL text cannot hold U+0000: refused with a clear 422 instead of a server error."""
    refused = client.post("/api/handoffs", json={"sender_id": "r\u0000", "message": "转人工"})
    assert refused.status_code == 422 and "NUL" in refused.json()["detail"]
    assert client.get("/api/stair-climber/slots", params={"day": "2026-11-23\x00"}).status_code == 422
    accepted = client.post("/api/handoffs", json={"sender_id": "resident-nul", "message": "转人工 \\u0000 is text"})
    assert accepted.status_code == 201  # the six characters "\\u0000" typed as text are fine


def test_an_empty_message_id_is_no_message_id(client: TestClient) -> None:
    for _ in range(2):  # two callback requests, both without an id: two rows, not a clash
        response = client.post("/api/handoffs", json={"sender_id": "resident-e", "message": "转人工", "message_id": ""})
        assert response.status_code == 201, response.text
