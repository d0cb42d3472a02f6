"""Runs the gold set through the answer service and computes the benchmark's metrics."""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from eval.gold import GoldQuestion
from index.text import fold
from rag.models import Answer

# Each metric in one line, with its formula; the report prints these.
DEFINITIONS = {
    "answer_accuracy": "answerable questions whose answer (not abstained) holds every key fact "
    "(an alias of each) / answerable questions",
    "key_fact_recall": "key facts found in non-abstained answers / key facts of answerable "
    "questions",
    "key_fact_recall_with_related": "key facts found in non-abstained answers or in their "
    "'see also' passages (the next-ranked, not quoted) / key facts of answerable questions",
    "llm_context_ceiling": "answerable questions not abstained on whose every key fact is in "
    "the passages the generative mode's LLM reads (computed offline, no LLM) / answerable "
    "questions: the generative mode's accuracy with a perfect reader",
    "abstention_accuracy": "unanswerable questions that abstained / unanswerable questions",
    "false_abstentions": "answerable questions that abstained / answerable questions",
    "wrong_answers": "answerable questions answered (not abstained) without every key fact / "
    "answerable questions: accuracy, false abstentions and this sum to 1",
    "citation_precision": "citations of answered questions that come from a supporting document "
    "/ those citations",
    "citation_precision_strict": "citations from a supporting document that hold a key fact, "
    "or are the only citation of their answer / citations of answered questions",
    "citation_recall": "key facts found in an answer that are inside one of its cited passages "
    "/ key facts found in answers (ALCE-style; 1.0 by construction for quotes)",
    "cites_supporting_passage": "answered questions citing a supporting-document passage that "
    "holds a key fact / answered questions",
    "citation_validity": "answers whose every [n] marker maps to a citation and every citation's "
    "offsets give its exact text / all answers",
    "conflicts_both_sides": "conflicting-source questions whose answer holds every side / "
    "conflicting-source questions",
    "median_answer_chars": "median characters of non-abstained answers",
    "p90_answer_chars": "90th percentile of characters of non-abstained answers",
    "latency_p50_ms": "median time of one answer, end to end, warm",
    "latency_p95_ms": "95th percentile of that time",
}


@dataclass(frozen=True)
class Inspection:
    """What an answer was chosen from, for the diagnostics: the text the generative mode's
    LLM reads, and the candidate sentences (doc id, text), best first."""

    llm_context: str
    candidates: list[tuple[str, str]]


# Where a key fact missing from its answer stands among the candidate sentences.
RANK_BUCKETS = ("first", "2-3", "4-12", "13+", "not a candidate")


def _bucket(rank: int | None) -> str:
    if rank is None:
        return "not a candidate"
    return "first" if rank == 0 else "2-3" if rank < 3 else "4-12" if rank < 12 else "13+"


@dataclass
class Scored:
    question: GoldQuestion
    answer: Answer
    facts_found: list[bool]
    cited_docs: list[str]
    supported: bool
    valid_citations: bool = True
    in_llm_context: list[bool] | None = None  # each key fact in the LLM's passages
    # each key fact's first candidate sentence (from a supporting document) holding it
    fact_ranks: list[int | None] | None = None

    @property
    def correct(self) -> bool:
        if not self.question.answerable:
            return self.answer.abstained
        return not self.answer.abstained and all(self.facts_found)

    def to_row(self) -> dict[str, Any]:
        return {
            "id": self.question.id,
            "split": self.question.split,
            "kind": self.question.kind,
            "language": self.question.language,
            "question": self.question.question,
            "correct": self.correct,
            "facts": self.question.facts,
            "facts_found": self.facts_found,
            "supporting_docs": self.question.supporting_docs,
            "cited_docs": self.cited_docs,
            "valid_citations": self.valid_citations,
            "in_llm_context": self.in_llm_context,
            "fact_ranks": self.fact_ranks,
            "answer": self.answer.model_dump(),
        }


def _in_related(fact: list[str], answer: Answer) -> bool:
    related = fold(" ".join(r.text for r in answer.related))
    return any(fold(alias) in related for alias in fact)


def _has_fact(text: str, question: GoldQuestion) -> bool:
    folded = fold(text)
    return any(fold(alias) in folded for fact in question.facts for alias in fact)


def score(question: GoldQuestion, answer: Answer, sources: dict[str, str] | None = None) -> Scored:
    """Score one answer; with `sources` (doc id -> text) also check citation validity."""
    found = facts_in(answer.answer, question)
    cited = [c.doc_id for c in answer.citations]
    supported = any(
        c.doc_id in question.supporting_docs and _has_fact(c.text, question)
        for c in answer.citations
    )
    markers = {int(m) for m in re.findall(r"\[(\d+)\]", answer.answer)}
    valid = markers <= {c.marker for c in answer.citations}
    if sources is not None:
        valid = valid and all(
            sources.get(c.doc_id, "")[c.start : c.end] == c.text for c in answer.citations
        )
    return Scored(question, answer, found, cited, supported, valid)


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
    key_fact_recall_with_related: float | None
    llm_context_ceiling: float | None
    abstention_accuracy: float | None
    false_abstentions: float | None
    wrong_answers: float | None
    citation_precision: float | None
    citation_precision_strict: float | None
    citation_recall: float | None
    cites_supporting_passage: float | None
    citation_validity: float | None
    conflicts_both_sides: float | None
    median_answer_chars: float | None
    p90_answer_chars: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    extra: dict[str, Any] = field(default_factory=dict)


def metrics(results: list[Scored]) -> Metrics:
    answerable = [r for r in results if r.question.answerable]
    unanswerable = [r for r in results if not r.question.answerable]
    answered = [r for r in answerable if not r.answer.abstained]
    from_support = [
        c.doc_id in r.question.supporting_docs for r in answered for c in r.answer.citations
    ]
    strict = [
        c.doc_id in r.question.supporting_docs
        and (_has_fact(c.text, r.question) or len(r.answer.citations) == 1)
        for r in answered
        for c in r.answer.citations
    ]
    cited_facts = []
    for r in answered:
        cited_text = fold(" ".join(c.text for c in r.answer.citations))
        for fact, found in zip(r.question.facts, r.facts_found, strict=True):
            if found:
                cited_facts.append(any(fold(a) in cited_text for a in fact))
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
        key_fact_recall_with_related=_share(
            found or (not r.answer.abstained and _in_related(fact, r.answer))
            for r in answerable
            for fact, found in zip(
                r.question.facts,
                r.facts_found if not r.answer.abstained else [False] * len(r.facts_found),
                strict=True,
            )
        ),
        llm_context_ceiling=_share(
            not r.answer.abstained and all(r.in_llm_context)
            for r in answerable
            if r.in_llm_context is not None
        ),
        abstention_accuracy=_share(r.answer.abstained for r in unanswerable),
        false_abstentions=_share(r.answer.abstained for r in answerable),
        wrong_answers=_share(not r.answer.abstained and not r.correct for r in answerable),
        citation_precision=_share(from_support),
        citation_precision_strict=_share(strict),
        citation_recall=_share(cited_facts),
        cites_supporting_passage=_share(r.supported for r in answered),
        citation_validity=_share(r.valid_citations for r in results),
        conflicts_both_sides=_share(r.correct for r in conflicts),
        median_answer_chars=statistics.median(lengths) if lengths else None,
        p90_answer_chars=_percentile(lengths, 0.9),
        latency_p50_ms=_percentile(latencies, 0.5),
        latency_p95_ms=_percentile(latencies, 0.95),
    )


def facts_in(text: str, question: GoldQuestion) -> list[bool]:
    """For each key fact of `question`, whether one of its aliases is in `text`."""
    folded = fold(text)
    return [any(fold(alias) in folded for alias in fact) for fact in question.facts]


def fact_ranks(question: GoldQuestion, candidates: list[tuple[str, str]]) -> list[int | None]:
    """For each key fact, the rank of the first candidate from a supporting document that
    holds it (None: no candidate does)."""
    folded = [
        fold(text) if doc_id in question.supporting_docs else "" for doc_id, text in candidates
    ]
    return [
        next((i for i, text in enumerate(folded) if any(fold(a) in text for a in fact)), None)
        for fact in question.facts
    ]


def run(
    questions: list[GoldQuestion],
    ask: Callable[[str], Answer],
    progress: Callable[[int, int], None] | None = None,
    sources: dict[str, str] | None = None,
    inspect: Callable[[str], Inspection | None] | None = None,
) -> list[Scored]:
    """Answer and score each question; with `inspect` also check which key facts the LLM's
    passages hold and where each stands among the candidate sentences."""
    results = []
    for i, question in enumerate(questions, start=1):
        scored = score(question, ask(question.question), sources)
        seen = inspect(question.question) if inspect and question.answerable else None
        if seen is not None:
            scored.in_llm_context = facts_in(seen.llm_context, question)
            scored.fact_ranks = fact_ranks(question, seen.candidates)
        results.append(scored)
        if progress:
            progress(i, len(questions))
    return results


def missed_fact_ranks(results: list[Scored]) -> dict[str, int] | None:
    """Key facts missing from their answers (all of an abstained answer's), counted by where
    they stand among the candidate sentences: what limits the answers, without reading one
    question."""
    inspected = [r for r in results if r.question.answerable and r.fact_ranks is not None]
    if not inspected:
        return None
    counts = dict.fromkeys(RANK_BUCKETS, 0)
    for r in inspected:
        for found, rank in zip(r.facts_found, r.fact_ranks or [], strict=True):
            if r.answer.abstained or not found:
                counts[_bucket(rank)] += 1
    return counts


def grouped(results: list[Scored]) -> dict[str, Metrics]:
    """Metrics overall, per split, per kind and per language."""
    return {name: metrics(group) for name, group in result_groups(results).items()}


def result_groups(results: list[Scored]) -> dict[str, list[Scored]]:
    """The results overall ("all"), per split ("split:dev"), per kind ("kind:fact"), per
    language ("lang:nl"), and the cross-lingual ones ("crosslingual")."""
    groups: dict[str, list[Scored]] = {"all": results}
    for r in results:
        groups.setdefault(f"split:{r.question.split}", []).append(r)
    for r in results:
        groups.setdefault(f"kind:{r.question.kind}", []).append(r)
    for r in results:
        groups.setdefault(f"lang:{r.question.language}", []).append(r)
    cross = [r for r in results if r.question.kind.startswith("crosslingual")]
    if cross:
        groups["crosslingual"] = cross
    return groups


def calibrate(results: list[Scored], max_false_abstentions: float = 0.05) -> dict[str, Any]:
    """Abstain thresholds (French; English and Dutch) from a run made with the thresholds at
    their minimum, the answer-type gate still on. A threshold only matters for the questions
    the gate lets through. Each group's is the one that abstains on the most of those that
    would be answered badly and the fewest that would be answered well: the highest share of
    unanswerable questions caught minus the share of answerable ones correctly answered that
    it loses (both over all the group's questions of that kind), with false abstentions, the
    gate's included, within `max_false_abstentions`. Abstaining on an answerable question that
    would get a wrong answer costs nothing there, so ties go to the higher threshold."""
    report: dict[str, Any] = {}
    for group, languages in (("french", {"fr"}), ("other", {"en", "nl"})):
        rows = [r for r in results if r.question.language in languages]
        good = [r for r in rows if r.question.answerable]
        bad = [r for r in rows if not r.question.answerable]
        if not good:
            continue
        gated_good = sum(r.answer.abstained for r in good)
        gated_bad = sum(r.answer.abstained for r in bad)
        open_good = [r.answer.confidence for r in good if not r.answer.abstained]
        open_right = [r.answer.confidence for r in good if not r.answer.abstained and r.correct]
        open_bad = [r.answer.confidence for r in bad if not r.answer.abstained]
        levels = sorted(set(open_good + open_bad))
        # Half-way between neighbouring confidences, and below them all (no abstention).
        thresholds = [levels[0] - 0.01] if levels else [0.0]
        thresholds += [round((a + b) / 2, 4) for a, b in pairwise(levels)]

        def below(values: list[float], t: float) -> int:
            return sum(c < t for c in values)

        allowed = [
            t
            for t in thresholds
            if gated_good + below(open_good, t) <= max_false_abstentions * len(good)
        ]
        threshold = max(
            allowed or thresholds[:1],
            key=lambda t: (
                below(open_bad, t) / max(1, len(bad)) - below(open_right, t) / len(good),
                t,
            ),
        )
        report[group] = {
            "threshold": threshold,
            "false_abstentions": round((gated_good + below(open_good, threshold)) / len(good), 3),
            "abstentions_on_unanswerable": (
                round((gated_bad + below(open_bad, threshold)) / len(bad), 3) if bad else None
            ),
        }
    return report
