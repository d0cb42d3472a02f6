"""Opening the current build for querying: Chroma collections, BM25, documents, sentences."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import Stemmer
from chromadb.api.models.Collection import Collection
from llama_index.retrievers.bm25 import BM25Retriever
from llama_index.vector_stores.chroma import ChromaVectorStore

from index.documents import SourceDocument
from index.store import (
    CHUNKS,
    SENTENCES,
    IndexLayout,
    Manifest,
    check_model,
    chroma_client,
    load_documents_json,
    require_current_build,
)
from rag.errors import IndexCorruptError


@dataclass(frozen=True)
class SentenceInfo:
    node_id: str
    doc_id: str
    start: int
    end: int
    boilerplate: bool
    is_question: bool
    section: str = ""


@dataclass
class LoadedIndex:
    build_dir: Path
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


def open_index(data_dir: Path, model_id: str, bm25_top_k: int) -> LoadedIndex:
    """The current build, checked against the configured embedding model."""
    layout = IndexLayout(data_dir)
    build_dir, manifest = require_current_build(layout)
    check_model(manifest, model_id)
    documents = load_documents_json(build_dir / "documents.json")
    try:
        client = chroma_client(build_dir / "chroma")
        chunks = client.get_collection(CHUNKS)
        sentence_collection = client.get_collection(SENTENCES)
        if chunks.count() != manifest.chunk_count or (
            sentence_collection.count() != manifest.sentence_count
        ):
            raise IndexCorruptError(
                f"The index build {manifest.build_id} holds {chunks.count()} chunks and "
                f"{sentence_collection.count()} sentences; its manifest says "
                f"{manifest.chunk_count} and {manifest.sentence_count}.",
                hint="Rebuild it: rag index --rebuild",
            )
        metadata = sentence_collection.get(include=["metadatas"])
        bm25 = BM25Retriever.from_persist_dir(str(build_dir / "bm25"), show_progress=False)
    except IndexCorruptError:
        raise
    except Exception as exc:  # chroma and bm25s raise many types for damaged files
        raise IndexCorruptError(
            f"The index build {manifest.build_id} cannot be opened ({exc}).",
            hint="Rebuild it: rag index --rebuild",
        ) from exc
    # from_persist_dir forgets the stemmer (it defaults to English): restore French.
    bm25.stemmer = Stemmer.Stemmer("french")
    bm25.similarity_top_k = min(bm25_top_k, manifest.chunk_count)

    sentences: dict[str, SentenceInfo] = {}
    by_doc: dict[str, list[SentenceInfo]] = defaultdict(list)
    for node_id, meta in zip(metadata["ids"], metadata["metadatas"], strict=True):
        info = SentenceInfo(
            node_id=node_id,
            doc_id=str(meta["source_doc"]),
            start=int(meta["start"]),
            end=int(meta["end"]),
            boilerplate=bool(meta["boilerplate"]),
            is_question=bool(meta["is_question"]),
            section=str(meta.get("section") or ""),
        )
        sentences[node_id] = info
        by_doc[info.doc_id].append(info)
    for infos in by_doc.values():
        infos.sort(key=lambda s: s.start)
    return LoadedIndex(
        build_dir=build_dir,
        manifest=manifest,
        documents=documents,
        chunk_store=ChromaVectorStore(chroma_collection=chunks),
        sentence_collection=sentence_collection,
        bm25=bm25,
        sentences=sentences,
        sentences_by_doc=dict(by_doc),
    )
