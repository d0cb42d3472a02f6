import json
from pathlib import Path
from typing import get_args

import pytest

from eval.gold import GOLD_PATH, GoldSetError, Kind, load_gold
from eval.intervals import grouped_intervals, intervals
from eval.report import _kind_by_split_lines
from eval.runner import (
    Inspection,
    calibrate,
    fact_ranks,
    metrics,
    missed_fact_ranks,
    run,
    score,
)
from rag.models import Answer, Citation, RelatedPassage
from tests.conftest import SEEDS

DOCS = {p.stem: p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt")}


def test_gold_set_is_valid_and_covers_every_kind_and_split() -> None:
    questions = load_gold(documents=DOCS)
    assert len(questions) >= 60
    kinds = {q.kind for q in questions}
    assert kinds == set(get_args(Kind))
    assert sum(q.kind == "unanswerable" for q in questions) >= 8
    for split in ("dev", "held-out"):
        assert {q.kind for q in questions if q.split == split} == kinds
    assert {d for q in questions for d in q.supporting_docs} == set(DOCS)


def test_a_bad_gold_line_is_pointed_at(tmp_path: Path) -> None:
    lines = GOLD_PATH.read_text(encoding="utf-8").splitlines()[:3]
    bad = json.loads(lines[1])
    bad["facts"] = [["a fact that is nowhere"]]
    path = tmp_path / "gold.jsonl"
    path.write_text("\n".join([lines[0], json.dumps(bad), lines[2]]), encoding="utf-8")
    with pytest.raises(GoldSetError, match=r"gold.jsonl:2: fact"):
        load_gold(path, documents=DOCS)


def _answer(text: str, doc_ids: list[str], abstained: bool = False, confidence: float = 1.0):
    citations = [
        Citation(marker=i, doc_id=d, title="t", text=text, start=0, end=len(text), score=1.0)
        for i, d in enumerate(doc_ids, start=1)
    ]
    return Answer(
        question="q",
        answer=text,
        abstained=abstained,
        language="fr",
        citations=citations,
        confidence=confidence,
        timings_ms={"total": 10.0},
    )


def test_metrics_count_facts_citations_and_abstentions() -> None:
    questions = {q.id: q for q in load_gold()}
    answerable = next(q for q in questions.values() if q.kind == "fact")
    unanswerable = next(q for q in questions.values() if q.kind == "unanswerable")
    fact = answerable.facts[0][0]
    right = score(answerable, _answer(f"Oui : {fact} [1]", answerable.supporting_docs[:1]))
    wrong_doc = score(answerable, _answer(f"{fact} [1]", ["other"]))
    abstained = score(unanswerable, _answer("Les documents ne disent pas.", [], True, 0.1))
    m = metrics([right, wrong_doc, abstained])
    assert m.answer_accuracy == 1.0
    assert m.citation_precision == 0.5
    assert m.abstention_accuracy == 1.0 and m.false_abstentions == 0.0
    assert m.wrong_answers == 0.0
    missed = score(answerable, _answer("Rien à voir. [1]", answerable.supporting_docs[:1]))
    assert metrics([right, missed]).wrong_answers == 0.5
    assert m.cites_supporting_passage == 0.5
    thresholds = calibrate([right, wrong_doc, abstained])
    assert thresholds["french"]["false_abstentions"] <= 0.05


def test_calibration_separates_what_the_gate_lets_through() -> None:
    questions = load_gold()
    answerable = [q for q in questions if q.language == "fr" and q.answerable][:40]
    unanswerable = [q for q in questions if q.language == "fr" and not q.answerable][:4]
    fact = answerable[0].facts[0][0]
    results = [
        score(q, _answer(fact, q.supporting_docs[:1], confidence=0.9 + i / 1000))
        for i, q in enumerate(answerable)
    ]
    # One unanswerable question the gate caught (its confidence is high: the threshold must
    # not chase it), three it let through at confidences below every answerable one but two:
    # a right answer at 0.7 (losing it costs) and a wrong one at 0.85 (abstaining is better).
    results.append(score(unanswerable[0], _answer("", [], abstained=True, confidence=0.95)))
    results += [score(q, _answer(fact, [], confidence=0.8)) for q in unanswerable[1:]]
    results.append(score(answerable[0], _answer(fact, [], confidence=0.7)))
    results.append(score(answerable[1], _answer("rien", [], confidence=0.85)))
    french = calibrate(results)["french"]
    assert 0.85 < french["threshold"] < 0.9  # and keeps every right answer above 0.7
    assert french["abstentions_on_unanswerable"] == 1.0
    assert french["false_abstentions"] == round(2 / 42, 3)  # the 0.7 right one, the 0.85 wrong one


def test_intervals_resample_whole_question_families() -> None:
    questions = load_gold()
    originals = [q for q in questions if q.answerable and q.variant_of is None][:6]
    variants = {o.id: [q for q in questions if q.variant_of == o.id] for o in originals}
    results = []
    for i, original in enumerate(originals):
        fact = original.facts[0][0] if i % 2 == 0 else "rien"  # half the families right
        for q in [original, *variants[original.id]]:
            results.append(score(q, _answer(f"{fact} [1]", q.supporting_docs[:1])))
    found = intervals(results)
    accuracy = found["answer_accuracy"]
    assert accuracy["value"] == metrics(results).answer_accuracy
    assert accuracy["families"] == 6
    assert 0.0 <= accuracy["low"] < accuracy["value"] < accuracy["high"] <= 1.0
    assert intervals(results) == found  # a fixed seed: the same report twice
    assert found["abstention_accuracy"]["value"] is None  # no unanswerable question drawn
    # Twice the families, each as often right: the interval narrows.
    doubled = intervals(
        results
        + [
            score(
                r.question.model_copy(
                    update={
                        "id": r.question.id + "b",
                        "variant_of": (r.question.variant_of or r.question.id) + "b",
                    }
                ),
                r.answer,
            )
            for r in results
        ]
    )
    assert doubled["answer_accuracy"]["high"] - doubled["answer_accuracy"]["low"] < (
        accuracy["high"] - accuracy["low"]
    )


def test_intervals_of_one_family_or_none_are_points_or_empty() -> None:
    question = next(q for q in load_gold() if q.answerable)
    right = score(question, _answer(f"{question.facts[0][0]} [1]", question.supporting_docs[:1]))
    only = intervals([right])["answer_accuracy"]
    assert only["value"] == only["low"] == only["high"] == 1.0
    assert intervals([])["answer_accuracy"]["value"] is None
    groups = grouped_intervals([right])
    assert set(groups) == {"all", f"split:{question.split}"}
    assert groups["all"]["families"] == 1


def test_the_report_counts_right_answers_by_kind_and_split() -> None:
    questions = load_gold()
    dev = next(q for q in questions if q.split == "dev" and q.kind == "fact")
    held = next(q for q in questions if q.split == "held-out" and q.kind == "fact")
    unanswerable = next(q for q in questions if q.split == "dev" and q.kind == "unanswerable")
    results = [
        score(dev, _answer(f"{dev.facts[0][0]} [1]", dev.supporting_docs[:1])),
        score(held, _answer("rien [1]", held.supporting_docs[:1])),
        score(unanswerable, _answer("Les documents ne disent pas.", [], abstained=True)),
    ]
    table = "\n".join(_kind_by_split_lines(results))
    assert "| kind | dev | held-out |" in table
    assert "| fact | 1/1 (1.00) | 0/1 (0.00) |" in table
    assert "| unanswerable | 1/1 (1.00) | — |" in table
    assert _kind_by_split_lines(results[:1]) == []  # one split: the kind rows say it all


def test_facts_in_the_see_also_passages_are_counted_apart() -> None:
    question = next(q for q in load_gold() if q.kind == "fact")
    fact = question.facts[0][0]
    missed = _answer("Rien à voir. [1]", question.supporting_docs[:1])
    missed.related = [
        RelatedPassage(
            doc_id=question.supporting_docs[0],
            title="t",
            text=f"… {fact} …",
            start=0,
            end=len(fact) + 4,
            score=0.9,
        )
    ]
    m = metrics([score(question, missed)])
    assert m.key_fact_recall == 0.0 and m.answer_accuracy == 0.0
    assert m.key_fact_recall_with_related == 1.0


def test_the_llm_context_ceiling_needs_every_fact_in_the_context_and_no_abstention() -> None:
    questions = [q for q in load_gold() if q.kind == "multi_fact"][:2]
    first, second = questions
    both = " ".join(fact[0] for fact in first.facts)
    seen = {
        first.question: Inspection(both, []),
        second.question: Inspection(second.facts[0][0], []),
    }
    answers = {q.question: _answer("Rien. [1]", q.supporting_docs[:1]) for q in questions}
    results = run(questions, answers.__getitem__, inspect=seen.get)
    assert results[0].in_llm_context == [True] * len(first.facts)
    assert results[1].in_llm_context == [True] + [False] * (len(second.facts) - 1)
    assert metrics(results).llm_context_ceiling == 0.5
    answers[first.question].abstained = True  # the LLM is never asked then
    again = run(questions, answers.__getitem__, inspect=seen.get)
    assert metrics(again).llm_context_ceiling == 0.0
    assert metrics(run(questions, answers.__getitem__)).llm_context_ceiling is None


def test_missed_facts_are_counted_by_where_they_stand_among_the_candidates() -> None:
    question = next(q for q in load_gold() if q.kind == "multi_fact" and len(q.facts) >= 2)
    doc = question.supporting_docs[0]
    fact_one, fact_two = question.facts[0][0], question.facts[1][0]
    candidates = [
        (doc, "rien"),
        ("another document", f"{fact_two} ailleurs"),  # not a supporting document: not counted
        (doc, f"… {fact_two} …"),
        *[(doc, "rien")] * 10,
        (doc, f"… {fact_one} …"),
    ]
    assert fact_ranks(question, candidates)[:2] == [13, 2]
    answer = _answer(f"{fact_one} [1]", [doc])
    [result] = run([question], lambda _: answer, inspect=lambda _: Inspection("", candidates))
    counts = missed_fact_ranks([result])
    assert counts["2-3"] == 1 and counts["13+"] == 0  # the first fact is in the answer
    assert sum(counts.values()) == len(question.facts) - 1
    assert missed_fact_ranks([score(question, answer)]) is None
