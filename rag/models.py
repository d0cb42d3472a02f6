"""The answer contract shared by `rag ask --json`, the HTTP API and the chat page."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

# Why an answer abstained (the `abstain_reason` of the JSON contract).
AbstainReason = Literal[
    "weak_evidence",
    "not_in_sources",
    "figure_not_given",
    "amount_not_given",
    "day_not_given",
    "name_not_given",
    "outcome_not_given",
]


class Citation(BaseModel):
    marker: int = Field(description="The n of the [n] marker in the answer.")
    doc_id: str
    title: str
    date: str | None = None
    publisher: str | None = None
    section: str | None = Field(
        None,
        description="In a parliamentary question and answer: 'question' (the member's claims) "
        "or 'answer' (the minister's reply).",
    )
    text: str = Field(description="The exact quote: source_document_text[start:end] == text.")
    start: int
    end: int
    score: float = Field(
        description="How well the passage answers the question (higher is better)."
    )


class RelatedPassage(BaseModel):
    """A passage ranked just below those quoted: where to look when the answer misses."""

    doc_id: str
    title: str
    date: str | None = None
    publisher: str | None = None
    section: str | None = None
    text: str = Field(description="The exact passage: source_document_text[start:end] == text.")
    start: int
    end: int
    score: float


class Answer(BaseModel):
    question: str
    answer: str
    abstained: bool
    abstain_reason: AbstainReason | None = Field(
        None,
        description="Why it abstained: the evidence is weak; the LLM found no answer in the "
        "sources (generative mode); or the documents are about the subject but do not give "
        "the figure, amount, day, name or outcome asked.",
    )
    mode: Literal["extractive", "generative"] = "extractive"
    language: Literal["fr", "en", "nl"]
    citations: list[Citation]
    conflict: bool = Field(False, description="True when the cited sources disagree.")
    confidence: float = Field(description="Answer confidence compared with the abstain threshold.")
    timings_ms: dict[str, float]
    standalone_question: str | None = Field(
        None, description="A follow-up as rewritten with the conversation for retrieval."
    )
    warnings: list[str] = Field(
        default_factory=list, description="E.g. the LLM failed and the answer is extractive."
    )
    related: list[RelatedPassage] = Field(
        default_factory=list,
        description="See also: the next-ranked passages that are not quoted (extractive "
        "answers), where the answer may be when the quoted one misses it.",
    )
