"""Train the learned sentence ranker (rag/ranker.json) on the gold set's dev split.

    python scripts/train_ranker.py            # needs an index of seeds/ (rag index)

For every answerable dev question it retrieves and ranks as the service does, labels each
candidate sentence 1 when it holds a key fact (an alias) and comes from a supporting document,
and fits a conditional logistic regression: a softmax over the question's candidates, L2
regularised, on standardised features (numpy, Newton steps). The regularisation is picked by
cross-validation over groups of variants (a question and its paraphrases and translations stay
in one fold), the criterion being how often a fact-bearing sentence ranks first. The weights
are then scaled to the hand-set score's spread, so the synthesizer's margins keep their meaning.
Held-out questions are never read.

    python scripts/train_ranker.py --out-of-fold   # checks, writes nothing

answers every dev question end to end with a ranker trained without its fold (the same
groups), and prints the metrics: the dev figure a ranker trained on dev would reach on
questions it has not seen.
"""

from __future__ import annotations

import argparse
import json
import zlib
from pathlib import Path

import numpy as np
from llama_index.core.schema import QueryBundle

from eval.gold import load_gold
from eval.runner import metrics, run
from index.text import fold
from rag.language import detect_language
from rag.ranker import FEATURES, RANKER_PATH, LearnedRanker
from rag.service import AnswerService
from rag.settings import RagSettings

L2_CHOICES = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
FOLDS = 5


class Question:
    def __init__(self, group: str, x: np.ndarray, y: np.ndarray, hand: np.ndarray) -> None:
        self.group, self.x, self.y, self.hand = group, x, y, hand
        self.z = x  # standardised before fitting


def collect(settings: RagSettings) -> list[Question]:
    """Each answerable dev question's candidates: features, labels and hand-set scores."""
    service = AnswerService.start(settings)
    synthesizer = service.synthesizer
    questions = []
    for gold in load_gold():
        if gold.split != "dev" or not gold.answerable:
            continue
        bundle = QueryBundle(
            query_str=gold.question,
            embedding=service.embed_model.get_query_embedding(gold.question),
        )
        nodes = service.engine.retrieve(bundle)
        ranked = synthesizer.rank(bundle, nodes, detect_language(gold.question))
        if not ranked:
            continue
        aliases = [fold(a) for fact in gold.facts for a in fact]
        labels = [
            float(c.info.doc_id in gold.supporting_docs and any(a in fold(c.text) for a in aliases))
            for c in ranked
        ]
        questions.append(
            Question(
                gold.variant_of or gold.id,
                np.array([c.features for c in ranked], dtype=float),
                np.array(labels),
                np.array([c.score for c in ranked]),
            )
        )
    return questions


def fit(questions: list[Question], l2: float) -> np.ndarray:
    """Weights on standardised features minimising the softmax loss + l2/2 |w|^2."""
    useful = [q for q in questions if q.y.sum() > 0]
    w = np.zeros(len(FEATURES))
    for _ in range(50):
        gradient = l2 * w
        hessian = l2 * np.eye(len(w))
        for q in useful:
            s = q.z @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            target = q.y / q.y.sum()
            gradient += q.z.T @ (p - target)
            mean = q.z.T @ p
            hessian += (q.z * p[:, None]).T @ q.z - np.outer(mean, mean)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def top1(questions: list[Question], w: np.ndarray) -> float:
    return sum(float(q.y[int(np.argmax(q.z @ w))]) for q in questions)


def fold_of(group: str) -> int:
    return zlib.crc32(group.encode()) % FOLDS


def cross_validated(questions: list[Question], l2: float) -> float:
    hits = 0.0
    for k in range(FOLDS):
        train = [q for q in questions if fold_of(q.group) != k]
        test = [q for q in questions if fold_of(q.group) == k]
        hits += top1(test, fit(train, l2))
    return hits / len(questions)


def standardise(questions: list[Question]) -> np.ndarray:
    """Sets each question's `z`; returns the features' scales."""
    stacked = np.vstack([q.x for q in questions])
    mean, scale = stacked.mean(axis=0), stacked.std(axis=0)
    scale[scale == 0] = 1.0
    for q in questions:
        q.z = (q.x - mean) / scale
    return scale


def as_ranker(questions: list[Question], w: np.ndarray, scale: np.ndarray) -> LearnedRanker:
    """Weights on raw features, scaled to the hand-set score: the factor that best matches
    both within each question, and the intercept that matches their means."""
    learned = [q.z @ w for q in questions]
    num = sum(
        float((s - s.mean()) @ (q.hand - q.hand.mean()))
        for s, q in zip(learned, questions, strict=True)
    )
    den = sum(float((s - s.mean()) @ (s - s.mean())) for s in learned)
    factor = num / den if den > 0 else 1.0
    weights = factor * w / scale
    intercept = float(
        np.mean(np.concatenate([q.hand for q in questions]))
        - np.mean(np.concatenate([q.x @ weights for q in questions]))
    )
    return LearnedRanker(tuple(float(v) for v in weights), intercept)


def out_of_fold(questions: list[Question], l2: float, scale: np.ndarray) -> None:
    """Every dev question answered by a ranker trained on the other folds."""
    service = AnswerService.start(RagSettings())
    dev = [g for g in load_gold() if g.split == "dev"]
    results = []
    for k in range(FOLDS):
        train = [q for q in questions if fold_of(q.group) != k]
        service.synthesizer.ranker = as_ranker(train, fit(train, l2), scale)
        results += run([g for g in dev if fold_of(g.variant_of or g.id) == k], service.ask)
    m = metrics(results)
    print(
        json.dumps(
            {
                "out_of_fold_dev": {
                    "questions": len(results),
                    "l2": l2,
                    "answer_accuracy": round(m.answer_accuracy, 3),
                    "abstention_accuracy": m.abstention_accuracy
                    and round(m.abstention_accuracy, 3),
                    "false_abstentions": round(m.false_abstentions, 3),
                    "citation_precision": m.citation_precision and round(m.citation_precision, 3),
                }
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RANKER_PATH)
    parser.add_argument(
        "--out-of-fold",
        action="store_true",
        help="Answer each dev fold with a ranker trained on the others; write nothing.",
    )
    args = parser.parse_args()
    settings = RagSettings(sentence_ranker="weighted")
    questions = collect(settings)
    scale = standardise(questions)
    scores = {l2: cross_validated(questions, l2) for l2 in L2_CHOICES}
    best = max(L2_CHOICES, key=lambda l2: (round(scores[l2], 6), l2))
    if args.out_of_fold:
        out_of_fold(questions, best, scale)
        return
    ranker = as_ranker(questions, fit(questions, best), scale)
    baseline = sum(float(q.y[int(np.argmax(q.hand))]) for q in questions) / len(questions)
    report = {
        "trained_on": "eval/gold.jsonl, dev split, answerable questions",
        "questions": len(questions),
        "l2": best,
        "cross_validated_top1": {str(k): round(v, 4) for k, v in scores.items()},
        "hand_weighted_top1": round(baseline, 4),
        "features": list(FEATURES),
        "weights": [round(v, 6) for v in ranker.weights],
        "intercept": round(ranker.intercept, 6),
    }
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k not in ("features", "weights")}))


if __name__ == "__main__":
    main()
