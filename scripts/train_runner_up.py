"""Train the runner-up model (rag/runner_up.json) on the gold set's dev split.

    python scripts/train_runner_up.py             # needs an index of seeds/ and scikit-learn
    python scripts/train_runner_up.py --check     # the out-of-fold figures only; writes nothing

An answer quotes the best-ranked sentence and, often, a runner-up: the second half of a
two-part answer, or the sentence the ranker could not tell from the best. Which runner-up,
if any, was decided by score margins and a character budget; this model decides it instead.

For every answerable dev question that is answered, it composes the answer as the service
does with the margin rule, then reads each runner-up among the next `CANDIDATES` sentences
(features: RUNNER_UP_FEATURES in rag/ranker.py) and labels it 1 when it comes from a
supporting document and holds a key fact that the rest of the answer lacks. Gradient-boosted
trees (scikit-learn's HistGradientBoostingClassifier, exported as arrays so that answering
needs no scikit-learn) learn that label.

The threshold and the character cap are chosen out of fold: each fold of question families
(a question, its paraphrases and translations) is answered by trees fitted on the others, and
an answer counts as right when its sentences hold every key fact. Held-out and validation
questions are never read.
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import dataclass
from typing import Any

import numpy as np
from train_ranker import blind_set, out_of_fold_figures, readable_json

from eval.gold import GoldQuestion, load_gold
from eval.runner import run
from index.text import fold
from rag.extractive import Candidate, ExtractiveSynthesizer, question_shape, runner_up_features
from rag.language import Language
from rag.ranker import RUNNER_UP_FEATURES, RUNNER_UP_PATH, RunnerUpModel, TreeEnsemble
from rag.service import AnswerService
from rag.settings import RagSettings

CANDIDATES = 7
FOLDS = 5
THRESHOLDS = (0.02, 0.03, 0.06, 0.1, 0.15)
MAX_CHARS = (525, 700)
TREE_SETTINGS = {
    "max_iter": 200,
    "learning_rate": 0.05,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 20,
    "early_stopping": False,
}


@dataclass
class Composed:
    """One answered question: the sentences quoted without the rule's runners-up, and the
    runners-up the model may add, with their features."""

    gold: GoldQuestion
    quoted: list[str]  # without the rule's runners-up
    rule_quoted: list[str]  # as the margin rule answered
    runners_up: list[tuple[str, str, np.ndarray]]  # text, document id, features
    room: bool  # whether the answer has room for one more sentence


class RecordingSynthesizer(ExtractiveSynthesizer):
    """The service's synthesizer with the margin rule, keeping what each answer was made of."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.record: dict[str, Any] = {}

    def _close_runners_up(
        self, asked: str, language: Language, ranked: list[Candidate], chosen: list[Candidate]
    ) -> list[Candidate]:
        added = super()._close_runners_up(asked, language, ranked, chosen)
        shape = question_shape(asked, language)
        self.record.update(
            added=added,
            room=len(chosen) < self.settings.max_answer_sentences,
            runners_up=[
                (
                    candidate,
                    runner_up_features(
                        ranked[0],
                        candidate,
                        rank,
                        self._sentences_apart(ranked[0], candidate),
                        shape,
                    ),
                )
                for rank, candidate in enumerate(ranked[1 : 1 + CANDIDATES], start=1)
                if self.may_run_up(ranked[0], candidate, chosen)
            ],
        )
        return added

    def _complete_quotations(self, chosen: list[Candidate]) -> list[Candidate]:
        self.record["final"] = list(chosen)
        return super()._complete_quotations(chosen)


def collect() -> list[Composed]:
    settings = RagSettings(runner_up="rule")
    started = AnswerService.start(settings)
    synthesizer = RecordingSynthesizer(started.index, settings, started.embed_model)
    service = AnswerService(settings, started.embed_model, started.index, synthesizer)
    composed = []
    for gold in load_gold():
        if gold.split != "dev" or not gold.answerable:
            continue
        synthesizer.record = {}
        answer = service.ask(gold.question)
        record = synthesizer.record
        if answer.abstained or "final" not in record or "runners_up" not in record:
            continue
        added = record["added"]
        composed.append(
            Composed(
                gold,
                [c.text for c in record["final"] if c not in added],
                [c.text for c in record["final"]],
                [
                    (c.text, c.info.doc_id, np.array(v, dtype=float))
                    for c, v in record["runners_up"]
                ],
                bool(record["room"]),
            )
        )
    return composed


def holds_all(gold: GoldQuestion, texts: list[str]) -> bool:
    folded = fold(" ".join(texts))
    return all(any(fold(alias) in folded for alias in fact) for fact in gold.facts)


def label(item: Composed, text: str, doc_id: str) -> float:
    """1 when the runner-up is from a supporting document and holds a key fact missing from
    the rest of the answer."""
    if doc_id not in item.gold.supporting_docs:
        return 0.0
    quoted, runner_up = fold(" ".join(item.quoted)), fold(text)
    return float(
        any(
            not any(fold(a) in quoted for a in fact) and any(fold(a) in runner_up for a in fact)
            for fact in item.gold.facts
        )
    )


def fit(x: np.ndarray, y: np.ndarray) -> TreeEnsemble:
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(**TREE_SETTINGS).fit(x, y)
    return TreeEnsemble.from_sklearn(model, tuple(range(len(RUNNER_UP_FEATURES))))


def answered(item: Composed, probabilities: np.ndarray, threshold: float, cap: int) -> list[str]:
    """The answer's sentences with the likeliest runner-up the model would add."""
    quoted = list(item.quoted)
    if not item.room:
        return quoted
    room = cap - sum(len(t) for t in quoted)
    fitting = [
        (p, text)
        for p, (text, _, _) in zip(probabilities, item.runners_up, strict=True)
        if p >= threshold and len(text) <= room
    ]
    return [*quoted, max(fitting)[1]] if fitting else quoted


def fold_of(gold: GoldQuestion) -> int:
    """The question's fold: the blind set it came in (the folds of scripts/train_ranker.py),
    so that no fold is judged by trees that saw its paraphrases or its set's habits."""
    return BLIND_SETS.index(blind_set(gold.variant_of or gold.id)) % FOLDS


BLIND_SETS = sorted({blind_set(g.variant_of or g.id) for g in load_gold() if g.split == "dev"})


def probabilities_out_of_fold(composed: list[Composed]) -> list[np.ndarray]:
    """Each answer's runners-up scored by trees fitted without its fold."""
    scored: list[np.ndarray] = [np.zeros(len(item.runners_up)) for item in composed]
    for fold_ in range(FOLDS):
        train = [item for item in composed if fold_of(item.gold) != fold_]
        trees = fit(*matrix(train))
        for i, item in enumerate(composed):
            if fold_of(item.gold) == fold_ and item.runners_up:
                scored[i] = np.array([_probability(trees, v) for _, _, v in item.runners_up])
    return scored


def _probability(trees: TreeEnsemble, vector: np.ndarray) -> float:
    return float(1.0 / (1.0 + np.exp(-trees.log_odds(list(vector)))))


def matrix(composed: list[Composed]) -> tuple[np.ndarray, np.ndarray]:
    rows = [(v, label(item, text, doc)) for item in composed for text, doc, v in item.runners_up]
    return np.array([v for v, _ in rows]), np.array([y for _, y in rows])


def report(composed: list[Composed], scored: list[np.ndarray]) -> dict[str, object]:
    """Right answers and answer lengths for the margin rule and each threshold and cap."""

    def figures(answers: list[list[str]]) -> dict[str, float]:
        lengths = [sum(len(t) for t in texts) for texts in answers]
        return {
            "right": sum(
                holds_all(item.gold, texts) for item, texts in zip(composed, answers, strict=True)
            ),
            "median_chars": statistics.median(lengths),
            "within_350": round(sum(n <= 350 for n in lengths) / len(lengths), 3),
        }

    rows: dict[str, object] = {"rule": figures([item.rule_quoted for item in composed])}
    for threshold in THRESHOLDS:
        for cap in MAX_CHARS:
            rows[f"model {threshold} {cap}"] = figures(
                [
                    answered(item, p, threshold, cap)
                    for item, p in zip(composed, scored, strict=True)
                ]
            )
    return rows


def answered_out_of_fold(composed: list[Composed], threshold: float, max_chars: int) -> None:
    """Every dev question answered by the service with a model fitted without its fold."""
    service = AnswerService.start(RagSettings())
    synthesizer = service.synthesizer
    assert isinstance(synthesizer, ExtractiveSynthesizer)
    texts = {d: doc.text for d, doc in service.index.documents.items()}
    dev = [g for g in load_gold(documents=texts) if g.split == "dev"]
    results = []
    for k in range(FOLDS):
        trees = fit(*matrix([item for item in composed if fold_of(item.gold) != k]))
        synthesizer.runner_up = RunnerUpModel(trees, threshold, max_chars, CANDIDATES)
        results += run([g for g in dev if fold_of(g) == k], service.ask, sources=texts)
    print(json.dumps({"out_of_fold_dev": out_of_fold_figures(results)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="Print the out-of-fold figures only.")
    parser.add_argument("--threshold", type=float, default=0.03)
    parser.add_argument("--max-chars", type=int, default=700)
    args = parser.parse_args()
    composed = collect()
    figures = report(composed, probabilities_out_of_fold(composed))
    print(json.dumps({"answers": len(composed), "out_of_fold": figures}, indent=1))
    if args.check:
        answered_out_of_fold(composed, args.threshold, args.max_chars)
        return
    model = RunnerUpModel(fit(*matrix(composed)), args.threshold, args.max_chars, CANDIDATES)
    saved = {
        "trained_on": "eval/gold.jsonl, dev split, answered answerable questions "
        f"({len(composed)})",
        "tree_settings": TREE_SETTINGS,
        "out_of_fold": figures,
        **model.to_json(),
    }
    RUNNER_UP_PATH.write_text(readable_json(saved) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
