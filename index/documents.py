"""Reading the corpus: .txt, .md, .html and .pdf files, with titles and dates from a catalog."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

from rag.errors import DocumentError, NoDocumentsError

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf")


@dataclass(frozen=True)
class SourceDocument:
    """One document as indexed: `text` is what every citation offset points into."""

    doc_id: str
    text: str
    title: str
    path: str
    date: str | None = None
    kind: str | None = None
    publisher: str | None = None
    language: str | None = None
    country: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def catalog_entry(self) -> dict[str, str | None]:
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "date": self.date,
            "kind": self.kind,
            "publisher": self.publisher,
            "language": self.language,
            "country": self.country,
            "path": self.path,
            **self.extra,
        }


@dataclass
class LoadResult:
    documents: list[SourceDocument]
    errors: list[DocumentError]


class _HTMLText(HTMLParser):
    """Visible text of an HTML page, one block element a paragraph."""

    _BLOCKS: ClassVar[set[str]] = {
        "p",
        "div",
        "br",
        "li",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "section",
        "article",
        "blockquote",
        "title",
        "header",
        "footer",
    }
    _SKIP: ClassVar[set[str]] = {"script", "style", "noscript", "template", "svg", "nav"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self._skip_depth = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip_depth += 1
        if tag == "title":
            self._in_title = True
        if tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skip_depth:
            self._skip_depth -= 1
        if tag == "title":
            self._in_title = False
        if tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
            return
        if not self._skip_depth:
            self.parts.append(data)

    def text(self) -> str:
        joined = "".join(self.parts)
        lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in joined.split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def load_catalog(path: Path | None) -> dict[str, dict[str, str | None]]:
    """The catalog maps doc ids (file stems) to title, date, kind, publisher, language, country."""
    if path is None or not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DocumentError(str(path), f"the catalog is not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise DocumentError(str(path), "the catalog must map document ids to objects")
    return data


def _read_pdf(path: Path) -> tuple[str, str | None]:
    """The text layer of a PDF, page by page (pypdf); scanned pages without one give nothing."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise DocumentError(str(path), "encrypted PDF")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or None
    except DocumentError:
        raise
    except Exception as exc:  # pypdf raises many types for malformed files; skip, never crash
        raise DocumentError(str(path), f"unreadable PDF ({exc})") from exc
    paragraphs = [re.sub(r"[ \t]+\n", "\n", page).strip() for page in pages]
    text = "\n\n".join(p for p in paragraphs if p)
    if not text:
        raise DocumentError(str(path), "PDF without a text layer (scanned?); nothing to index")
    return text, title.strip() if isinstance(title, str) and title.strip() else None


def _read_text(path: Path) -> tuple[str, str | None]:
    if path.suffix.lower() == ".pdf":
        return _read_pdf(path)
    raw = path.read_bytes()
    if b"\x00" in raw[:4096]:
        raise DocumentError(str(path), "binary file, not text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(str(path), f"not valid UTF-8 text ({exc.reason})") from exc
    title = None
    if path.suffix.lower() in (".html", ".htm"):
        parser = _HTMLText()
        parser.feed(text)
        parser.close()
        text, title = parser.text(), parser.title.strip() or None
    elif path.suffix.lower() == ".md":
        heading = re.search(r"^#\s+(.+)$", text, re.MULTILINE)
        title = heading.group(1).strip() if heading else None
    return text, title


def _default_title(text: str, path: Path) -> str:
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), path.stem)
    return first_line if len(first_line) <= 120 else first_line[:117].rstrip() + "…"


def read_document(path: Path, catalog: dict[str, dict[str, str | None]]) -> SourceDocument:
    """One file as a SourceDocument, or a DocumentError saying why it cannot be used."""
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise DocumentError(str(path), f"unsupported type (use {', '.join(SUPPORTED_SUFFIXES)})")
    try:
        text, found_title = _read_text(path)
    except OSError as exc:
        raise DocumentError(str(path), f"unreadable ({exc.strerror or exc})") from exc
    if not text.strip():
        raise DocumentError(str(path), "empty document")
    entry = catalog.get(path.stem, {})
    known = {"title", "date", "kind", "publisher", "language", "country"}
    return SourceDocument(
        doc_id=path.stem,
        text=text,
        title=entry.get("title") or found_title or _default_title(text, path),
        path=str(path),
        date=entry.get("date"),
        kind=entry.get("kind"),
        publisher=entry.get("publisher"),
        language=entry.get("language"),
        country=entry.get("country"),
        extra={k: str(v) for k, v in entry.items() if k not in known and v is not None},
    )


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[DocumentError]]:
    """Files to ingest under the given folders and paths, sorted; missing paths are errors."""
    files: list[Path] = []
    errors: list[DocumentError] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and p.suffix.lower() in SUPPORTED_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.is_file():
            files.append(path)
        else:
            errors.append(DocumentError(str(path), "no such file or folder"))
    return files, errors


def load_documents(paths: Iterable[Path], catalog_path: Path | None = None) -> LoadResult:
    """Every readable document under `paths`; bad ones are reported and skipped, never fatal."""
    catalog = load_catalog(catalog_path)
    files, errors = discover(paths)
    documents: dict[str, SourceDocument] = {}
    by_hash: dict[str, SourceDocument] = {}
    for file in files:
        try:
            document = read_document(file, catalog)
        except DocumentError as exc:
            errors.append(exc)
            continue
        if document.doc_id in documents:
            errors.append(
                DocumentError(
                    str(file), f"same document id as {documents[document.doc_id].path}; skipped"
                )
            )
            continue
        twin = by_hash.get(document.content_hash)
        if twin is not None:
            errors.append(DocumentError(str(file), f"same text as {twin.path}; skipped"))
            continue
        documents[document.doc_id] = document
        by_hash[document.content_hash] = document
    if not documents:
        reasons = "; ".join(e.message for e in errors) or "no .txt, .md, .html or .pdf file found"
        raise NoDocumentsError(f"Nothing to index ({reasons}).")
    return LoadResult(documents=list(documents.values()), errors=errors)
