"""How far a figure could move on another gold set of the same kind: bootstrap intervals.

A question and its paraphrases and translations share a passage, so they succeed or fail
together; resampling single questions would pretend they are independent and give intervals
too narrow. Whole question families (an original with its `variant_of` questions) are
resampled instead, with a fixed seed so that a report is reproducible.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

from eval.runner import Scored, result_groups

RESAMPLES = 2000
LEVEL = 0.95

# Each metric as a ratio of per-question counts, (numerator, denominator), summed over the
# questions drawn: a citation share weighs answers by their citations, as `metrics` does.
Counts = Callable[[Scored], tuple[float, float]]


def _answer_accuracy(r: Scored) -> tuple[float, float]:
    return (float(r.correct), 1.0) if r.question.answerable else (0.0, 0.0)


def _abstention_accuracy(r: Scored) -> tuple[float, float]:
    return (0.0, 0.0) if r.question.answerable else (float(r.answer.abstained), 1.0)


def _false_abstentions(r: Scored) -> tuple[float, float]:
    return (float(r.answer.abstained), 1.0) if r.question.answerable else (0.0, 0.0)


def _citation_precision(r: Scored) -> tuple[float, float]:
    if not r.question.answerable or r.answer.abstained:
        return 0.0, 0.0
    cited = [c.doc_id in r.question.supporting_docs for c in r.answer.citations]
    return float(sum(cited)), float(len(cited))


METRICS: dict[str, Counts] = {
    "answer_accuracy": _answer_accuracy,
    "abstention_accuracy": _abstention_accuracy,
    "false_abstentions": _false_abstentions,
    "citation_precision": _citation_precision,
}


def family_of(r: Scored) -> str:
    return r.question.variant_of or r.question.id


def intervals(
    results: list[Scored], resamples: int = RESAMPLES, seed: int = 0
) -> dict[str, dict[str, float | int | None]]:
    """For each metric: its value, and the 2.5th and 97.5th percentiles of its value over
    `resamples` gold sets drawn family by family with replacement."""
    families: dict[str, list[Scored]] = defaultdict(list)
    for r in results:
        families[family_of(r)].append(r)
    names = sorted(families)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(names), size=(resamples, len(names))) if names else None
    tail = (1 - LEVEL) / 2 * 100
    out: dict[str, dict[str, float | int | None]] = {}
    for metric, counts in METRICS.items():
        per_family = np.array(
            [[sum(counts(r)[i] for r in families[name]) for i in (0, 1)] for name in names],
            dtype=float,
        ).reshape(len(names), 2)
        total = per_family.sum(axis=0)
        if draws is None or total[1] == 0:
            out[metric] = {"value": None, "low": None, "high": None, "families": 0}
            continue
        drawn = per_family[draws].sum(axis=1)  # (resamples, 2)
        usable = drawn[:, 1] > 0
        shares = drawn[usable, 0] / drawn[usable, 1]
        out[metric] = {
            "value": round(float(total[0] / total[1]), 3),
            "low": round(float(np.percentile(shares, tail)), 3),
            "high": round(float(np.percentile(shares, 100 - tail)), 3),
            "families": int(sum(1 for row in per_family if row[1] > 0)),
        }
    return out


def grouped_intervals(results: list[Scored]) -> dict[str, dict[str, Any]]:
    """Intervals for all questions, each split, and the cross-lingual ones, with how many
    families each group holds."""
    return {
        name: {"families": len({family_of(r) for r in group}), "metrics": intervals(group)}
        for name, group in result_groups(results).items()
        if name == "all" or name.startswith("split:") or name == "crosslingual"
    }


def format_interval(value: dict[str, Any]) -> str:
    """ "0.733 [0.626, 0.84]", or "—" when the group has no such question."""
    if value["value"] is None:
        return "—"
    return f"{value['value']} [{value['low']}, {value['high']}]"
