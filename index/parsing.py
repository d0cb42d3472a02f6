"""French-aware sentence boundaries with offsets, and chunks made of whole sentences.

Sentences come from NLTK's Punkt model for French (shipped inside llama-index-core, so nothing
is downloaded), applied line by line. Chunks come from LlamaIndex's `SentenceSplitter` fed
with those sentences; each chunk and sentence keeps its character offsets in the source text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import TextNode

from index.documents import SourceDocument
from index.terms import joined, stemmed_terms
from index.text import number_words

_HEADER = re.compile(r"^\s*date \d{4}(?:-\d{2}){0,2}\s+")
# Some URLs in the corpus have spaces in their slugs: extend to the first ".html" when one comes.
_URL = re.compile(r"https?://(?:[^\s()]+(?: [^\s()]+)*?\.html?[^\s()]*|[^\s()]+)|www\.[^\s()]+")
_BOILERPLATE = re.compile(
    r"voir cette publication|version à imprimer|je m'abonne|je fais un don|nos articles sont"
    r"|pourvu que ça dure|ça tombe bien|plus d'infos sur|pic\.twitter\.com|^accueil\b"
    r"|^\W*👉",
    re.IGNORECASE,
)
# "— Hadrien Clouet (@HadrienClouet) November 20, 2023": who posted an embedded message and
# when. Furniture, unless it carries that date, which questions ask about.
_POST_SIGNATURE = re.compile(r"^—\s|@\w+\)")
_DATED = re.compile(
    r"\b(?:janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre"
    r"|january|february|march|april|may|june|july|august|september|october|november|december)"
    r"\b.*\b(?:19|20)\d\d\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Sentence:
    """A sentence of a document: `text == document.text[start:end]`."""

    doc_id: str
    start: int
    end: int
    text: str
    boilerplate: bool
    is_question: bool
    section: str = ""  # "question" or "answer" in a parliamentary question and its answer

    @property
    def node_id(self) -> str:
        return f"{self.doc_id}:s{self.start}-{self.end}"


@lru_cache(maxsize=1)
def _punkt():
    import llama_index.core
    import nltk
    from nltk.tokenize.punkt import PunktTokenizer

    bundled = str(Path(llama_index.core.__file__).parent / "_static" / "nltk_cache")
    if bundled not in nltk.data.path:
        nltk.data.path.append(bundled)
    return PunktTokenizer("french")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every sentence; a line break always ends a sentence."""
    spans: list[tuple[int, int]] = []
    tokenizer = _punkt()
    for line in re.finditer(r"[^\n]+", text):
        offset = line.start()
        line_text = line.group(0)
        header = _HEADER.match(line_text)
        if header:
            head = header.group(0)
            spans.append((offset + len(head) - len(head.lstrip()), offset + len(head.rstrip())))
            offset += header.end()
            line_text = line_text[header.end() :]
        for start, end in tokenizer.span_tokenize(line_text):
            piece = line_text[start:end]
            lead = len(piece) - len(piece.lstrip())
            trail = len(piece) - len(piece.rstrip())
            if end - trail > start + lead:
                spans.append((offset + start + lead, offset + end - trail))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def is_boilerplate(sentence: str) -> bool:
    """Page furniture, metadata headers, social-media embeds, keyword lists: not answer text."""
    if _HEADER.match(sentence + " ") or _BOILERPLATE.search(sentence):
        return True
    if _POST_SIGNATURE.search(sentence):
        return not _DATED.search(sentence)
    without_urls = _URL.sub("", sentence)
    words = re.findall(r"[^\W_]+", without_urls)
    # A short line with no sentence punctuation and no figure is a label or a keyword.
    is_label = len(words) < 6 and not re.search(r"[.!?:;»\d]", without_urls)
    return len(words) < 3 or is_label


_ASKED = re.compile(r"^Question n° [\w-]+ du ", re.MULTILINE)
_ANSWERED = re.compile(r"^Réponse reçue le ", re.MULTILINE)


def section_at(text: str, offset: int) -> str:
    """In a parliamentary written question and its answer, which part `offset` falls in: the
    member's question states claims, the minister's answer states facts."""
    asked, answered = _ASKED.search(text), _ANSWERED.search(text)
    if not answered:
        return ""
    if offset >= answered.start():
        return "answer"
    return "question" if asked and offset >= asked.start() else ""


def split_sentences(document: SourceDocument) -> list[Sentence]:
    return [
        Sentence(
            doc_id=document.doc_id,
            start=start,
            end=end,
            text=document.text[start:end],
            boilerplate=is_boilerplate(document.text[start:end]),
            is_question=document.text[start:end].rstrip(' "”»').endswith("?"),
            section=section_at(document.text, start),
        )
        for start, end in sentence_spans(document.text)
    ]


def text_for_embedding(text: str) -> str:
    """What the embedding model reads: the text without URLs (their slugs mislead retrieval)."""
    return re.sub(r"\s+", " ", _URL.sub(" ", text)).strip()


def _sentence_pieces(text: str) -> list[str]:
    """Contiguous pieces of `text`, one per sentence, whose concatenation is `text` itself."""
    cuts = sorted({0, *(start for start, _ in sentence_spans(text))})
    pieces = [text[a:b] for a, b in zip(cuts, [*cuts[1:], len(text)], strict=True)]
    return [piece for piece in pieces if piece]


class ChunkParser:
    """Chunks of whole sentences (LlamaIndex `SentenceSplitter`), with offsets and metadata."""

    def __init__(self, chunk_size: int, chunk_overlap: int) -> None:
        self.splitter = SentenceSplitter(
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            paragraph_separator="\n\n",
            chunking_tokenizer_fn=_sentence_pieces,
            include_prev_next_rel=False,
        )

    def chunks(self, document: SourceDocument) -> list[TextNode]:
        nodes: list[TextNode] = []
        cursor = 0
        for chunk_text in self.splitter.split_text(document.text):
            start = document.text.find(chunk_text, cursor)
            if start < 0:
                start = document.text.find(chunk_text)
            if start < 0:
                raise ValueError(f"chunk not found verbatim in {document.doc_id}")
            end = start + len(chunk_text)
            cursor = start + 1
            numbers = " ".join(str(v) for _, _, v in number_words(chunk_text))
            nodes.append(
                TextNode(
                    id_=f"{document.doc_id}:c{start}-{end}",
                    text=chunk_text,
                    start_char_idx=start,
                    end_char_idx=end,
                    metadata={
                        "source_doc": document.doc_id,
                        "title": document.title,
                        "date": document.date or "",
                        "numbers": numbers,
                    },
                    excluded_embed_metadata_keys=["source_doc", "date"],
                    excluded_llm_metadata_keys=["source_doc", "numbers"],
                )
            )
        return nodes


def sentence_nodes(document: SourceDocument, sentences: list[Sentence]) -> list[TextNode]:
    return [
        TextNode(
            id_=s.node_id,
            text=s.text,
            start_char_idx=s.start,
            end_char_idx=s.end,
            metadata={
                "source_doc": s.doc_id,
                "start": s.start,
                "end": s.end,
                "boilerplate": s.boilerplate,
                "is_question": s.is_question,
                "section": s.section,
                "terms": joined(stemmed_terms(s.text)),
            },
        )
        for s in sentences
    ]
