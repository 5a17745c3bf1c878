from fastapi.testclient import TestClient

from bot.api.main import create_app

PUBLIC = {"/healthz"}


def test_healthz_answers_anyone(client: TestClient) -> None:
    client.headers.pop("Authorization")
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


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
