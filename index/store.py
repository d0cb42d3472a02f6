"""The index on disk: immutable builds, switched atomically, one writer at a time.

    <data_dir>/CURRENT                  which build answers (replaced atomically)
    <data_dir>/builds/<id>/chroma/      Chroma collections "chunks" and "sentences"
    <data_dir>/builds/<id>/bm25/        LlamaIndex BM25Retriever (bm25s), French stemming
    <data_dir>/builds/<id>/documents.json   source texts and catalog entries
    <data_dir>/builds/<id>/manifest.json    model id and dimension, hashes, counts (written last)
    <data_dir>/embeddings.sqlite        embedding cache by model and content hash
    <data_dir>/index.lock               held by the one process that writes

A build is written aside and only then named in CURRENT, so a crash or a kill while indexing
leaves the previous build answering. `LocalBuildStore` is this layout; `ServerBuildStore`
(index/server_store.py) keeps the same builds as collections on a Chroma server.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import chromadb
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings as ChromaSettings
from llama_index.core.schema import TextNode
from llama_index.retrievers.bm25 import BM25Retriever

from index.documents import SourceDocument
from index.terms import ThreadLocalStemmer
from rag.errors import IndexBusyError, IndexCorruptError, IndexMissingError, ModelMismatchError

FORMAT_VERSION = 1
# Bump when sentence splitting, chunking or the embedded texts change: builds then redo.
RECIPE = "sentences-punkt-fr-7-six-ans"
CHUNKS = "chunks"
SENTENCES = "sentences"


@dataclass
class Manifest:
    build_id: str
    created_at: str
    model_id: str
    dimension: int
    chunk_size: int
    chunk_overlap: int
    documents: dict[str, str]  # doc id -> content hash
    chunk_count: int
    sentence_count: int
    format_version: int = FORMAT_VERSION
    recipe: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def same_content(self, other: Manifest) -> bool:
        keys = ("model_id", "chunk_size", "chunk_overlap", "documents", "format_version", "recipe")
        return all(getattr(self, k) == getattr(other, k) for k in keys)


def save_for_build(path: Path, data: bytes) -> None:
    """Writes what was derived from one index build (hubness, the vocabulary's vectors) at
    `path`, whole or not at all for whoever reads it, and removes the files of the same kind
    that earlier builds left in that folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # not matched as stale below
    partial.write_bytes(data)
    partial.replace(path)
    for stale in path.parent.glob(f"*{path.suffix}"):
        if stale != path:
            stale.unlink(missing_ok=True)


class IndexLayout:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.current_file = data_dir / "CURRENT"
        self.builds_dir = data_dir / "builds"
        self.cache_path = data_dir / "embeddings.sqlite"
        self.lock_path = data_dir / "index.lock"

    def build_dir(self, build_id: str) -> Path:
        return self.builds_dir / build_id

    def current_build_id(self) -> str | None:
        try:
            return json.loads(self.current_file.read_text(encoding="utf-8"))["build"]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexCorruptError(
                f"The index pointer {self.current_file} is unreadable ({exc}).",
                hint="Rebuild it: rag index --rebuild",
            ) from exc

    def switch_to(self, build_id: str) -> None:
        """Name `build_id` as the current build: write aside, fsync, rename over."""
        tmp = self.current_file.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump({"build": build_id}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.current_file)
        _fsync_dir(self.data_dir)

    def remove_stale_builds(self, keep: set[str]) -> None:
        if not self.builds_dir.exists():
            return
        for path in self.builds_dir.iterdir():
            if path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)

    @contextlib.contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Exclusive right to write the index; a second writer is refused, not queued."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a+") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise IndexBusyError(
                    "Another process is indexing into "
                    f"{self.data_dir}; try again when it has finished."
                ) from exc
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def chroma_client(path: Path) -> chromadb.ClientAPI:
    return chromadb.PersistentClient(
        path=str(path), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    )


def write_json(path: Path, data: Any) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=1)
        handle.flush()
        os.fsync(handle.fileno())


def read_manifest(build_dir: Path) -> Manifest:
    try:
        data = json.loads((build_dir / "manifest.json").read_text(encoding="utf-8"))
        return Manifest(**data)
    except (OSError, ValueError, TypeError) as exc:
        raise IndexCorruptError(
            f"The index build {build_dir.name} is incomplete or damaged ({exc}).",
            hint="Rebuild it: rag index --rebuild",
        ) from exc


def check_model(manifest: Manifest, model_id: str) -> None:
    if manifest.model_id != model_id:
        raise ModelMismatchError(
            f"The index was built with the embedding model {manifest.model_id} "
            f"({manifest.dimension}-d), but {model_id} is configured.",
            hint="Rebuild the index for the configured model with `rag index --rebuild`, or set "
            "RAG_EMBED_BACKEND / RAG_EMBED_MODEL back to the model the index was built with.",
        )


def save_documents(path: Path, documents: list[SourceDocument]) -> None:
    write_json(path, [asdict(d) for d in documents])


def load_documents_json(path: Path) -> dict[str, SourceDocument]:
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return {row["doc_id"]: SourceDocument(**row) for row in rows}
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise IndexCorruptError(
            f"The document store {path} is unreadable ({exc}).",
            hint="Rebuild it: rag index --rebuild",
        ) from exc


def verify_build(build_dir: Path) -> None:
    """Cheap check that a local build has all its parts (not that every byte is sound)."""
    parts = ["manifest.json", "documents.json", "chroma/chroma.sqlite3", "bm25/retriever.json"]
    missing = [part for part in parts if not (build_dir / part).is_file()]
    if missing:
        raise IndexCorruptError(
            f"The index build {build_dir.name} is damaged (missing {', '.join(missing)}).",
            hint="Rebuild it: rag index --rebuild",
        )


# A sentence's id and metadata, as the sentence collection holds them:
# {"id": ..., "metadatas": {"source_doc", "start", "end", "boilerplate", "is_question", ...}}.
SentenceRecord = dict[str, Any]
# The sentence table of a local build, saved beside it: reading 300k sentences' metadata back
# from Chroma takes about 30 s, this file about 2 s.
SENTENCE_TABLE = "sentences.json"


def iter_records(
    collection: Collection,
    include: list[str],
    page_size: int = 2000,
    where: dict[str, Any] | None = None,
) -> Iterator[dict[str, Any]]:
    """All records of a collection (or those matching `where`), a page at a time (a server
    caps each response)."""
    offset = 0
    while True:
        page = collection.get(include=include, limit=page_size, offset=offset, where=where)  # type: ignore[arg-type]
        ids = page["ids"]
        for i, record_id in enumerate(ids):
            yield {"id": record_id, **{key: page[key][i] for key in include}}  # type: ignore[literal-required]
        if len(ids) < page_size:
            return
        offset += page_size


class BuildStore(ABC):
    """Where builds live and which one answers: a local folder, or a Chroma server.

    Writers create a build's collections, save its documents, BM25 and manifest, then
    `switch_to` it; readers open `current_build_id()`. Only the writer holding
    `writer_lock()` writes.
    """

    def __init__(self, layout: IndexLayout) -> None:
        self.layout = layout  # the local folder: embedding cache and local lock in both modes

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the index lives, for messages."""

    @abstractmethod
    def current_build_id(self) -> str | None: ...

    @abstractmethod
    def switch_to(self, build_id: str) -> None: ...

    @abstractmethod
    def writer_lock(self) -> contextlib.AbstractContextManager[None]: ...

    @abstractmethod
    def create_collections(self, build_id: str) -> tuple[Collection, Collection]:
        """New, empty chunk and sentence collections for a build, cosine space."""

    @abstractmethod
    def open_collections(self, build_id: str) -> tuple[Collection, Collection]: ...

    @abstractmethod
    def save_build_files(
        self,
        build_id: str,
        documents: list[SourceDocument],
        bm25: BM25Retriever,
        sentences: list[SentenceRecord],
    ) -> None: ...

    def read_sentence_records(self, build_id: str) -> list[SentenceRecord] | None:
        """The build's sentence table saved beside it, or None: then it is read from the
        sentence collection (slower: a tenth of a millisecond a sentence)."""
        return None

    @abstractmethod
    def save_manifest(self, build_id: str, manifest: Manifest) -> None: ...

    @abstractmethod
    def read_manifest(self, build_id: str) -> Manifest: ...

    @abstractmethod
    def read_documents(self, build_id: str) -> dict[str, SourceDocument]: ...

    @abstractmethod
    def load_bm25(self, build_id: str, chunks: Collection) -> BM25Retriever: ...

    @abstractmethod
    def verify(self, build_id: str) -> None:
        """Raise IndexCorruptError unless the build has all its parts."""

    @abstractmethod
    def remove_stale_builds(self, keep: set[str]) -> None: ...

    def current_manifest(self) -> Manifest | None:
        build_id = self.current_build_id()
        return self.read_manifest(build_id) if build_id else None

    def require_current_build(self) -> Manifest:
        build_id = self.current_build_id()
        if build_id is None:
            raise IndexMissingError(
                f"No index in {self.location}.",
                hint="Build it with `rag index` (it reads seeds/ by default).",
            )
        self.verify(build_id)
        return self.read_manifest(build_id)


def _new_collection(client: chromadb.ClientAPI, name: str) -> Collection:
    # Our fixed configuration: nothing a client sends ever reaches collection settings.
    return client.create_collection(
        name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
    )


class LocalBuildStore(BuildStore):
    """Embedded Chroma: each build is a folder; `CURRENT` names the one that answers."""

    @property
    def location(self) -> str:
        return str(self.layout.data_dir)

    def current_build_id(self) -> str | None:
        return self.layout.current_build_id()

    def switch_to(self, build_id: str) -> None:
        self.layout.switch_to(build_id)

    def writer_lock(self) -> contextlib.AbstractContextManager[None]:
        return self.layout.writer_lock()

    def create_collections(self, build_id: str) -> tuple[Collection, Collection]:
        build_dir = self.layout.build_dir(build_id)
        build_dir.mkdir(parents=True)
        client = chroma_client(build_dir / "chroma")
        return _new_collection(client, CHUNKS), _new_collection(client, SENTENCES)

    def open_collections(self, build_id: str) -> tuple[Collection, Collection]:
        client = chroma_client(self.layout.build_dir(build_id) / "chroma")
        return client.get_collection(CHUNKS), client.get_collection(SENTENCES)

    def save_build_files(
        self,
        build_id: str,
        documents: list[SourceDocument],
        bm25: BM25Retriever,
        sentences: list[SentenceRecord],
    ) -> None:
        build_dir = self.layout.build_dir(build_id)
        bm25.persist(str(build_dir / "bm25"), show_progress=False)
        save_documents(build_dir / "documents.json", documents)
        with open(build_dir / SENTENCE_TABLE, "w", encoding="utf-8") as handle:
            json.dump(sentences, handle, ensure_ascii=False, separators=(",", ":"))
            handle.flush()
            os.fsync(handle.fileno())

    def read_sentence_records(self, build_id: str) -> list[SentenceRecord] | None:
        path = self.layout.build_dir(build_id) / SENTENCE_TABLE
        if not path.is_file():
            return None  # a build from before the table was saved
        return json.loads(path.read_text(encoding="utf-8"))  # damage: IndexCorruptError upstream

    def save_manifest(self, build_id: str, manifest: Manifest) -> None:
        write_json(self.layout.build_dir(build_id) / "manifest.json", asdict(manifest))

    def read_manifest(self, build_id: str) -> Manifest:
        return read_manifest(self.layout.build_dir(build_id))

    def read_documents(self, build_id: str) -> dict[str, SourceDocument]:
        return load_documents_json(self.layout.build_dir(build_id) / "documents.json")

    def load_bm25(self, build_id: str, chunks: Collection) -> BM25Retriever:
        path = self.layout.build_dir(build_id) / "bm25"
        bm25 = BM25Retriever.from_persist_dir(str(path), show_progress=False)
        # from_persist_dir forgets the stemmer (it defaults to English): restore French.
        bm25.stemmer = ThreadLocalStemmer()  # type: ignore[assignment]
        return bm25

    def verify(self, build_id: str) -> None:
        build_dir = self.layout.build_dir(build_id)
        if not build_dir.is_dir():
            raise IndexCorruptError(
                f"The current index build {build_id} is missing from {self.layout.builds_dir}.",
                hint="Rebuild it: rag index --rebuild",
            )
        verify_build(build_dir)

    def remove_stale_builds(self, keep: set[str]) -> None:
        self.layout.remove_stale_builds(keep)


def french_bm25(nodes: Sequence[TextNode], top_k: int) -> BM25Retriever:
    return BM25Retriever.from_defaults(
        nodes=list(nodes),
        stemmer=ThreadLocalStemmer(),  # type: ignore[arg-type]
        language="french",
        similarity_top_k=max(1, min(top_k, len(nodes))),
    )
