"""The HTTP API over the real seed index: our JSON, the official `openai` client on loopback,
authentication, limits and bad bodies."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import openai
import pytest
import uvicorn
from fastapi.testclient import TestClient
from pydantic import SecretStr

from index.local_chroma import free_port
from rag.api import MODEL_ID, create_app
from rag.models import Answer, Citation
from rag.service import AnswerService
from rag.settings import RagSettings
from tests.conftest import SEEDS

QUESTION = "Combien de fois la police fédérale belge a-t-elle utilisé Clearview ?"


@pytest.fixture(scope="module", params=["embedded", "server"])
def mode(request: pytest.FixtureRequest) -> tuple[RagSettings, AnswerService]:
    """Every test here runs twice: Chroma embedded in the data folder, and a Chroma server."""
    if request.param == "embedded":
        return request.getfixturevalue("seed_settings"), request.getfixturevalue("service")
    return request.getfixturevalue("server_settings"), request.getfixturevalue("server_service")


@pytest.fixture(scope="module")
def server(mode: tuple[RagSettings, AnswerService]) -> Iterator[str]:
    """A real `rag serve` app under uvicorn on loopback, sharing the session's index."""
    settings, service = mode
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, service),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not running.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def client(mode: tuple[RagSettings, AnswerService]) -> Iterator[TestClient]:
    settings, service = mode
    with TestClient(create_app(settings, service)) as test_client:
        yield test_client


def test_ask_returns_the_cli_contract_over_http(server: str) -> None:
    response = httpx.post(f"{server}/api/ask", json={"question": QUESTION}, timeout=60)
    assert response.status_code == 200
    answer = Answer.model_validate(response.json())
    assert not answer.abstained and "78" in answer.answer
    for citation in answer.citations:
        doc = httpx.get(f"{server}/api/documents/{citation.doc_id}", timeout=30).json()
        assert doc["text"][citation.start : citation.end] == citation.text


def test_documents_and_health(server: str, mode: tuple[RagSettings, AnswerService]) -> None:
    catalog = httpx.get(f"{server}/api/documents", timeout=30).json()
    assert sorted(d["doc_id"] for d in catalog) == sorted(p.stem for p in SEEDS.glob("*.txt"))
    one = httpx.get(f"{server}/api/documents/001_0858471518292074", timeout=30).json()
    assert one["text"] == (SEEDS / "001_0858471518292074.txt").read_text(encoding="utf-8")
    assert httpx.get(f"{server}/api/documents/nope", timeout=30).status_code == 404
    assert httpx.get(f"{server}/healthz", timeout=30).json() == {"status": "ok"}
    ready = httpx.get(f"{server}/readyz", timeout=30).json()
    assert ready["documents"] == 5 and ready["chunks"] > 0
    assert ("Chroma server" in ready["store"]) == bool(mode[0].chroma_host)


def test_official_openai_client_plain_and_streamed(server: str) -> None:
    client = openai.OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0)
    assert MODEL_ID in [m.id for m in client.models.list()]
    completion = client.chat.completions.create(
        model=MODEL_ID, messages=[{"role": "user", "content": "When was Briefcam switched off?"}]
    )
    content = completion.choices[0].message.content or ""
    assert "[1]" in content and "décembre 2023" in content
    citations = [Citation.model_validate(c) for c in completion.model_extra["citations"]]
    assert citations and all(f"[{c.marker}]" in content for c in citations)

    pieces, final = [], None
    for chunk in client.chat.completions.create(
        model=MODEL_ID,
        stream=True,
        messages=[{"role": "user", "content": "When was Briefcam switched off?"}],
    ):
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        if chunk.choices and chunk.choices[0].finish_reason == "stop":
            final = chunk
    assert "".join(pieces) == content
    assert (
        final is not None and final.model_extra["citations"] == completion.model_extra["citations"]
    )


def test_api_key_guards_everything_but_health(mode: tuple[RagSettings, AnswerService]) -> None:
    base, service = mode
    settings = base.model_copy(update={"api_key": SecretStr("s3cret")})
    with TestClient(create_app(settings, service)) as guarded:
        assert guarded.get("/healthz").status_code == 200
        refused = guarded.post("/api/ask", json={"question": QUESTION})
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert "s3cret" not in refused.text
        wrong = guarded.get("/api/documents", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = guarded.get("/api/documents", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"question": ""}, 422),
        ({"question": "q" * 2001}, 400),
        ({"question": 42}, 422),
        ({}, 422),
    ],
)
def test_bad_ask_bodies_get_clear_json_errors(client: TestClient, body: dict, status: int) -> None:
    response = client.post("/api/ask", json=body)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["message"] and "Traceback" not in response.text


def test_limits(client: TestClient) -> None:
    huge = client.post(
        "/api/ask",
        content=b"{" + b" " * 70_000 + b"}",
        headers={"content-type": "application/json"},
    )
    assert huge.status_code == 413
    many = client.post(
        "/v1/chat/completions",
        json={"model": MODEL_ID, "messages": [{"role": "user", "content": "Qui ?"}] * 65},
    )
    assert many.status_code == 400 and "64 messages" in many.json()["error"]["message"]
    no_user = client.post(
        "/v1/chat/completions",
        json={"model": MODEL_ID, "messages": [{"role": "system", "content": "Be brief."}]},
    )
    assert no_user.status_code == 400
    not_json = client.post(
        "/api/ask", content=b"not json", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 422


def test_too_many_concurrent_questions_get_503_with_retry_after(client: TestClient) -> None:
    slots = client.app.state.slots
    held = 0
    while not slots.locked():
        slots._value -= 1  # take every slot, as in-flight answers would
        held += 1
    try:
        busy = client.post("/api/ask", json={"question": QUESTION})
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
    finally:
        slots._value += held
    assert client.post("/api/ask", json={"question": QUESTION}).status_code == 200
