"""Shared fixtures: one real index over seeds/ per test session, no network."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from index.local_chroma import ChromaProcess
from rag.service import AnswerService, run_indexing
from rag.settings import RagSettings

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture(autouse=True, scope="session")
def no_outside_network() -> Iterator[None]:
    """Tests may talk to loopback only; anything else fails loudly."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and host not in ("127.0.0.1", "::1", "localhost"):
            raise OSError(f"network access to {host} blocked in tests")
        return real_connect(self, address)

    socket.socket.connect = guarded  # type: ignore[method-assign]
    yield
    socket.socket.connect = real_connect  # type: ignore[method-assign]


def settings_for(data_dir: Path, seeds: Path = SEEDS, **overrides: object) -> RagSettings:
    return RagSettings(
        data_dir=data_dir, seeds_dir=seeds, catalog_path=SEEDS / "catalog.json", **overrides
    )


def env_for(settings: RagSettings) -> dict[str, str]:
    """Environment that makes the CLI use `settings` (for CliRunner and subprocesses)."""
    return {
        "RAG_DATA_DIR": str(settings.data_dir),
        "RAG_SEEDS_DIR": str(settings.seeds_dir),
        "RAG_CATALOG_PATH": str(settings.resolved_catalog_path),
        "RAG_EMBED_BACKEND": settings.embed_backend,
        "RAG_EMBED_MODEL": settings.embed_model,
        "RAG_AUTO_INDEX": "true" if settings.auto_index else "false",
    }


@pytest.fixture(scope="session")
def seed_settings(tmp_path_factory: pytest.TempPathFactory) -> RagSettings:
    """Settings of the session's index over seeds/, built once."""
    settings = settings_for(tmp_path_factory.mktemp("seed-index"))
    run_indexing(settings)
    return settings


@pytest.fixture(scope="session")
def service(seed_settings: RagSettings) -> AnswerService:
    return AnswerService.start(seed_settings)


@pytest.fixture
def warm_data_dir(seed_settings: RagSettings, tmp_path: Path) -> Path:
    """An empty data dir whose embedding cache already knows the seed texts (fast rebuilds)."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copy(seed_settings.data_dir / "embeddings.sqlite", data_dir / "embeddings.sqlite")
    return data_dir


@pytest.fixture
def seed_copy(tmp_path: Path) -> Path:
    """A writable copy of the seed corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(SEEDS, target)
    return target


class ChromaServer(ChromaProcess):
    """A real `chroma run` on loopback, which tests may stop and start again."""

    def __init__(self, path: Path, port: int | None = None) -> None:
        super().__init__(path, port)
        self.log = path.parent / f"chroma-{self.port}.log"

    def settings(self, data_dir: Path, **overrides: object) -> RagSettings:
        return settings_for(data_dir, chroma_host=self.host, chroma_port=self.port, **overrides)


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server") / "db")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def server_settings(
    chroma_server: ChromaServer,
    seed_settings: RagSettings,
    tmp_path_factory: pytest.TempPathFactory,
) -> RagSettings:
    """Settings of a seed index on the session's Chroma server (embeddings from the cache)."""
    data_dir = tmp_path_factory.mktemp("server-mode")
    shutil.copy(seed_settings.data_dir / "embeddings.sqlite", data_dir / "embeddings.sqlite")
    settings = chroma_server.settings(data_dir)
    run_indexing(settings)
    return settings


@pytest.fixture(scope="session")
def server_service(server_settings: RagSettings) -> AnswerService:
    return AnswerService.start(server_settings)
