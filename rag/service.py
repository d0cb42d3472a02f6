"""The question-answering service every edge (CLI, HTTP, chat page) calls."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.response_synthesizers import BaseSynthesizer
from llama_index.core.schema import QueryBundle

from index.builder import Indexer, IndexReport
from index.embeddings import build_embed_model, embedding_model_id
from index.reader import LoadedIndex, open_index
from index.store import IndexLayout
from rag.errors import IndexMissingError, QuestionError
from rag.extractive import ExtractiveSynthesizer
from rag.language import detect_language
from rag.models import Answer, Citation
from rag.retrieval import HybridRetriever
from rag.settings import RagSettings

Progress = Callable[[int, int], None]


def make_indexer(settings: RagSettings, embed_model: BaseEmbedding) -> Indexer:
    return Indexer(
        IndexLayout(settings.data_dir),
        embed_model,
        embedding_model_id(settings),
        settings.chunk_size,
        settings.chunk_overlap,
        settings.bm25_top_k,
    )


def run_indexing(
    settings: RagSettings,
    paths: list[Path] | None = None,
    rebuild: bool = False,
    progress: Progress | None = None,
    embed_model: BaseEmbedding | None = None,
) -> IndexReport:
    indexer = make_indexer(settings, embed_model or build_embed_model(settings))
    catalog = settings.resolved_catalog_path
    return indexer.run(paths or [settings.seeds_dir], catalog, rebuild=rebuild, progress=progress)


class AnswerService:
    """Loads the embedding model and the index once, then answers questions."""

    def __init__(
        self,
        settings: RagSettings,
        embed_model: BaseEmbedding,
        index: LoadedIndex,
        synthesizer: BaseSynthesizer | None = None,
    ) -> None:
        self.settings = settings
        self.embed_model = embed_model
        self.index = index
        self.engine = RetrieverQueryEngine(
            retriever=HybridRetriever(index, embed_model, settings),
            response_synthesizer=synthesizer or ExtractiveSynthesizer(index, settings),
        )

    @classmethod
    def start(
        cls,
        settings: RagSettings,
        progress: Progress | None = None,
        on_auto_index: Callable[[IndexReport], None] | None = None,
    ) -> AnswerService:
        embed_model = build_embed_model(settings)
        model_id = embedding_model_id(settings)
        try:
            index = open_index(settings.data_dir, model_id, settings.bm25_top_k)
        except IndexMissingError:
            if not settings.auto_index:
                raise
            report = run_indexing(settings, progress=progress, embed_model=embed_model)
            if on_auto_index:
                on_auto_index(report)
            index = open_index(settings.data_dir, model_id, settings.bm25_top_k)
        return cls(settings, embed_model, index)

    def validate(self, question: str) -> str:
        cleaned = question.strip()
        if not cleaned:
            raise QuestionError(
                "The question is empty.",
                hint='Ask something, e.g. "Combien de fois la police a-t-elle utilisé Clearview ?"',
            )
        if len(cleaned) > self.settings.max_question_chars:
            raise QuestionError(
                f"The question is {len(cleaned)} characters long; the limit is "
                f"{self.settings.max_question_chars}.",
                hint="Ask a shorter question.",
            )
        if not any(ch.isalnum() for ch in cleaned):
            raise QuestionError("The question has no words in it.")
        return cleaned

    def ask(self, question: str) -> Answer:
        started = time.perf_counter()
        question = self.validate(question)
        language = detect_language(question)
        embedding = self.embed_model.get_query_embedding(question)
        embedded = time.perf_counter()
        bundle = QueryBundle(query_str=question, embedding=embedding)
        nodes = self.engine.retrieve(bundle)
        retrieved = time.perf_counter()
        response = self.engine.synthesize(bundle, nodes)
        done = time.perf_counter()
        meta = response.metadata or {}
        citations = []
        for marker, hit in enumerate(response.source_nodes, start=1):
            doc = self.index.documents[hit.node.metadata["source_doc"]]
            start, end = hit.node.start_char_idx or 0, hit.node.end_char_idx or 0
            citations.append(
                Citation(
                    marker=marker,
                    doc_id=doc.doc_id,
                    title=doc.title,
                    date=doc.date,
                    publisher=doc.publisher,
                    text=doc.text[start:end],
                    start=start,
                    end=end,
                    score=round(hit.score or 0.0, 4),
                )
            )
        return Answer(
            question=question,
            answer=str(response.response),
            abstained=bool(meta.get("abstained")),
            mode="extractive",
            language=language,
            citations=citations,
            conflict=bool(meta.get("conflict")),
            confidence=round(float(meta.get("confidence", 0.0)), 4),
            timings_ms={
                "embed_query": round((embedded - started) * 1000, 1),
                "retrieve": round((retrieved - embedded) * 1000, 1),
                "synthesize": round((done - retrieved) * 1000, 1),
                "total": round((done - started) * 1000, 1),
            },
        )

    def documents(self) -> list[dict[str, str | int | None]]:
        return [
            {**doc.catalog_entry(), "characters": len(doc.text)}
            for doc in sorted(self.index.documents.values(), key=lambda d: d.doc_id)
        ]
