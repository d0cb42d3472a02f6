"""Incremental, idempotent indexing: parse, embed what the cache lacks, write a build, switch."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import Stemmer
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import TextNode
from llama_index.retrievers.bm25 import BM25Retriever
from llama_index.vector_stores.chroma import ChromaVectorStore

from index.documents import SourceDocument, load_documents
from index.embeddings import EmbeddingCache
from index.parsing import ChunkParser, sentence_nodes, split_sentences, text_for_embedding
from index.store import (
    CHUNKS,
    RECIPE,
    SENTENCES,
    IndexLayout,
    Manifest,
    chroma_client,
    current_manifest,
    save_documents,
    verify_build,
    write_json,
)
from rag.errors import DocumentError, IndexCorruptError

Progress = Callable[[int, int], None]


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


def french_bm25(nodes: Sequence[TextNode], top_k: int) -> BM25Retriever:
    return BM25Retriever.from_defaults(
        nodes=list(nodes),
        stemmer=Stemmer.Stemmer("french"),
        language="french",
        similarity_top_k=top_k,
    )


class Indexer:
    """Writes builds of the index; embeddings come from the cache whenever the text is known."""

    def __init__(
        self,
        layout: IndexLayout,
        embed_model: BaseEmbedding,
        model_id: str,
        chunk_size: int,
        chunk_overlap: int,
        bm25_top_k: int = 8,
    ) -> None:
        self.layout = layout
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
        with self.layout.writer_lock():
            try:
                previous = None if rebuild else current_manifest(self.layout)
                if previous is not None:
                    verify_build(self.layout.build_dir(previous.build_id))
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

        nodes_and_texts: list[tuple[TextNode, str]] = []
        chunks: list[TextNode] = []
        sentences: list[TextNode] = []
        for document in documents:
            for node in self.parser.chunks(document):
                chunks.append(node)
                nodes_and_texts.append((node, chunk_embedding_text(document, node)))
            for node in sentence_nodes(document, split_sentences(document)):
                sentences.append(node)
                nodes_and_texts.append((node, sentence_embedding_text(document, node)))

        vectors = self._embed([text for _, text in nodes_and_texts], report, progress)
        for (node, _), vector in zip(nodes_and_texts, vectors, strict=True):
            node.embedding = vector

        build_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        build_dir = self.layout.build_dir(build_id)
        build_dir.mkdir(parents=True)
        client = chroma_client(build_dir / "chroma")
        for name, nodes in ((CHUNKS, chunks), (SENTENCES, sentences)):
            collection = client.create_collection(
                name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
            )
            ChromaVectorStore(chroma_collection=collection).add(nodes)
        french_bm25(chunks, self.bm25_top_k).persist(str(build_dir / "bm25"), show_progress=False)
        save_documents(build_dir / "documents.json", documents)
        candidate.build_id = build_id
        candidate.created_at = datetime.now(UTC).isoformat(timespec="seconds")
        candidate.dimension = len(vectors[0]) if vectors else 0
        candidate.chunk_count, candidate.sentence_count = len(chunks), len(sentences)
        write_json(build_dir / "manifest.json", candidate.__dict__)
        del client
        self.layout.switch_to(build_id)
        keep = {build_id} | ({previous.build_id} if previous else set())
        self.layout.remove_stale_builds(keep)

        report.build_id = build_id
        report.chunks, report.sentences = len(chunks), len(sentences)
        return report

    def _embed(
        self, texts: list[str], report: IndexReport, progress: Progress | None
    ) -> list[list[float]]:
        cache = EmbeddingCache(self.layout.cache_path, self.model_id)
        try:
            known = cache.get_many(texts)
            missing = list(dict.fromkeys(t for t in texts if cache.digest(t) not in known))
            report.embedded = len(missing)
            report.from_cache = sum(cache.digest(t) in known for t in texts)
            batch = self.embed_model.embed_batch_size
            if progress:
                progress(0, len(missing))
            for i in range(0, len(missing), batch):
                part = missing[i : i + batch]
                vectors = self.embed_model.get_text_embedding_batch(part)
                cache.put_many(list(zip(part, vectors, strict=True)))
                known.update({cache.digest(t): v for t, v in zip(part, vectors, strict=True)})
                if progress:
                    progress(min(i + batch, len(missing)), len(missing))
            return [known[cache.digest(t)] for t in texts]
        finally:
            cache.close()
