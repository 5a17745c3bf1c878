"""Schemathesis against the app's own OpenAPI schema: every documented operation, fed generated
requests (valid and invalid), answers with a clear status — never a server error. Staff routes
are exercised signed out (they must refuse cleanly), the service routes with the token."""

from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from bot.config import get_settings

EXAMPLES_PER_OPERATION = 20


def test_no_operation_answers_with_a_server_error(client: TestClient) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    token = {"Authorization": f"Bearer {get_settings().service_token}"}
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def no_server_error(case: Any) -> None:
            response = case.call(headers=token)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
            )

        no_server_error()
        checked.append(operation.label)
    assert len(checked) >= 20, checked  # the schema really lists the app's operations
