"""Load test (not a test): N concurrent clients for a fixed time against `rag serve` on
loopback, on `/api/ask` and `/v1/chat/completions`; requests/s, latency percentiles, errors.

    .venv/bin/python scripts/load.py [--seconds 8] [--clients 1 8 32] [--max-concurrent 64]
    .venv/bin/python scripts/load.py --server --replicas 1 2 --clients 8 32

Embedded mode runs one process over the data folder (RAG_DATA_DIR). `--server` starts a
`chroma run` on loopback, indexes the seeds into it, and starts each number of `rag serve`
replicas against it; clients spread over the replicas in turn (client-side round robin, as a
proxy would).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from index.local_chroma import ChromaProcess, free_port

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "Combien de fois la police fédérale belge a-t-elle utilisé Clearview ?",
    "When was Briefcam switched off?",
    "Hoeveel keer gebruikte de federale politie Clearview?",
    "Qui a décidé le classement sans suite du signalement des députés LFI ?",
    "Which Interior ministers were named in the complaint about Briefcam?",
]


def body(endpoint: str, i: int) -> dict:
    question = QUESTIONS[i % len(QUESTIONS)]
    if endpoint == "/api/ask":
        return {"question": question}
    return {"model": "rag-extractive", "messages": [{"role": "user", "content": question}]}


async def scenario(bases: list[str], endpoint: str, clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    statuses: dict[int | str, int] = {}
    stop = time.monotonic() + seconds

    async def client(n: int, http: httpx.AsyncClient) -> None:
        i = n
        base = bases[n % len(bases)]
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


def start_serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "serve"],
        cwd=ROOT,
        env={**env, "RAG_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_ready(base: str) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{base} never became ready")


def start_chroma(env: dict[str, str]) -> tuple[ChromaProcess, dict[str, str]]:
    """A Chroma server on loopback with the seeds indexed into it (embeddings from the cache
    of RAG_DATA_DIR when there is one)."""
    work = Path(tempfile.mkdtemp(prefix="rag-load-"))
    chroma = ChromaProcess(work / "chroma")
    chroma.start()
    cache = Path(env.get("RAG_DATA_DIR", ROOT / ".rag")) / "embeddings.sqlite"
    (work / "data").mkdir()
    if cache.exists():
        shutil.copy(cache, work / "data" / "embeddings.sqlite")
    env = {
        **env,
        "RAG_CHROMA_HOST": chroma.host,
        "RAG_CHROMA_PORT": str(chroma.port),
        "RAG_DATA_DIR": str(work / "data"),
    }
    subprocess.run(
        [sys.executable, "-m", "rag.cli", "index"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return chroma, env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--server", action="store_true", help="Chroma server mode")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1])
    parser.add_argument(
        "--max-concurrent",
        type=int,
        default=64,
        help="RAG_MAX_CONCURRENT_REQUESTS for the server under test",
    )
    args = parser.parse_args()
    env = {**os.environ, "RAG_MAX_CONCURRENT_REQUESTS": str(args.max_concurrent)}
    chroma = None
    if args.server:
        chroma, env = start_chroma(env)
    rows = []
    try:
        for replicas in args.replicas:
            ports = [free_port() for _ in range(replicas)]
            servers = [start_serve(env, port) for port in ports]
            bases = [f"http://127.0.0.1:{port}" for port in ports]
            try:
                for base in bases:
                    wait_ready(base)
                rows += [
                    {
                        "replicas": replicas,
                        **asyncio.run(scenario(bases, path, n, args.seconds)),
                    }
                    for path in ("/api/ask", "/v1/chat/completions")
                    for n in args.clients
                ]
            finally:
                for server in servers:
                    server.terminate()
                    server.wait(timeout=30)
    finally:
        if chroma is not None:
            chroma.stop()
    mode = "Chroma server mode (`chroma run` on loopback)" if args.server else "embedded Chroma"
    print(
        f"{args.seconds:.0f} s per scenario, {mode}, `rag serve` replicas of 1 uvicorn worker, "
        f"RAG_MAX_CONCURRENT_REQUESTS={args.max_concurrent}, 2 cores, loopback.\n"
    )
    print(
        "| replicas | endpoint | clients | requests | ok req/s | p50 ms | p95 ms | p99 ms "
        "| errors |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        errors = ", ".join(f"{k}: {v}" for k, v in r["errors"].items()) or "0"
        print(
            f"| {r['replicas']} | `{r['endpoint']}` | {r['clients']} | {r['requests']} | "
            f"{r['rps']:.1f} | {r['p50']:.0f} | {r['p95']:.0f} | {r['p99']:.0f} | {errors} |"
        )


if __name__ == "__main__":
    main()
