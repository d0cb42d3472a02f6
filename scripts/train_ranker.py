"""Train the learned sentence ranker (rag/ranker.json) on the gold set's dev split.

    python scripts/train_ranker.py            # needs an index of seeds/ (rag index) and
                                              # scikit-learn (pip install -e '.[train]')

For every answerable dev question it retrieves and ranks as the service does and labels each
candidate sentence 1 when it holds a key fact (an alias) and comes from a supporting document.
The ranker has two parts, averaged (TREE_SHARE):

- gradient-boosted trees (scikit-learn's HistGradientBoostingClassifier), fitted on every
  candidate of every answerable dev question, on all features but a sentence's position in
  its document (with it, trees learn which sentences of these five texts answer most, not how
  a sentence answers a question). They are exported as arrays into the JSON file, so answering
  needs no scikit-learn;
- a conditional logistic regression (a softmax over the question's candidates, L2
  regularised, numpy Newton steps) on all features, the regularisation picked by
  cross-validation over groups of variants (a question and its paraphrases and translations
  stay in one fold). The saved one was fitted on the first 140 dev questions; refitting it on
  all of dev was measured several times and never kept (docs/answer-rules.md), so it is kept
  as saved unless --linear asks to refit it.

Both scores are scaled to the hand-set score's spread, so the synthesizer's margins keep their
meaning. Held-out and validation questions are never read.

    python scripts/train_ranker.py --out-of-fold   # checks, writes nothing

answers every dev question end to end with trees fitted without its fold (the folds are the
blind sets, which were written apart), and prints the metrics: the dev figure the ranker
reaches on questions it has not seen.

    python scripts/train_ranker.py --by-document   # checks, writes nothing

ranks each document's questions with trees fitted without that document's questions and
sentences: how the features carry to a text the ranker never saw (a user's own documents),
which questions about the same five texts cannot show. A feature is kept only if it helps here
too.
"""

from __future__ import annotations

import argparse
import json
import re
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.schema import QueryBundle

from eval.gold import load_gold
from eval.runner import Scored, metrics, run
from index.text import fold
from rag.language import detect_language
from rag.ranker import FEATURES, RANKER_PATH, LearnedRanker, TreeEnsemble
from rag.service import AnswerService
from rag.settings import RagSettings

L2_CHOICES = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
FOLDS = 5
TREE_SHARE = 0.5
# A sentence's place in its document: left out of the trees (see above).
TREE_FEATURES = tuple(
    i for i, name in enumerate(FEATURES) if name not in ("relative_position", "opens_document")
)
TREE_SETTINGS = {
    "max_iter": 200,
    "learning_rate": 0.05,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 40,
    "early_stopping": False,  # no random validation split: the same trees every run
}


class Question:
    def __init__(
        self,
        group: str,
        x: np.ndarray,
        y: np.ndarray,
        hand: np.ndarray,
        documents: np.ndarray,
        supporting: list[str],
    ) -> None:
        self.group, self.x, self.y, self.hand = group, x, y, hand
        self.documents, self.supporting = documents, supporting  # each candidate's; the gold's
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
                np.array([c.info.doc_id for c in ranked]),
                list(gold.supporting_docs),
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


def _fitted_model(x: np.ndarray, y: np.ndarray) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(**TREE_SETTINGS).fit(x, y)


def fit_trees(questions: list[Question]) -> TreeEnsemble:
    """The trees on every candidate's raw features, scaled like `as_ranker` scales the
    linear score."""
    columns = list(TREE_FEATURES)
    model = _fitted_model(
        np.vstack([q.x[:, columns] for q in questions]),
        np.concatenate([q.y for q in questions]),
    )
    unscaled = TreeEnsemble.from_sklearn(model, TREE_FEATURES)
    factor, offset = _onto_hand_scale(
        questions, [np.array([unscaled.log_odds(list(v)) for v in q.x]) for q in questions]
    )
    return unscaled.rescaled(factor, offset)


def _onto_hand_scale(questions: list[Question], learned: list[np.ndarray]) -> tuple[float, float]:
    """The factor that best matches the learned scores to the hand-set ones within each
    question, and the offset that matches their means."""
    num = sum(
        float((s - s.mean()) @ (q.hand - q.hand.mean()))
        for s, q in zip(learned, questions, strict=True)
    )
    den = sum(float((s - s.mean()) @ (s - s.mean())) for s in learned)
    factor = num / den if den > 0 else 1.0
    offset = float(
        np.mean(np.concatenate([q.hand for q in questions]))
        - factor * np.mean(np.concatenate(learned))
    )
    return factor, offset


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
    factor, _ = _onto_hand_scale(questions, [q.z @ w for q in questions])
    weights = factor * w / scale
    intercept = float(
        np.mean(np.concatenate([q.hand for q in questions]))
        - np.mean(np.concatenate([q.x @ weights for q in questions]))
    )
    return LearnedRanker(tuple(float(v) for v in weights), intercept)


def blind_set(group: str) -> str:
    """The set a question came in: its id's letters ("h" for h017)."""
    match = re.match(r"[a-z]+", group)
    return match.group() if match else group


def out_of_fold(questions: list[Question], linear: LearnedRanker) -> None:
    """Every dev question answered with trees fitted on the other folds (whole blind sets)."""
    service = AnswerService.start(RagSettings())
    dev = [g for g in load_gold() if g.split == "dev"]
    sets = sorted({blind_set(g.variant_of or g.id) for g in dev})

    def fold(group: str) -> int:
        return sets.index(blind_set(group)) % FOLDS

    results = []
    for k in range(FOLDS):
        train = [q for q in questions if fold(q.group) != k]
        service.synthesizer.ranker = LearnedRanker(
            linear.weights, linear.intercept, fit_trees(train), TREE_SHARE
        )
        results += run([g for g in dev if fold(g.variant_of or g.id) == k], service.ask)
    print(json.dumps({"out_of_fold_dev": out_of_fold_figures(results)}))


def out_of_fold_figures(results: list[Scored]) -> dict[str, object]:
    """The dev figures an out-of-fold run prints."""
    m = metrics(results)
    return {
        "questions": len(results),
        "answer_accuracy": round(m.answer_accuracy, 3),
        "abstention_accuracy": m.abstention_accuracy and round(m.abstention_accuracy, 3),
        "false_abstentions": round(m.false_abstentions, 3),
        "citation_precision": m.citation_precision and round(m.citation_precision, 3),
        "median_answer_chars": m.median_answer_chars,
    }


def by_document(questions: list[Question]) -> None:
    """How the trees rank sentences of a document they never saw: for each document, trees
    fitted without the questions it supports and without its sentences, then the share of its
    questions whose top candidate holds a key fact. Features that only identify this corpus's
    sentences (their length, their place) help within the corpus and fail here."""
    columns = list(TREE_FEATURES)
    hits = asked = 0
    per_document = {}
    for document in sorted({d for q in questions for d in q.documents}):
        train = [q for q in questions if document not in q.supporting]
        model = _fitted_model(
            np.vstack([q.x[q.documents != document][:, columns] for q in train]),
            np.concatenate([q.y[q.documents != document] for q in train]),
        )
        tested = [q for q in questions if q.supporting and q.supporting[0] == document]
        found = sum(
            float(q.y[int(np.argmax(model.decision_function(q.x[:, columns])))]) for q in tested
        )
        per_document[document] = round(found / max(1, len(tested)), 3)
        hits, asked = hits + found, asked + len(tested)
    print(json.dumps({"unseen_document_top1": round(hits / asked, 3), "by_document": per_document}))


def fit_linear(questions: list[Question]) -> tuple[LearnedRanker, dict[str, object]]:
    """The conditional logistic regression, and what to report of it."""
    scale = standardise(questions)
    scores = {l2: cross_validated(questions, l2) for l2 in L2_CHOICES}
    best = max(L2_CHOICES, key=lambda l2: (round(scores[l2], 6), l2))
    ranker = as_ranker(questions, fit(questions, best), scale)
    baseline = sum(float(q.y[int(np.argmax(q.hand))]) for q in questions) / len(questions)
    return ranker, {
        "trained_on": "eval/gold.jsonl, dev split, answerable questions",
        "questions": len(questions),
        "l2": best,
        "cross_validated_top1": {str(k): round(v, 4) for k, v in scores.items()},
        "hand_weighted_top1": round(baseline, 4),
    }


def readable_json(report: dict[str, object]) -> str:
    """Indented, but each tree's arrays on one line: a diff shows which trees changed."""
    trees = report["trees"]
    assert isinstance(trees, dict)
    text = json.dumps({**report, "trees": {**trees, "trees": "TREES"}}, indent=1)
    rows = ",\n  ".join(json.dumps(t, separators=(",", ":")) for t in trees["trees"])
    return text.replace('"TREES"', "[\n  " + rows + "\n ]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RANKER_PATH)
    parser.add_argument(
        "--out-of-fold",
        action="store_true",
        help="Answer each dev fold with trees fitted on the others; write nothing.",
    )
    parser.add_argument(
        "--linear", action="store_true", help="Refit the linear part too (see above)."
    )
    parser.add_argument(
        "--by-document",
        action="store_true",
        help="Rank each document's questions with trees fitted without it; write nothing.",
    )
    args = parser.parse_args()
    settings = RagSettings(sentence_ranker="weighted")
    questions = collect(settings)
    saved = None if args.linear else LearnedRanker.load(args.out)
    if saved is None:
        linear, report = fit_linear(questions)
    else:
        linear = saved
        report = json.loads(args.out.read_text(encoding="utf-8"))
    if args.out_of_fold:
        out_of_fold(questions, linear)
        return
    if args.by_document:
        by_document(questions)
        return
    trees = fit_trees(questions)
    report.update(
        {
            "features": list(FEATURES),
            "weights": [round(v, 6) for v in linear.weights],
            "intercept": round(linear.intercept, 6),
            "tree_share": TREE_SHARE,
            "trees_trained_on": "eval/gold.jsonl, dev split, answerable questions, every "
            f"candidate ({len(questions)} questions)",
            "tree_settings": TREE_SETTINGS,
            "trees": trees.to_json(),
        }
    )
    args.out.write_text(readable_json(report) + "\n", encoding="utf-8")
    print(
        json.dumps({k: v for k, v in report.items() if k not in ("features", "weights", "trees")})
    )


if __name__ == "__main__":
    main()
