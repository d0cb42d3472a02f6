"""Schemathesis over the OpenAPI schema: whatever the request, never a server error."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from rag.api import create_app
from rag.service import AnswerService
from rag.settings import RagSettings


@pytest.fixture(scope="module")
def operations(seed_settings: RagSettings, service: AnswerService) -> list:
    app = create_app(seed_settings, service)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def test_every_operation_is_fuzzed_without_server_errors(operations: list) -> None:
    assert {op.label for op in operations} >= {
        "POST /api/ask",
        "POST /v1/chat/completions",
        "GET /api/documents/{doc_id}",
    }
    for operation in operations:
        _fuzz(operation)


def _fuzz(operation) -> None:
    @settings(
        max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(case=operation.as_strategy())
    def check(case) -> None:
        response = case.call()
        assert response.status_code < 500, (operation.label, response.text[:300])

    check()
