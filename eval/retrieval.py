"""Retrieval metrics per retriever (dense, BM25, fused) with LlamaIndex's RetrieverEvaluator.

A chunk is relevant to a question when it comes from a supporting document and holds one of
the question's key facts; chunk ids are stable (`<doc id>:c<start>-<end>`)."""

from __future__ import annotations

from typing import Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.evaluation import RetrieverEvaluator

from eval.gold import GoldQuestion
from index.text import fold
from rag.service import AnswerService

DEFINITIONS = {
    "hit_rate": "questions with at least one relevant chunk among the k retrieved / questions",
    "mrr": "mean over questions of 1 / rank of the first relevant chunk (0 when none)",
}


def relevant_chunks(chunks: dict[str, tuple[str, str]], question: GoldQuestion) -> list[str]:
    """Ids of the chunks (id -> (document id, text)) relevant to `question`."""
    return [
        node_id
        for node_id, (doc_id, text) in chunks.items()
        if doc_id in question.supporting_docs
        and any(fold(alias) in fold(text) for fact in question.facts for alias in fact)
    ]


def retrieval_metrics(
    service: AnswerService, questions: list[GoldQuestion]
) -> dict[str, dict[str, Any]]:
    hybrid = service.engine.retriever
    retrievers: dict[str, tuple[BaseRetriever, int]] = {
        "dense": (hybrid.dense, service.settings.dense_top_k),
        "bm25": (hybrid.lexical, service.settings.bm25_top_k),
        "fused": (hybrid, service.settings.fused_top_k),
    }
    answerable = [q for q in questions if q.answerable]
    stored = service.index.chunk_store.client.get(include=["documents", "metadatas"])
    chunks = {
        node_id: (str(meta.get("source_doc")), text)
        for node_id, text, meta in zip(
            stored["ids"], stored["documents"], stored["metadatas"], strict=True
        )
    }
    expected = {q.id: relevant_chunks(chunks, q) for q in answerable}
    report: dict[str, dict[str, Any]] = {}
    for name, (retriever, k) in retrievers.items():
        evaluator = RetrieverEvaluator.from_metric_names(["hit_rate", "mrr"], retriever=retriever)
        sums = {"hit_rate": 0.0, "mrr": 0.0}
        for q in answerable:
            result = evaluator.evaluate(query=q.question, expected_ids=expected[q.id])
            for metric in sums:
                sums[metric] += result.metric_vals_dict[metric]
        report[name] = {
            "k": k,
            "questions": len(answerable),
            **{m: round(v / max(len(answerable), 1), 3) for m, v in sums.items()},
        }
    return report
