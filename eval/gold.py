"""Loading and validating the gold set (eval/gold.jsonl)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ValidationError

from index.text import fold

GOLD_PATH = Path(__file__).with_name("gold.jsonl")
Kind = Literal[
    "fact",
    "paraphrase",
    "crosslingual_en",
    "crosslingual_nl",
    "multi_fact",
    "conflict",
    "unanswerable",
]
Split = Literal["dev", "held-out", "validation", "test"]
# dev: tuned on and read; held-out: never tuned on; validation: written blind, read only
# through its aggregate figures, to choose between settings; test: written blind, unread.
SPLITS: tuple[Split, ...] = get_args(Split)


class GoldQuestion(BaseModel):
    id: str
    split: Split
    kind: Kind
    language: Literal["fr", "en", "nl"]
    question: str
    facts: list[list[str]]
    supporting_docs: list[str]
    note: str = ""
    variant_of: str | None = None  # a paraphrase or translation of that question

    @property
    def answerable(self) -> bool:
        return self.kind != "unanswerable"


class GoldSetError(ValueError):
    pass


def load_gold(
    path: Path = GOLD_PATH, documents: dict[str, str] | None = None
) -> list[GoldQuestion]:
    """Every question, checked: ids unique, kinds known, and when `documents` (doc id -> text)
    is given, each fact present in one of its supporting documents."""
    questions: list[GoldQuestion] = []
    seen: set[str] = set()
    folded = {doc_id: fold(text) for doc_id, text in (documents or {}).items()}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            question = GoldQuestion.model_validate(json.loads(line))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise GoldSetError(f"{where}: {exc}") from exc
        if question.id in seen:
            raise GoldSetError(f"{where}: duplicate id {question.id}")
        seen.add(question.id)
        if question.answerable and not (question.facts and question.supporting_docs):
            raise GoldSetError(f"{where}: an answerable question needs facts and documents")
        if not question.answerable and (question.facts or question.supporting_docs):
            raise GoldSetError(f"{where}: an unanswerable question has no facts or documents")
        if documents is not None:
            for doc_id in question.supporting_docs:
                if doc_id not in folded:
                    raise GoldSetError(f"{where}: unknown document {doc_id}")
            for fact in question.facts:
                if not any(
                    fold(alias) in folded[d] for alias in fact for d in question.supporting_docs
                ):
                    raise GoldSetError(f"{where}: fact {fact} is in none of its documents")
        questions.append(question)
    by_id = {q.id: q for q in questions}
    for question in questions:
        original = by_id.get(question.variant_of or question.id)
        if original is None:
            raise GoldSetError(
                f"{path}: {question.id} is a variant of unknown {question.variant_of}"
            )
        if original.split != question.split:
            raise GoldSetError(
                f"{path}: {question.id} and its original {original.id} must share "
                "a split, or the held-out part leaks into tuning"
            )
    return questions
