"""Load test (not a test): N concurrent clients for a fixed time against a `rag serve` process
on loopback, on `/api/ask` and `/v1/chat/completions`; requests/s, latency percentiles, errors.

    .venv/bin/python scripts/load.py [--seconds 8] [--clients 1 8 32] [--max-concurrent 64]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "Combien de fois la police fédérale belge a-t-elle utilisé Clearview ?",
    "When was Briefcam switched off?",
    "Hoeveel keer gebruikte de federale politie Clearview?",
    "Qui a décidé le classement sans suite du signalement des députés LFI ?",
    "Which Interior ministers were named in the complaint about Briefcam?",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def body(endpoint: str, i: int) -> dict:
    question = QUESTIONS[i % len(QUESTIONS)]
    if endpoint == "/api/ask":
        return {"question": question}
    return {"model": "rag-extractive", "messages": [{"role": "user", "content": question}]}


async def scenario(base: str, endpoint: str, clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    statuses: dict[int | str, int] = {}
    stop = time.monotonic() + seconds

    async def client(n: int, http: httpx.AsyncClient) -> None:
        i = n
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                response = await http.post(base + endpoint, json=body(endpoint, i))
                status: int | str = response.status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
            i += clients

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        await asyncio.gather(*(client(n, http) for n in range(clients)))
    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    ok = statuses.get(200, 0)
    return {
        "endpoint": endpoint,
        "clients": clients,
        "requests": len(latencies),
        "rps": ok / seconds,
        "p50": pct(0.5),
        "p95": pct(0.95),
        "p99": pct(0.99),
        "errors": {k: v for k, v in statuses.items() if k != 200},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument(
        "--max-concurrent",
        type=int,
        default=64,
        help="RAG_MAX_CONCURRENT_REQUESTS for the server under test",
    )
    args = parser.parse_args()
    port = free_port()
    env = {
        **os.environ,
        "RAG_PORT": str(port),
        "RAG_MAX_CONCURRENT_REQUESTS": str(args.max_concurrent),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        rows = [
            asyncio.run(scenario(base, endpoint, clients, args.seconds))
            for endpoint in ("/api/ask", "/v1/chat/completions")
            for clients in args.clients
        ]
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        f"{args.seconds:.0f} s per scenario, one `rag serve` process (uvicorn, 1 worker), "
        f"RAG_MAX_CONCURRENT_REQUESTS={args.max_concurrent}, 2 cores, loopback.\n"
    )
    print("| endpoint | clients | requests | ok req/s | p50 ms | p95 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        errors = ", ".join(f"{k}: {v}" for k, v in r["errors"].items()) or "0"
        print(
            f"| `{r['endpoint']}` | {r['clients']} | {r['requests']} | {r['rps']:.1f} | "
            f"{r['p50']:.0f} | {r['p95']:.0f} | {r['p99']:.0f} | {errors} |"
        )


if __name__ == "__main__":
    main()
