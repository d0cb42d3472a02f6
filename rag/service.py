"""The question-answering service every edge (CLI, HTTP, chat page) calls."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.response_synthesizers import BaseSynthesizer
from llama_index.core.schema import NodeWithScore, QueryBundle

from index.builder import Indexer, IndexReport
from index.embeddings import build_embed_model, embedding_model_id
from index.reader import LoadedIndex, open_index
from index.store import RECIPE, BuildStore, IndexLayout, LocalBuildStore
from rag.errors import IndexMissingError, QuestionError, StoreUnavailableError
from rag.extractive import Candidate, ExtractiveSynthesizer
from rag.generative import SourceBlock, llm_context
from rag.language import detect_language
from rag.models import Answer, Citation, RelatedPassage
from rag.retrieval import HybridRetriever
from rag.settings import RagSettings

Progress = Callable[..., None]
# Words by which a follow-up leans on the previous question ("et elle ?", "what about it?").
_REFERRING_WORDS = {
    "il",
    "elle",
    "ils",
    "elles",
    "cela",
    "ça",
    "celui",
    "celle",
    "ceux",
    "lui",
    "leur",
    "it",
    "they",
    "them",
    "that",
    "this",
    "those",
    "these",
    "its",
    "their",
    "het",
    "hij",
    "zij",
    "ze",
    "dat",
    "deze",
    "die",
    "dit",
    "hun",
    "zijn",
}


log = logging.getLogger(__name__)


def make_store(settings: RagSettings) -> BuildStore:
    """Embedded Chroma in data_dir, or the Chroma server the settings name."""
    layout = IndexLayout(settings.data_dir)
    if not settings.chroma_host:
        return LocalBuildStore(layout)
    from index.server_store import ServerBuildStore, connect

    token = settings.chroma_token.get_secret_value() if settings.chroma_token else None
    client = connect(settings.chroma_host, settings.chroma_port, settings.chroma_ssl, token)
    return ServerBuildStore(
        client,
        layout,
        prefix=settings.chroma_prefix,
        address=f"{settings.chroma_host}:{settings.chroma_port}",
        lease_seconds=settings.writer_lease_seconds,
    )


def make_indexer(
    settings: RagSettings, embed_model: BaseEmbedding, store: BuildStore | None = None
) -> Indexer:
    return Indexer(
        store or make_store(settings),
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
    store: BuildStore | None = None,
) -> IndexReport:
    indexer = make_indexer(settings, embed_model or build_embed_model(settings), store)
    catalog = settings.resolved_catalog_path
    try:
        return indexer.run(
            paths or [settings.seeds_dir], catalog, rebuild=rebuild, progress=progress
        )
    except httpx.TransportError as exc:  # the Chroma server went away mid-build
        raise StoreUnavailableError(
            f"{indexer.store.location} stopped answering while indexing ({exc}); the "
            "previous build still answers.",
            hint="Run `rag index` again when it is back: what was embedded is cached.",
        ) from exc


STALE_INDEX_NOTICE = (
    "The index was built by an older version of this program; run `rag index` to update it."
)


@dataclass(frozen=True)
class Trace:
    ranked: list[Candidate]
    llm_context: list[SourceBlock]


@dataclass(frozen=True)
class _Serving:
    """One index build with the retriever and synthesizer over it, swapped as a whole."""

    index: LoadedIndex
    synthesizer: BaseSynthesizer
    engine: RetrieverQueryEngine
    notices: tuple[str, ...] = ()  # added to every answer's warnings


class AnswerService:
    """Loads the embedding model and the index once, then answers questions."""

    def __init__(
        self,
        settings: RagSettings,
        embed_model: BaseEmbedding,
        index: LoadedIndex,
        synthesizer: BaseSynthesizer | None = None,
        store: BuildStore | None = None,
    ) -> None:
        self.settings = settings
        self.embed_model = embed_model
        self.store = store
        self._custom_synthesizer = synthesizer
        self._serving = self._serve(index)
        self._reload_lock = threading.Lock()

    def _serve(self, index: LoadedIndex) -> _Serving:
        synthesizer = self._custom_synthesizer
        if synthesizer is None:
            synthesizer = ExtractiveSynthesizer(index, self.settings, self.embed_model)
            if self.settings.llm_base_url:
                from rag.generative import GenerativeSynthesizer, build_llm

                synthesizer = GenerativeSynthesizer(
                    synthesizer, build_llm(self.settings), self.settings
                )
        engine = RetrieverQueryEngine(
            retriever=HybridRetriever(index, self.embed_model, self.settings),
            response_synthesizer=synthesizer,
        )
        notices = (STALE_INDEX_NOTICE,) if index.manifest.recipe != RECIPE else ()
        return _Serving(index, synthesizer, engine, notices)

    @property
    def index(self) -> LoadedIndex:
        return self._serving.index

    @property
    def synthesizer(self) -> BaseSynthesizer:
        return self._serving.synthesizer

    @property
    def engine(self) -> RetrieverQueryEngine:
        return self._serving.engine

    @classmethod
    def start(
        cls,
        settings: RagSettings,
        progress: Progress | None = None,
        on_auto_index: Callable[[IndexReport], None] | None = None,
        update_stale: bool = False,
    ) -> AnswerService:
        """Load the model and the current build (building it on first use when auto_index).
        A build made by an older version of the parser still answers, each answer saying so;
        `update_stale` rebuilds it first (from the embedding cache), as `rag eval` does so as to
        measure the current code. Replicas never rebuild on their own."""
        embed_model = build_embed_model(settings)
        model_id = embedding_model_id(settings)
        store = make_store(settings)
        try:
            index = open_index(store, model_id, settings.bm25_top_k)
        except IndexMissingError:
            if not settings.auto_index:
                raise
            report = run_indexing(settings, progress=progress, embed_model=embed_model, store=store)
            if on_auto_index:
                on_auto_index(report)
            index = open_index(store, model_id, settings.bm25_top_k)
        if index.manifest.recipe != RECIPE and update_stale:
            report = run_indexing(settings, progress=progress, embed_model=embed_model, store=store)
            if on_auto_index:
                on_auto_index(report)
            index = open_index(store, model_id, settings.bm25_top_k)
        return cls(settings, embed_model, index, store=store)

    def refresh(self) -> bool:
        """Switch to the store's current build if a writer has published a new one.

        Questions in flight finish on the build they started with. True if it switched.
        """
        if self.store is None:
            return False
        with self._reload_lock:
            current = self.store.current_build_id()
            if current is None or current == self.index.manifest.build_id:
                return False
            index = open_index(self.store, self.index.manifest.model_id, self.settings.bm25_top_k)
            self._serving = self._serve(index)
            log.info("Switched to index build %s", index.manifest.build_id)
            return True

    def watch_index(self, stop: threading.Event) -> threading.Thread | None:
        """Poll for new builds every `index_poll_seconds` in a background thread."""
        interval = self.settings.index_poll_seconds
        if self.store is None or interval <= 0:
            return None

        def poll() -> None:
            while not stop.wait(interval):
                try:
                    self.refresh()
                except Exception as exc:  # a store restarting or a build being written
                    log.warning("Index refresh skipped: %s", exc)

        thread = threading.Thread(target=poll, daemon=True, name="rag-index-watch")
        thread.start()
        return thread

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

    def standalone(self, history: list[tuple[str, str]], question: str) -> str:
        """A follow-up rewritten with the conversation before retrieval: by the LLM when one
        is configured, else by joining it to the previous question when it leans on it."""
        condense = getattr(self.synthesizer, "condense", None)
        if condense is not None:
            try:
                return self.validate(condense(history, question))
            except Exception:  # the LLM failed: the plain rewrite below still helps
                pass
        previous = next((text for role, text in reversed(history) if role == "user"), None)
        if previous is None:
            return question
        words = re.findall(r"[^\W\d_]+", question.lower())
        substantial = [w for w in words if len(w) > 3]
        if len(substantial) <= 3 or any(w in _REFERRING_WORDS for w in words):
            return f"{previous} {question}"
        return question

    def _unreachable(self, exc: Exception) -> StoreUnavailableError:
        location = self.store.location if self.store else "The index store"
        return StoreUnavailableError(
            f"{location} is unreachable ({exc}).",
            hint="Retry shortly; the service reconnects by itself when it is back.",
        )

    def check_store(self) -> None:
        """Raise StoreUnavailableError unless the index's store answers."""
        if self.store is None:
            return
        try:
            self.store.current_build_id()
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc

    def ask(self, question: str, history: list[tuple[str, str]] | None = None) -> Answer:
        """Answer `question`; `history` holds the earlier (role, text) turns of a chat."""
        try:
            return self._ask(self._serving, question, history)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc

    def _ask(
        self, serving: _Serving, question: str, history: list[tuple[str, str]] | None
    ) -> Answer:
        started = time.perf_counter()
        question = self.validate(question)
        language = detect_language(question)
        retrieval_question = self.standalone(history, question) if history else question
        embedding = self.embed_model.get_query_embedding(retrieval_question)
        embedded = time.perf_counter()
        bundle = QueryBundle(query_str=retrieval_question, embedding=embedding)
        nodes = serving.engine.retrieve(bundle)
        retrieved = time.perf_counter()
        response = serving.synthesizer.synthesize(bundle, nodes, answer_question=question)
        done = time.perf_counter()
        meta = response.metadata or {}
        citations = [
            Citation(marker=marker, **self._passage(serving, hit))
            for marker, hit in enumerate(response.source_nodes, start=1)
        ]
        related = [RelatedPassage(**self._passage(serving, hit)) for hit in meta.get("related", [])]
        return Answer(
            question=question,
            answer=str(response.response),
            abstained=bool(meta.get("abstained")),
            abstain_reason=meta.get("abstain_reason") if meta.get("abstained") else None,
            mode=meta.get("mode", "extractive"),
            standalone_question=retrieval_question if retrieval_question != question else None,
            warnings=[*meta.get("warnings", []), *serving.notices],
            language=language,
            citations=citations,
            related=related,
            conflict=bool(meta.get("conflict")),
            confidence=round(float(meta.get("confidence", 0.0)), 4),
            timings_ms={
                "embed_query": round((embedded - started) * 1000, 1),
                "retrieve": round((retrieved - embedded) * 1000, 1),
                "synthesize": round((done - retrieved) * 1000, 1),
                "total": round((done - started) * 1000, 1),
            },
        )

    def trace(self, question: str) -> Trace | None:
        """What the answer was chosen from: the candidate sentences, best first, and the
        passages the generative mode's LLM reads (computed without any LLM, so the benchmark
        can look at them offline); None under a custom synthesizer."""
        serving = self._serving
        extractive = getattr(serving.synthesizer, "extractive", serving.synthesizer)
        if not isinstance(extractive, ExtractiveSynthesizer):
            return None
        question = self.validate(question)
        bundle = QueryBundle(
            query_str=question, embedding=self.embed_model.get_query_embedding(question)
        )
        ranked = extractive.rank(bundle, serving.engine.retrieve(bundle), detect_language(question))
        return Trace(ranked, llm_context(extractive, ranked, self.settings))

    def llm_context(self, question: str) -> list[SourceBlock] | None:
        """The passages the generative mode's LLM reads for `question`."""
        trace = self.trace(question)
        return None if trace is None else trace.llm_context

    @staticmethod
    def _passage(serving: _Serving, hit: NodeWithScore) -> dict[str, Any]:
        """A passage's source, its exact text from the document, and its score."""
        doc = serving.index.documents[hit.node.metadata["source_doc"]]
        start, end = hit.node.start_char_idx or 0, hit.node.end_char_idx or 0
        return {
            "doc_id": doc.doc_id,
            "title": doc.title,
            "date": doc.date,
            "publisher": doc.publisher,
            "section": hit.node.metadata.get("section") or None,
            "text": doc.text[start:end],
            "start": start,
            "end": end,
            "score": round(hit.score or 0.0, 4),
        }

    def documents(self) -> list[dict[str, str | int | None]]:
        return [
            {**doc.catalog_entry(), "characters": len(doc.text)}
            for doc in sorted(self.index.documents.values(), key=lambda d: d.doc_id)
        ]
