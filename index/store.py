"""The index on disk: immutable builds, switched atomically, one writer at a time.

    <data_dir>/CURRENT                  which build answers (replaced atomically)
    <data_dir>/builds/<id>/chroma/      Chroma collections "chunks" and "sentences"
    <data_dir>/builds/<id>/bm25/        LlamaIndex BM25Retriever (bm25s), French stemming
    <data_dir>/builds/<id>/documents.json   source texts and catalog entries
    <data_dir>/builds/<id>/manifest.json    model id and dimension, hashes, counts (written last)
    <data_dir>/embeddings.sqlite        embedding cache by model and content hash
    <data_dir>/index.lock               held by the one process that writes

A build is written aside and only then named in CURRENT, so a crash or a kill while indexing
leaves the previous build answering.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import chromadb
from chromadb.config import Settings as ChromaSettings

from index.documents import SourceDocument
from rag.errors import IndexBusyError, IndexCorruptError, IndexMissingError, ModelMismatchError

FORMAT_VERSION = 1
# Bump when sentence splitting, chunking or the embedded texts change: builds then redo.
RECIPE = "sentences-punkt-fr-4-sections"
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


def current_manifest(layout: IndexLayout) -> Manifest | None:
    build_id = layout.current_build_id()
    return read_manifest(layout.build_dir(build_id)) if build_id else None


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
    """Cheap check that a build has all its parts (not that every byte is sound)."""
    parts = ["manifest.json", "documents.json", "chroma/chroma.sqlite3", "bm25/retriever.json"]
    missing = [part for part in parts if not (build_dir / part).is_file()]
    if missing:
        raise IndexCorruptError(
            f"The index build {build_dir.name} is damaged (missing {', '.join(missing)}).",
            hint="Rebuild it: rag index --rebuild",
        )


def require_current_build(layout: IndexLayout) -> tuple[Path, Manifest]:
    build_id = layout.current_build_id()
    if build_id is None:
        raise IndexMissingError(
            f"No index in {layout.data_dir}.",
            hint="Build it with `rag index` (it reads seeds/ by default).",
        )
    build_dir = layout.build_dir(build_id)
    if not build_dir.is_dir():
        raise IndexCorruptError(
            f"The current index build {build_id} is missing from {layout.builds_dir}.",
            hint="Rebuild it: rag index --rebuild",
        )
    verify_build(build_dir)
    return build_dir, read_manifest(build_dir)
