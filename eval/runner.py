"""Runs the gold set through the answer service and computes the benchmark's metrics."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from eval.gold import GoldQuestion
from index.text import fold
from rag.models import Answer


@dataclass
class Scored:
    question: GoldQuestion
    answer: Answer
    facts_found: list[bool]
    cited_docs: list[str]
    supported: bool

    @property
    def correct(self) -> bool:
        if not self.question.answerable:
            return self.answer.abstained
        return not self.answer.abstained and all(self.facts_found)


def score(question: GoldQuestion, answer: Answer) -> Scored:
    text = fold(answer.answer)
    found = [any(fold(alias) in text for alias in fact) for fact in question.facts]
    cited = [c.doc_id for c in answer.citations]
    supported = any(
        c.doc_id in question.supporting_docs
        and any(fold(alias) in fold(c.text) for fact in question.facts for alias in fact)
        for c in answer.citations
    )
    return Scored(question, answer, found, cited, supported)


def _share(values: Iterable[bool]) -> float | None:
    values = list(values)
    return round(sum(values) / len(values), 3) if values else None


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return round(ordered[index], 1)


@dataclass
class Metrics:
    questions: int
    answer_accuracy: float | None
    key_fact_recall: float | None
    abstention_accuracy: float | None
    false_abstentions: float | None
    citation_precision: float | None
    cites_supporting_passage: float | None
    conflicts_both_sides: float | None
    median_answer_chars: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    extra: dict[str, Any] = field(default_factory=dict)


def metrics(results: list[Scored]) -> Metrics:
    answerable = [r for r in results if r.question.answerable]
    unanswerable = [r for r in results if not r.question.answerable]
    answered = [r for r in answerable if not r.answer.abstained]
    citations = [c for r in answered for c in r.answer.citations]
    supporting = [
        c.doc_id in r.question.supporting_docs for r in answered for c in r.answer.citations
    ]
    conflicts = [r for r in answerable if r.question.kind == "conflict"]
    lengths = [len(r.answer.answer) for r in answered]
    latencies = [r.answer.timings_ms["total"] for r in results]
    return Metrics(
        questions=len(results),
        answer_accuracy=_share(r.correct for r in answerable),
        key_fact_recall=_share(
            f
            for r in answerable
            for f in (r.facts_found if not r.answer.abstained else [False] * len(r.facts_found))
        ),
        abstention_accuracy=_share(r.answer.abstained for r in unanswerable),
        false_abstentions=_share(r.answer.abstained for r in answerable),
        citation_precision=_share(supporting) if citations else None,
        cites_supporting_passage=_share(r.supported for r in answered),
        conflicts_both_sides=_share(r.correct for r in conflicts),
        median_answer_chars=statistics.median(lengths) if lengths else None,
        latency_p50_ms=_percentile(latencies, 0.5),
        latency_p95_ms=_percentile(latencies, 0.95),
    )


def run(
    questions: list[GoldQuestion],
    ask: Callable[[str], Answer],
    progress: Callable[[int, int], None] | None = None,
) -> list[Scored]:
    results = []
    for i, question in enumerate(questions, start=1):
        results.append(score(question, ask(question.question)))
        if progress:
            progress(i, len(questions))
    return results


def grouped(results: list[Scored]) -> dict[str, Metrics]:
    """Metrics overall, per split, per kind and per language."""
    groups: dict[str, list[Scored]] = {"all": results}
    for r in results:
        groups.setdefault(f"split:{r.question.split}", []).append(r)
        groups.setdefault(f"kind:{r.question.kind}", []).append(r)
        groups.setdefault(f"lang:{r.question.language}", []).append(r)
    cross = [r for r in results if r.question.kind.startswith("crosslingual")]
    if cross:
        groups["crosslingual"] = cross
    return {name: metrics(group) for name, group in groups.items()}


def calibrate(results: list[Scored], max_false_abstentions: float = 0.05) -> dict[str, Any]:
    """Abstain thresholds (French; English and Dutch) from a run made with the thresholds at
    their minimum: the highest threshold that keeps false abstentions on answerable questions
    within `max_false_abstentions`, and what it catches of the unanswerable ones."""
    report: dict[str, Any] = {}
    for group, languages in (("french", {"fr"}), ("other", {"en", "nl"})):
        rows = [r for r in results if r.question.language in languages]
        good = sorted(r.answer.confidence for r in rows if r.question.answerable)
        bad = [r.answer.confidence for r in rows if not r.question.answerable]
        if not good:
            continue
        allowed = int(max_false_abstentions * len(good))
        # Half-way between the highest confidence we may lose and the next one we keep.
        keep = good[allowed]
        lose = good[allowed - 1] if allowed else keep - 0.01
        threshold = round((keep + lose) / 2, 4)
        report[group] = {
            "threshold": threshold,
            "false_abstentions": round(sum(c < threshold for c in good) / len(good), 3),
            "abstentions_on_unanswerable": (
                round(sum(c < threshold for c in bad) / len(bad), 3) if bad else None
            ),
        }
    return report
