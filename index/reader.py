"""Opening the current build for querying: Chroma collections, BM25, documents, sentences."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
from chromadb.api.models.Collection import Collection
from llama_index.retrievers.bm25 import BM25Retriever
from llama_index.vector_stores.chroma import ChromaVectorStore

from index.documents import SourceDocument
from index.store import (
    BuildStore,
    IndexLayout,
    LocalBuildStore,
    Manifest,
    check_model,
    iter_records,
)
from rag.errors import IndexCorruptError, StoreUnavailableError


@dataclass(frozen=True)
class SentenceInfo:
    node_id: str
    doc_id: str
    start: int
    end: int
    boilerplate: bool
    is_question: bool
    section: str = ""
    terms: str | None = None  # stemmed terms, space-separated (index.terms); None in old builds


@dataclass
class LoadedIndex:
    location: str
    manifest: Manifest
    documents: dict[str, SourceDocument]
    chunk_store: ChromaVectorStore
    sentence_collection: Collection
    bm25: BM25Retriever
    sentences: dict[str, SentenceInfo]
    sentences_by_doc: dict[str, list[SentenceInfo]]

    def sentence_text(self, info: SentenceInfo) -> str:
        return self.documents[info.doc_id].text[info.start : info.end]

    def sentences_within(self, doc_id: str, start: int, end: int) -> list[SentenceInfo]:
        return [
            s for s in self.sentences_by_doc.get(doc_id, []) if s.start >= start and s.end <= end
        ]

    def sentence_vectors(self, node_ids: list[str]) -> dict[str, np.ndarray]:
        if not node_ids:
            return {}
        got = self.sentence_collection.get(ids=node_ids, include=["embeddings"])
        return {
            i: np.asarray(v, dtype=np.float32)
            for i, v in zip(got["ids"], got["embeddings"], strict=True)
        }


def open_index(source: Path | BuildStore, model_id: str, bm25_top_k: int) -> LoadedIndex:
    """The current build (of a data folder or a store), checked against the embedding model."""
    store = source if isinstance(source, BuildStore) else LocalBuildStore(IndexLayout(source))
    try:
        return _open(store, model_id, bm25_top_k)
    except httpx.TransportError as exc:
        raise StoreUnavailableError(
            f"{store.location} is unreachable ({exc}).",
            hint="Start the Chroma server or check RAG_CHROMA_HOST and RAG_CHROMA_PORT.",
        ) from exc


def _open(store: BuildStore, model_id: str, bm25_top_k: int) -> LoadedIndex:
    manifest = store.require_current_build()
    check_model(manifest, model_id)
    build_id = manifest.build_id
    try:
        documents = store.read_documents(build_id)
        chunks, sentence_collection = store.open_collections(build_id)
        if chunks.count() != manifest.chunk_count or (
            sentence_collection.count() != manifest.sentence_count
        ):
            raise IndexCorruptError(
                f"The index build {build_id} holds {chunks.count()} chunks and "
                f"{sentence_collection.count()} sentences; its manifest says "
                f"{manifest.chunk_count} and {manifest.sentence_count}.",
                hint="Rebuild it: rag index --rebuild",
            )
        metadata = store.read_sentence_records(build_id)
        if metadata is None:
            metadata = list(iter_records(sentence_collection, ["metadatas"], page_size=5000))
        if len(metadata) != manifest.sentence_count:
            raise IndexCorruptError(
                f"The index build {build_id} lists {len(metadata)} sentences; its manifest "
                f"says {manifest.sentence_count}.",
                hint="Rebuild it: rag index --rebuild",
            )
        bm25 = store.load_bm25(build_id, chunks)
    except (IndexCorruptError, httpx.TransportError):
        raise
    except Exception as exc:  # chroma and bm25s raise many types for damaged files
        raise IndexCorruptError(
            f"The index build {build_id} cannot be opened ({exc}).",
            hint="Rebuild it: rag index --rebuild",
        ) from exc
    bm25.similarity_top_k = max(1, min(bm25_top_k, manifest.chunk_count))

    sentences: dict[str, SentenceInfo] = {}
    by_doc: dict[str, list[SentenceInfo]] = defaultdict(list)
    for record in metadata:
        node_id, meta = record["id"], record["metadatas"]
        info = SentenceInfo(
            node_id=node_id,
            doc_id=str(meta["source_doc"]),
            start=int(meta["start"]),
            end=int(meta["end"]),
            boilerplate=bool(meta["boilerplate"]),
            is_question=bool(meta["is_question"]),
            section=str(meta.get("section") or ""),
            terms=meta.get("terms"),  # type: ignore[arg-type]
        )
        sentences[node_id] = info
        by_doc[info.doc_id].append(info)
    for infos in by_doc.values():
        infos.sort(key=lambda s: s.start)
    return LoadedIndex(
        location=store.location,
        manifest=manifest,
        documents=documents,
        chunk_store=ChromaVectorStore(chroma_collection=chunks),
        sentence_collection=sentence_collection,
        bm25=bm25,
        sentences=sentences,
        sentences_by_doc=dict(by_doc),
    )
