"""The HTTP API: `/api/*` for our own JSON, `/v1/*` for OpenAI-compatible clients.

Built by `create_app(settings)`; the embedding model and the index load once, in the lifespan.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from threadpoolctl import threadpool_limits

from rag.errors import (
    IndexBusyError,
    IndexCorruptError,
    IndexMissingError,
    ModelMismatchError,
    QuestionError,
    RagError,
    StoreUnavailableError,
)
from rag.models import Answer
from rag.service import AnswerService
from rag.settings import RagSettings

MODEL_ID = "rag-extractive"
ASK_EXAMPLE = {"question": "Combien de fois la police fédérale belge a-t-elle utilisé Clearview ?"}


class AskRequest(BaseModel):
    question: str = Field(min_length=1, examples=[ASK_EXAMPLE["question"]])


class DocumentEntry(BaseModel):
    doc_id: str
    title: str
    date: str | None = None
    kind: str | None = None
    publisher: str | None = None
    language: str | None = None
    country: str | None = None
    characters: int


class DocumentText(DocumentEntry):
    text: str = Field(description="The full text every citation's offsets point into.")


class TextPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return " ".join(part.text or "" for part in self.content if part.type == "text")
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "model": MODEL_ID,
                    "messages": [{"role": "user", "content": ASK_EXAMPLE["question"]}],
                }
            ]
        },
    )
    model: str = MODEL_ID
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    build: str
    documents: int
    chunks: int
    sentences: int
    embedding_model: str
    store: str = Field(description="Where the index lives: a data folder or a Chroma server.")


class ErrorBody(BaseModel):
    type: str
    message: str
    hint: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 404, 413, 422, 503)
}


def _error(
    status: int,
    kind: str,
    message: str,
    hint: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(type=kind, message=message, hint=hint))
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def _status_for(exc: RagError) -> tuple[int, str]:
    if isinstance(exc, QuestionError):
        return 400, "invalid_request_error"
    if isinstance(exc, StoreUnavailableError):
        return 503, "index_store_unavailable"
    if isinstance(exc, IndexMissingError | IndexCorruptError | ModelMismatchError | IndexBusyError):
        return 503, "index_unavailable"
    return 500, "server_error"


def _service(request: Request) -> AnswerService:
    return request.app.state.service


ServiceDep = Annotated[AnswerService, Depends(_service)]


def create_app(settings: RagSettings, service: AnswerService | None = None) -> FastAPI:
    """The API over one AnswerService, built at start-up unless one is given."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if getattr(app.state, "service", None) is None:
            app.state.service = await run_in_threadpool(AnswerService.start, settings)
        # Requests run in parallel already; more BLAS threads than cores make numpy spin.
        blas = (
            threadpool_limits(limits=settings.serve_blas_threads, user_api="blas")
            if settings.serve_blas_threads
            else None
        )
        stop = threading.Event()
        watcher = app.state.service.watch_index(stop)
        yield
        stop.set()
        if watcher is not None:
            watcher.join(timeout=5)
        if blas is not None:
            blas.restore_original_limits()

    app = FastAPI(
        title="Cited answers on police facial recognition",
        version="0.1.0",
        description="Answers from French texts on Clearview AI and Briefcam, every claim cited "
        "with the exact passage. `/api/*` is this service's JSON; `/v1/*` speaks the OpenAI "
        "chat-completions protocol.",
        lifespan=lifespan,
    )
    app.state.service = service  # None: loaded by the lifespan, once, at start-up
    app.state.slots = asyncio.Semaphore(settings.max_concurrent_requests)

    @app.middleware("http")
    async def limit_body(request: Request, call_next: Any) -> Any:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > settings.max_body_bytes):
            return _error(
                413,
                "request_too_large",
                f"The request body is over {settings.max_body_bytes} bytes.",
            )
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()
        )
        return _error(422, "invalid_request_error", problems or "invalid request")

    @app.exception_handler(RagError)
    async def rag_error(_: Request, exc: RagError) -> JSONResponse:
        status, kind = _status_for(exc)
        retry = {"Retry-After": "2"} if isinstance(exc, StoreUnavailableError) else None
        return _error(status, kind, exc.message, exc.hint, headers=retry)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return _error(exc.status_code, "http_error", str(exc.detail), headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        return _error(500, "server_error", "Internal error; the request was not answered.")

    def authorized(request: Request) -> None:
        if settings.api_key is None:
            return
        expected = f"Bearer {settings.api_key.get_secret_value()}"
        given = request.headers.get("authorization", "")
        if not secrets.compare_digest(given.encode(), expected.encode()):
            raise HTTPException(
                401,
                "A valid API key is needed: Authorization: Bearer <key>.",
                headers={"WWW-Authenticate": "Bearer"},
            )

    guarded = [Depends(authorized)]

    async def answer(
        service: AnswerService, question: str, history: list[tuple[str, str]] | None = None
    ) -> Answer:
        slots: asyncio.Semaphore = app.state.slots
        if slots.locked():
            raise HTTPException(
                503, "Too many questions at once; retry shortly.", headers={"Retry-After": "1"}
            )
        async with slots:
            return await run_in_threadpool(service.ask, question, history)

    @app.get("/healthz", response_model=Health, tags=["health"])
    async def healthz() -> Health:
        """The process is alive."""
        return Health(status="ok")

    @app.get("/readyz", response_model=Readiness, tags=["health"], dependencies=guarded)
    async def readyz(service: ServiceDep) -> Readiness:
        """The index is loaded (and its Chroma server answers): build and counts."""
        if service.store is not None:
            await run_in_threadpool(service.check_store)
        manifest = service.index.manifest
        return Readiness(
            status="ready",
            build=manifest.build_id,
            documents=len(service.index.documents),
            chunks=manifest.chunk_count,
            sentences=manifest.sentence_count,
            embedding_model=manifest.model_id,
            store=service.index.location,
        )

    @app.post(
        "/api/ask", response_model=Answer, responses=ERRORS, tags=["answers"], dependencies=guarded
    )
    async def ask(body: AskRequest, service: ServiceDep) -> Answer:
        """Answer a question (French, English or Dutch) with quoted, cited passages: the same
        object as `rag ask --json`. Each citation's `text` is `document[start:end]`."""
        return await answer(service, body.question)

    @app.get(
        "/api/documents",
        response_model=list[DocumentEntry],
        tags=["documents"],
        dependencies=guarded,
    )
    async def documents(service: ServiceDep) -> list[DocumentEntry]:
        """The catalog: every indexed document with its title, date and publisher."""
        return [DocumentEntry.model_validate(row) for row in service.documents()]

    @app.get(
        "/api/documents/{doc_id}",
        response_model=DocumentText,
        responses=ERRORS,
        tags=["documents"],
        dependencies=guarded,
    )
    async def document(doc_id: str, service: ServiceDep) -> DocumentText:
        """One document's catalog entry and full text, to show a citation in context."""
        found = service.index.documents.get(doc_id)
        if found is None:
            raise HTTPException(404, f"No document {doc_id!r}.")
        return DocumentText(**found.catalog_entry(), characters=len(found.text), text=found.text)

    @app.get("/v1/models", tags=["openai"], dependencies=guarded)
    async def models() -> dict[str, Any]:
        """OpenAI-compatible model list."""
        return {
            "object": "list",
            "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "rag"}],
        }

    @app.post("/v1/chat/completions", responses=ERRORS, tags=["openai"], dependencies=guarded)
    async def chat_completions(body: ChatCompletionRequest, service: ServiceDep) -> Any:
        """OpenAI-compatible chat completion: the last user message is the question; the reply
        carries [n] markers and the citations in an extra `citations` field (also on the final
        chunk when `stream` is true, as server-sent events)."""
        if len(body.messages) > settings.max_messages:
            raise QuestionError(f"At most {settings.max_messages} messages per request.")
        last_user = next(
            (i for i in range(len(body.messages) - 1, -1, -1) if body.messages[i].role == "user"),
            None,
        )
        if last_user is None or not body.messages[last_user].text().strip():
            raise QuestionError("The last user message is empty.")
        question = body.messages[last_user].text()
        history = [
            (m.role, m.text()) for m in body.messages[:last_user] if m.role in ("user", "assistant")
        ]
        result = await answer(service, question, history)
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())
        extra = {
            "citations": [c.model_dump() for c in result.citations],
            "rag": result.model_dump(exclude={"citations", "answer", "question"}),
        }
        if not body.stream:
            return {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": body.model,
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "logprobs": None,
                        "message": {"role": "assistant", "content": result.answer},
                    }
                ],
                "usage": _usage(question, result.answer),
                **extra,
            }
        return StreamingResponse(
            _stream(completion_id, created, body.model, result, extra),
            media_type="text/event-stream",
        )

    return app


def _usage(question: str, answer: str) -> dict[str, int]:
    prompt, completion = len(question.split()), len(answer.split())
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


async def _stream(
    completion_id: str, created: int, model: str, result: Answer, extra: dict[str, Any]
) -> AsyncIterator[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None, **more: Any) -> str:
        data = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **more,
        }
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    words = result.answer.split(" ")
    for i in range(0, len(words), 8):
        piece = " ".join(words[i : i + 8])
        yield chunk({"content": piece if i == 0 else " " + piece})
    yield chunk({}, "stop", **extra)
    yield "data: [DONE]\n\n"
