"""A `chroma run` on loopback, for tests, benchmarks and trying server mode on one machine.

The binary comes with the chromadb package, beside this Python's executable.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ChromaProcess:
    """`chroma run --path PATH` on 127.0.0.1, which may be stopped and started again."""

    def __init__(self, path: Path, port: int | None = None, log: Path | None = None) -> None:
        self.path = path
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self, timeout: float = 60) -> None:
        chroma = Path(sys.executable).parent / "chroma"
        command = [str(chroma), "run", "--path", str(self.path), "--host", self.host]
        log = open(self.log, "ab") if self.log else contextlib.nullcontext(subprocess.DEVNULL)  # noqa: SIM115
        with log as output:
            self.process = subprocess.Popen(
                [*command, "--port", str(self.port)],
                stdout=output,
                stderr=subprocess.STDOUT,
                env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"chroma run did not start (log: {self.log or 'not kept'})")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
