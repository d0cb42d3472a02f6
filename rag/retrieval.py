"""Hybrid retrieval: dense (Chroma) and BM25 (French) fused, weighted by the asker's language."""

from __future__ import annotations

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.indices.vector_store import VectorStoreIndex
from llama_index.core.llms import MockLLM
from llama_index.core.retrievers import QueryFusionRetriever
from llama_index.core.retrievers.fusion_retriever import FUSION_MODES
from llama_index.core.schema import NodeWithScore, QueryBundle

from index.reader import LoadedIndex
from index.text import with_number_digits
from rag.language import Language, detect_language
from rag.settings import RagSettings


class NumberWordsRetriever(BaseRetriever):
    """Adds the digits of number words to the query ("septante-huit" -> 78) for lexical search."""

    def __init__(self, inner: BaseRetriever) -> None:
        super().__init__()
        self.inner = inner

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return self.inner.retrieve(QueryBundle(with_number_digits(query_bundle.query_str)))


class HybridRetriever(BaseRetriever):
    """`QueryFusionRetriever` (relative-score fusion, no LLM, one query) per question language:
    English and Dutch questions share few words with French text, so BM25 weighs less there."""

    def __init__(self, index: LoadedIndex, embed_model: BaseEmbedding, settings: RagSettings):
        super().__init__()
        vector_index = VectorStoreIndex.from_vector_store(
            index.chunk_store, embed_model=embed_model
        )
        dense = vector_index.as_retriever(similarity_top_k=settings.dense_top_k)
        lexical = NumberWordsRetriever(index.bm25)
        self.dense, self.lexical = dense, lexical
        self.fusions: dict[Language, QueryFusionRetriever] = {}
        for language, weight in (
            ("fr", settings.dense_weight_french),
            ("en", settings.dense_weight_other),
            ("nl", settings.dense_weight_other),
        ):
            self.fusions[language] = QueryFusionRetriever(
                [dense, lexical],
                llm=MockLLM(),
                mode=FUSION_MODES.RELATIVE_SCORE,
                retriever_weights=[weight, 1 - weight],
                similarity_top_k=settings.fused_top_k,
                num_queries=1,
                use_async=False,
            )

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return self.fusions[detect_language(query_bundle.query_str)].retrieve(query_bundle)
