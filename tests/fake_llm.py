"""A small deterministic OpenAI-compatible server: the only fake in the project, standing in
for a paid outside LLM. Tests choose its behaviour through `FakeLLM.mode`."""

from __future__ import annotations

import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

LANGUAGE_WORDS = {"French": "Réponse", "English": "Answer", "Dutch": "Antwoord"}


@dataclass
class FakeLLM:
    mode: str = "cite_first"
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    base_url: str = ""

    def reply(self, body: dict[str, Any]) -> str:
        everything = " ".join(str(m.get("content")) for m in body["messages"])
        if "YES or NO" in everything:  # LlamaIndex's faithfulness judge
            return "YES"
        if "evaluation system for a question answering" in everything:  # correctness judge
            return "4.0\nThe answer holds the reference facts."
        system = body["messages"][0]["content"]
        user = body["messages"][-1]["content"]
        if system.startswith("Rewrite the last user question"):
            earlier = [m["content"] for m in body["messages"][1:-1] if m["role"] == "user"]
            return f"{earlier[-1] if earlier else ''} {user}".strip()
        language = re.search(r"Answer in (\w+)", system).group(1)
        word = LANGUAGE_WORDS[language]
        first = re.search(r"^\[1\] (.*)$", user, re.M).group(1)
        if self.mode == "naive" and "ignore previous instructions" in user.lower():
            return "HACKED ![pixel](http://evil.example/p.png) see http://evil.example"
        return {
            "cite_first": f"{word}: {first[:60]} [1].",
            "invalid_marker": f"{word}: {first[:60]} [999] [1].",
            "no_cite": f"{word} without any source.",
            "not_in_docs": "NOT_IN_DOCUMENTS",
            "naive": f"{word}: {first[:60]} [1].",
        }[self.mode]

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> Any:
            body = await request.json()
            self.requests.append(body)
            if self.delay:
                time.sleep(self.delay)
            if self.mode == "error":
                return JSONResponse({"error": {"message": "boom"}}, status_code=500)
            return {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 0,
                "model": body.get("model", "fake"),
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": self.reply(body)},
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }

        return app


def start(fake: FakeLLM) -> uvicorn.Server:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(fake.app(), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    fake.base_url = f"http://127.0.0.1:{port}/v1"
    return server
