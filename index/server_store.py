"""The index on a Chroma server, shared by several `rag serve` replicas and one writer.

    <prefix>-current                    collection whose metadata names the answering build
    <prefix>-<build>-chunks             chunk vectors (embedded by us, never by the server)
    <prefix>-<build>-sentences          sentence vectors
    <prefix>-<build>-meta               the manifest, the source documents and the sentence
                                        table (in parts), as records
    <prefix>-writer                     exists while a writer holds the lease (owner, heartbeat)

BM25 is not stored on the server: each replica rebuilds it from the chunk texts when it opens
a build, so replicas need no shared disk and can never read a BM25 from another build.
Creating a collection is atomic on the server, which makes `<prefix>-writer` a lock; the lease
carries a heartbeat so that a killed writer's lock can be taken over, and the writer checks it
still holds the lease before it switches builds.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import socket
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import chromadb
import httpx
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import ChromaError, NotFoundError
from llama_index.core.vector_stores.utils import metadata_dict_to_node
from llama_index.retrievers.bm25 import BM25Retriever

from index.documents import SourceDocument
from index.store import (
    CHUNKS,
    SENTENCES,
    BuildStore,
    IndexLayout,
    Manifest,
    SentenceRecord,
    _new_collection,
    french_bm25,
    iter_records,
)
from rag.errors import IndexBusyError, IndexCorruptError, StoreUnavailableError

_BUILD_ID = r"\d{8}T\d{6}-[0-9a-f]{8}"
SENTENCE_PART = 2000  # sentences per record of the table
_UNIT = [1.0]  # meta records carry no meaning in their vector; Chroma needs one


def connect(host: str, port: int, ssl: bool = False, token: str | None = None) -> Any:
    """An HTTP client for a Chroma server; unreachable servers raise StoreUnavailableError."""
    headers = {"Authorization": f"Bearer {token}"} if token else None
    try:
        return chromadb.HttpClient(
            host=host,
            port=port,
            ssl=ssl,
            headers=headers,
            settings=ChromaSettings(anonymized_telemetry=False),
        )
    except (httpx.TransportError, ValueError) as exc:
        raise StoreUnavailableError(
            f"The Chroma server at {host}:{port} is unreachable ({exc}).",
            hint="Start it (`chroma run --path DIR --host 127.0.0.1 --port PORT`) or check "
            "RAG_CHROMA_HOST and RAG_CHROMA_PORT.",
        ) from exc


class WriterLease:
    """One writer at a time across machines, held as a collection on the server."""

    def __init__(self, client: Any, name: str, ttl_seconds: float) -> None:
        self.client = client
        self.name = name
        self.ttl = ttl_seconds
        self.token = uuid.uuid4().hex
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self.lost = False
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def _metadata(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "owner": self.owner,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "heartbeat": time.time(),
        }

    def _holder(self) -> dict[str, Any] | None:
        try:
            return dict(self._collection().metadata or {})
        except NotFoundError:
            return None

    def _collection(self) -> Collection:
        return self.client.get_collection(self.name, embedding_function=None)

    def _is_stale(self, holder: dict[str, Any]) -> bool:
        if time.time() - float(holder.get("heartbeat", 0)) > self.ttl:
            return True
        if holder.get("host") == socket.gethostname():
            try:
                os.kill(int(holder.get("pid", 0)), 0)
            except ProcessLookupError:
                return True  # its process died on this machine
            except (PermissionError, ValueError):
                return False
        return False

    def acquire(self) -> None:
        for _ in range(3):
            try:
                self.client.create_collection(
                    self.name, metadata=self._metadata(), embedding_function=None
                )
                break
            except ChromaError:
                holder = self._holder()
                if holder is None:
                    continue  # released meanwhile
                if self._is_stale(holder):
                    with contextlib.suppress(NotFoundError):
                        self.client.delete_collection(self.name)
                    continue
                since = time.strftime("%H:%M:%S", time.localtime(float(holder.get("heartbeat", 0))))
                raise IndexBusyError(
                    f"Another process ({holder.get('owner', '?')}) is indexing into this Chroma "
                    f"server (last seen at {since}); try again when it has finished.",
                    hint=f"A writer that died loses its lease after {self.ttl:.0f} s.",
                ) from None
        else:
            raise IndexBusyError("Could not take the writer lease on the Chroma server.")
        self._beat = threading.Thread(target=self._heartbeat, daemon=True, name="rag-lease")
        self._beat.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.ttl / 4):
            try:
                if not self.holds():
                    self.lost = True
                    return
                self._collection().modify(metadata=self._metadata())
            except (httpx.TransportError, ChromaError):
                continue  # the server may be restarting; the next beat retries

    def holds(self) -> bool:
        holder = self._holder()
        return holder is not None and holder.get("token") == self.token

    def check(self) -> None:
        if self.lost or not self.holds():
            self.lost = True
            raise IndexBusyError(
                "This writer lost its lease on the Chroma server (another writer took it over); "
                "its build was not switched in.",
                hint="Run `rag index` again.",
            )

    def release(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=5)
        with contextlib.suppress(NotFoundError, httpx.TransportError, ChromaError):
            if self.holds():
                self.client.delete_collection(self.name)


class ServerBuildStore(BuildStore):
    """Builds as collections on a Chroma server; the pointer is a collection's metadata."""

    def __init__(
        self,
        client: Any,
        layout: IndexLayout,
        prefix: str = "rag",
        address: str = "",
        lease_seconds: float = 60.0,
    ) -> None:
        super().__init__(layout)
        if not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_-]{0,40}", prefix):
            raise ValueError(f"Invalid Chroma collection prefix {prefix!r}.")
        self.client = client
        self.prefix = prefix
        self.address = address
        self.lease_seconds = lease_seconds
        self.lease: WriterLease | None = None

    @property
    def location(self) -> str:
        return f"Chroma server {self.address} (prefix {self.prefix!r})"

    def _name(self, build_id: str, part: str) -> str:
        return f"{self.prefix}-{build_id}-{part}"

    @property
    def _pointer(self) -> str:
        return f"{self.prefix}-current"

    def current_build_id(self) -> str | None:
        try:
            pointer = self.client.get_collection(self._pointer, embedding_function=None)
            metadata = pointer.metadata or {}
        except NotFoundError:
            return None
        build = metadata.get("build")
        return str(build) if build else None

    def switch_to(self, build_id: str) -> None:
        if self.lease is not None:
            self.lease.check()
        pointer = self.client.get_or_create_collection(self._pointer, embedding_function=None)
        pointer.modify(metadata={"build": build_id, "switched_at": time.time()})

    @contextlib.contextmanager
    def writer_lock(self) -> Iterator[None]:
        with self.layout.writer_lock():  # the local embedding cache has one writer too
            lease = WriterLease(self.client, f"{self.prefix}-writer", self.lease_seconds)
            lease.acquire()
            self.lease = lease
            try:
                yield
            finally:
                self.lease = None
                lease.release()

    def create_collections(self, build_id: str) -> tuple[Collection, Collection]:
        return (
            _new_collection(self.client, self._name(build_id, CHUNKS)),
            _new_collection(self.client, self._name(build_id, SENTENCES)),
        )

    def open_collections(self, build_id: str) -> tuple[Collection, Collection]:
        return (
            self.client.get_collection(self._name(build_id, CHUNKS), embedding_function=None),
            self.client.get_collection(self._name(build_id, SENTENCES), embedding_function=None),
        )

    def _meta(self, build_id: str, create: bool = False) -> Collection:
        name = self._name(build_id, "meta")
        if create:
            return self.client.get_or_create_collection(name, embedding_function=None)
        return self.client.get_collection(name, embedding_function=None)

    def save_build_files(
        self,
        build_id: str,
        documents: list[SourceDocument],
        bm25: BM25Retriever,
        sentences: list[SentenceRecord],
    ) -> None:
        meta = self._meta(build_id, create=True)
        batch = 200
        for i in range(0, len(documents), batch):
            part = documents[i : i + batch]
            meta.add(
                ids=[f"doc:{d.doc_id}" for d in part],
                embeddings=[_UNIT] * len(part),
                documents=[json.dumps(asdict(d), ensure_ascii=False) for d in part],
                metadatas=[{"kind": "document"} for _ in part],
            )
        # The sentence table in parts of a few thousand rows, one part a request (the server
        # refuses large bodies): a replica reads a record per 2,000 sentences instead of every
        # sentence's metadata. Compressed: Chroma indexes every document's text for search,
        # and the plain JSON of 317k rows grew the server's files by 510 MiB.
        for n, first in enumerate(range(0, len(sentences), SENTENCE_PART)):
            rows = json.dumps(sentences[first : first + SENTENCE_PART], ensure_ascii=False)
            meta.add(
                ids=[f"sentences:{n}"],
                embeddings=[_UNIT],
                documents=[base64.b64encode(zlib.compress(rows.encode("utf-8"))).decode("ascii")],
                metadatas=[{"kind": "sentences", "part": n}],
            )

    def read_sentence_records(self, build_id: str) -> list[SentenceRecord] | None:
        parts = {
            int(record["metadatas"]["part"]): json.loads(
                zlib.decompress(base64.b64decode(record["documents"]))
            )
            for record in iter_records(
                self._meta(build_id),
                ["documents", "metadatas"],
                page_size=8,
                where={"kind": "sentences"},
            )
        }
        if not parts:
            return None  # a build from before the table was saved
        if sorted(parts) != list(range(len(parts))):
            raise IndexCorruptError(
                f"The index build {build_id} on {self.location} lacks parts of its sentence table.",
                hint="Rebuild it: rag index --rebuild",
            )
        return [row for n in range(len(parts)) for row in parts[n]]

    def save_manifest(self, build_id: str, manifest: Manifest) -> None:
        self._meta(build_id, create=True).upsert(
            ids=["manifest"],
            embeddings=[_UNIT],
            documents=[json.dumps(asdict(manifest), ensure_ascii=False)],
            metadatas=[{"kind": "manifest"}],
        )

    def read_manifest(self, build_id: str) -> Manifest:
        try:
            got = self._meta(build_id).get(ids=["manifest"], include=["documents"])  # type: ignore[list-item]
            return Manifest(**json.loads(got["documents"][0]))  # type: ignore[index]
        except (NotFoundError, IndexError, ValueError, TypeError) as exc:
            raise IndexCorruptError(
                f"The index build {build_id} on {self.location} is incomplete ({exc}).",
                hint="Rebuild it: rag index --rebuild",
            ) from exc

    def read_documents(self, build_id: str) -> dict[str, SourceDocument]:
        documents: dict[str, SourceDocument] = {}
        for record in iter_records(self._meta(build_id), ["documents"], where={"kind": "document"}):
            document = SourceDocument(**json.loads(record["documents"]))
            documents[document.doc_id] = document
        return documents

    def load_bm25(self, build_id: str, chunks: Collection) -> BM25Retriever:
        nodes = []
        for record in iter_records(chunks, ["documents", "metadatas"], page_size=5000):
            node = metadata_dict_to_node(record["metadatas"], text=record["documents"])
            nodes.append(node)
        return french_bm25(nodes, 8)

    def verify(self, build_id: str) -> None:
        self.read_manifest(build_id)

    def remove_stale_builds(self, keep: set[str]) -> None:
        pattern = re.compile(rf"{re.escape(self.prefix)}-({_BUILD_ID})-(chunks|sentences|meta)")
        names: list[str] = []
        while True:
            page = self.client.list_collections(limit=100, offset=len(names))
            names.extend(str(getattr(c, "name", c)) for c in page)
            if len(page) < 100:
                break
        for name in names:
            found = pattern.fullmatch(name)
            if found and found.group(1) not in keep:
                with contextlib.suppress(NotFoundError):
                    self.client.delete_collection(name)
