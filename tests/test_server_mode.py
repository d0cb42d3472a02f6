"""Server mode against a real `chroma run`: one writer, replicas that follow new builds, and a
Chroma server stopped and restarted under load."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from index import server_store
from index.local_chroma import free_port
from index.server_store import ServerBuildStore, WriterLease
from rag.api import create_app
from rag.errors import IndexBusyError, IndexCorruptError
from rag.service import AnswerService, make_store, run_indexing
from rag.settings import RagSettings
from tests.conftest import SEEDS, ChromaServer

QUESTION = "Combien de fois la police fédérale belge a-t-elle utilisé Clearview ?"


def _warm(seed_settings: RagSettings, data_dir: Path) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(seed_settings.data_dir / "embeddings.sqlite", data_dir / "embeddings.sqlite")
    return data_dir


def _serve(settings: RagSettings, service: AnswerService) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, service), host="127.0.0.1", port=port, log_level="error"
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    while not running.started and thread.is_alive():
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=10)


def _wait_for(condition, what: str, limit: float = 120) -> None:
    """Poll until `condition()`; the limit only stops a hung test, it measures nothing."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.1)


def test_a_replica_reads_the_sentence_table_from_the_build_s_records(
    chroma_server: ChromaServer,
    seed_settings: RagSettings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(server_store, "SENTENCE_PART", 50)  # several parts for 202 sentences
    settings = chroma_server.settings(_warm(seed_settings, tmp_path / "data"), chroma_prefix="tbl")
    report = run_indexing(settings)
    store = make_store(settings)
    assert isinstance(store, ServerBuildStore)
    table = store.read_sentence_records(report.build_id)
    assert table is not None and len(table) == report.sentences
    _, sentences = store.open_collections(report.build_id)
    stored = sentences.get(include=["metadatas"])  # type: ignore[list-item]
    by_id = dict(zip(stored["ids"], stored["metadatas"], strict=True))  # type: ignore[arg-type]
    keys = ("source_doc", "start", "end", "boilerplate", "is_question", "section", "terms")
    assert all(
        {k: row["metadatas"][k] for k in keys} == {k: by_id[row["id"]][k] for k in keys}
        for row in table
    )
    meta = store._meta(report.build_id)
    parts = meta.get(where={"kind": "sentences"})["ids"]
    assert len(parts) == 5
    meta.delete(ids=parts[:1])  # a part lost: refused, with the rebuild hint
    with pytest.raises(IndexCorruptError, match="sentence table"):
        store.read_sentence_records(report.build_id)
    meta.delete(ids=parts[1:])  # a build from before the table: read from the collection
    assert store.read_sentence_records(report.build_id) is None
    assert len(AnswerService.start(settings).index.sentences) == report.sentences


def test_one_writer_at_a_time_across_machines(
    chroma_server: ChromaServer, seed_settings: RagSettings, tmp_path: Path
) -> None:
    settings = chroma_server.settings(_warm(seed_settings, tmp_path / "a"), chroma_prefix="lock")
    other_machine = chroma_server.settings(
        _warm(seed_settings, tmp_path / "b"), chroma_prefix="lock"
    )
    store = make_store(settings)
    assert isinstance(store, ServerBuildStore)
    lease = WriterLease(store.client, "lock-writer", ttl_seconds=60)
    lease.acquire()
    try:
        with pytest.raises(IndexBusyError, match="Another process"):
            run_indexing(other_machine)
    finally:
        lease.release()
    assert run_indexing(other_machine).chunks > 0

    # A writer killed on this machine leaves its lease behind; the next writer takes it over.
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    stale = WriterLease(store.client, "lock-writer", ttl_seconds=60)
    stale.acquire()
    stale._stop.set()
    stale._collection().modify(metadata={**stale._metadata(), "pid": int(dead.stdout)})
    assert run_indexing(settings, rebuild=True).chunks > 0
    with pytest.raises(IndexBusyError, match="lost its lease"):
        stale.check()


def test_a_replica_follows_a_new_build_without_restart(
    chroma_server: ChromaServer, seed_settings: RagSettings, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("000_3f3c3cb774209368.txt", "001_0858471518292074.txt"):
        shutil.copy(SEEDS / name, corpus)
    writer_settings = chroma_server.settings(
        _warm(seed_settings, tmp_path / "writer"), seeds=corpus, chroma_prefix="hot"
    )
    run_indexing(writer_settings)
    replica = AnswerService.start(
        chroma_server.settings(
            tmp_path / "replica", chroma_prefix="hot", auto_index=False, index_poll_seconds=0.2
        )
    )
    assert set(replica.index.documents) == {"000_3f3c3cb774209368", "001_0858471518292074"}
    stop = threading.Event()
    watcher = replica.watch_index(stop)
    try:
        shutil.copy(SEEDS / "003_865f7c62c8473996.txt", corpus)
        published = run_indexing(writer_settings)
        _wait_for(lambda: replica.index.manifest.build_id == published.build_id, "the switch")
    finally:
        stop.set()
        assert watcher is not None
        watcher.join(timeout=10)
    assert "003_865f7c62c8473996" in replica.index.documents
    answer = replica.ask("Quand Briefcam a-t-il été désactivé ?")
    assert any(c.doc_id == "003_865f7c62c8473996" for c in answer.citations)


def test_chroma_restarted_under_load_gives_503_then_answers_again(
    seed_settings: RagSettings, tmp_path: Path
) -> None:
    chroma = ChromaServer(tmp_path / "chroma")
    chroma.start()
    try:
        settings = chroma.settings(
            _warm(seed_settings, tmp_path / "data"), max_concurrent_requests=16
        )
        run_indexing(settings)
        service = AnswerService.start(settings)
        statuses: Counter[tuple[int, str]] = Counter()
        phase = {"name": "up"}
        stop = threading.Event()

        def client() -> None:
            while not stop.is_set():
                try:
                    response = httpx.post(url + "/api/ask", json={"question": QUESTION}, timeout=30)
                except httpx.HTTPError as exc:  # the app itself must never drop a request
                    statuses[(-1, repr(exc))] += 1
                    continue
                kind = "" if response.status_code == 200 else response.json()["error"]["type"]
                statuses[(response.status_code, f"{phase['name']}:{kind}")] += 1

        serving = _serve(settings, service)
        url = next(serving)
        clients = [threading.Thread(target=client, daemon=True) for _ in range(4)]
        for thread in clients:
            thread.start()
        _wait_for(lambda: statuses[(200, "up:")] >= 10, "answers before the outage")
        chroma.stop()
        phase["name"] = "down"
        _wait_for(lambda: statuses[(503, "down:index_store_unavailable")] >= 10, "503 while down")
        ready = httpx.get(url + "/readyz", timeout=30)
        assert ready.status_code == 503 and ready.headers["retry-after"]
        chroma.start()
        phase["name"] = "back"
        _wait_for(lambda: statuses[(200, "back:")] >= 10, "answers after the restart")
        stop.set()
        for thread in clients:
            thread.join(timeout=30)
        assert httpx.get(url + "/readyz", timeout=30).status_code == 200
        next(serving, None)
    finally:
        chroma.stop()
    unexpected = {
        key: n
        for key, n in statuses.items()
        if key[0] not in (200, 503) or (key[0] == 503 and "index_store_unavailable" not in key[1])
    }
    assert not unexpected, unexpected


def test_an_unreachable_chroma_server_is_a_clear_error(
    seed_settings: RagSettings, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from rag.cli import app
    from tests.conftest import env_for

    nobody = {
        **env_for(seed_settings.model_copy(update={"data_dir": tmp_path})),
        "RAG_CHROMA_HOST": "127.0.0.1",
        "RAG_CHROMA_PORT": str(free_port()),
    }
    for command in (["index"], ["ask", "Qui ?"], ["docs"]):
        result = CliRunner().invoke(app, command, env=nobody)
        assert result.exit_code == 9, (command, result.output)
        assert "unreachable" in result.stderr and "Traceback" not in result.output
