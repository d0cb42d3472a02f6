"""Incremental, idempotent indexing: parse, embed what the cache lacks, write a build, switch."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import TextNode
from llama_index.vector_stores.chroma import ChromaVectorStore

from index.documents import SourceDocument, load_documents
from index.embeddings import EmbeddingCache
from index.parsing import ChunkParser, sentence_nodes, split_sentences, text_for_embedding
from index.store import RECIPE, BuildStore, Manifest, SentenceRecord, french_bm25
from rag.errors import DocumentError, IndexCorruptError

# progress(done, total, phase): phase names the step ("Embedding", "Storing").
Progress = Callable[..., None]
STORE_BATCH = 2000
DOCUMENT_BATCH = 32


@dataclass
class IndexReport:
    build_id: str
    up_to_date: bool
    documents: int
    chunks: int
    sentences: int
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[DocumentError] = field(default_factory=list)
    embedded: int = 0
    from_cache: int = 0
    seconds: float = 0.0


def chunk_embedding_text(document: SourceDocument, node: TextNode) -> str:
    return f"{document.title}\n{text_for_embedding(node.text)}"


def sentence_embedding_text(document: SourceDocument, node: TextNode) -> str:
    # The title gives a sentence its subject ("il a été désactivé" -> Briefcam).
    return f"{document.title} : {text_for_embedding(node.text)}"


class Indexer:
    """Writes builds of the index; embeddings come from the cache whenever the text is known."""

    def __init__(
        self,
        store: BuildStore,
        embed_model: BaseEmbedding,
        model_id: str,
        chunk_size: int,
        chunk_overlap: int,
        bm25_top_k: int = 8,
    ) -> None:
        self.store = store
        self.layout = store.layout
        self.embed_model = embed_model
        self.model_id = model_id
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.bm25_top_k = bm25_top_k
        self.parser = ChunkParser(chunk_size, chunk_overlap)

    def run(
        self,
        paths: Sequence[Path],
        catalog_path: Path | None = None,
        rebuild: bool = False,
        progress: Progress | None = None,
    ) -> IndexReport:
        started = time.perf_counter()
        loaded = load_documents(paths, catalog_path)
        with self.store.writer_lock():
            try:
                previous = None if rebuild else self.store.current_manifest()
                if previous is not None:
                    self.store.verify(previous.build_id)
            except IndexCorruptError:
                previous = None  # a damaged index is replaced by a fresh build
            report = self._build(loaded.documents, previous, progress)
        report.skipped = loaded.errors
        report.seconds = time.perf_counter() - started
        return report

    def _build(
        self,
        documents: list[SourceDocument],
        previous: Manifest | None,
        progress: Progress | None,
    ) -> IndexReport:
        hashes = {d.doc_id: d.content_hash for d in documents}
        old = previous.documents if previous and previous.model_id == self.model_id else {}
        report = IndexReport(
            build_id="",
            up_to_date=False,
            documents=len(documents),
            chunks=0,
            sentences=0,
            added=sorted(set(hashes) - set(old)),
            updated=sorted(d for d in hashes if d in old and old[d] != hashes[d]),
            removed=sorted(set(old) - set(hashes)),
            unchanged=sorted(d for d in hashes if old.get(d) == hashes[d]),
        )
        candidate = Manifest(
            build_id="",
            created_at="",
            model_id=self.model_id,
            dimension=0,
            chunk_size=self.chunk_size,
            chunk_overlap=self.chunk_overlap,
            documents=hashes,
            chunk_count=0,
            sentence_count=0,
            recipe=RECIPE,
        )
        if previous is not None and previous.same_content(candidate):
            report.build_id = previous.build_id
            report.up_to_date = True
            report.chunks, report.sentences = previous.chunk_count, previous.sentence_count
            return report

        build_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        chunk_collection, sentence_collection = self.store.create_collections(build_id)
        chunk_store = ChromaVectorStore(chroma_collection=chunk_collection)
        sentence_store = ChromaVectorStore(chroma_collection=sentence_collection)
        chunks: list[TextNode] = []  # kept, without vectors, for BM25
        sentence_records: list[SentenceRecord] = []
        dimension = 0
        cache = EmbeddingCache(self.layout.cache_path, self.model_id)
        try:
            # Documents a batch at a time: vectors never pile up (only the chunk texts, for
            # BM25, and the sentence table are kept), and what an interrupted run embedded is
            # in the cache for the next one.
            for first in range(0, len(documents), DOCUMENT_BATCH):
                batch_chunks: list[TextNode] = []
                batch_sentences: list[TextNode] = []
                chunk_texts: list[str] = []
                sentence_texts: list[str] = []
                for document in documents[first : first + DOCUMENT_BATCH]:
                    for node in self.parser.chunks(document):
                        batch_chunks.append(node)
                        chunk_texts.append(chunk_embedding_text(document, node))
                    for node in sentence_nodes(document, split_sentences(document)):
                        batch_sentences.append(node)
                        sentence_texts.append(sentence_embedding_text(document, node))
                texts = chunk_texts + sentence_texts  # in the order of `nodes` below
                batch_size = len(documents[first : first + DOCUMENT_BATCH])

                def tick(fraction: float, first: int = first, size: int = batch_size) -> None:
                    if progress:
                        progress(first + fraction * size, len(documents), "Indexing documents")

                vectors = self._embed(cache, texts, report, tick)
                nodes = batch_chunks + batch_sentences
                for node, vector in zip(nodes, vectors, strict=True):
                    node.embedding = vector
                    dimension = dimension or len(vector)
                for store, part in ((chunk_store, batch_chunks), (sentence_store, batch_sentences)):
                    for i in range(0, len(part), STORE_BATCH):
                        store.add(part[i : i + STORE_BATCH])
                for node in batch_chunks:
                    node.embedding = None
                chunks.extend(batch_chunks)
                sentence_records.extend(
                    {"id": node.id_, "metadatas": node.metadata} for node in batch_sentences
                )
                tick(1.0)
        finally:
            cache.close()
        self.store.save_build_files(
            build_id, documents, french_bm25(chunks, self.bm25_top_k), sentence_records
        )
        sentence_count = len(sentence_records)
        candidate.build_id = build_id
        candidate.created_at = datetime.now(UTC).isoformat(timespec="seconds")
        candidate.dimension = dimension
        candidate.chunk_count, candidate.sentence_count = len(chunks), sentence_count
        self.store.save_manifest(build_id, candidate)  # last: a build without one is partial
        del chunk_collection, sentence_collection
        self.store.switch_to(build_id)
        keep = {build_id} | ({previous.build_id} if previous else set())
        self.store.remove_stale_builds(keep)

        report.build_id = build_id
        report.chunks, report.sentences = len(chunks), sentence_count
        return report

    def _embed(
        self,
        cache: EmbeddingCache,
        texts: list[str],
        report: IndexReport,
        tick: Callable[[float], None],
    ) -> list[Any]:
        """Vectors for `texts`: from the cache, else embedded (and cached at once)."""
        vectors, embedded = cache.embedded(
            texts,
            self.embed_model.get_text_embedding_batch,
            self.embed_model.embed_batch_size,
            lambda done: tick(0.95 * done),  # storing is the rest
        )
        report.embedded += embedded
        report.from_cache += len(texts) - embedded
        return vectors
