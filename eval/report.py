"""A benchmark run on disk: summary.json, results.jsonl, report.md and charts; comparisons."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eval.intervals import LEVEL, RESAMPLES, format_interval
from eval.retrieval import DEFINITIONS as RETRIEVAL_DEFINITIONS
from eval.runner import DEFINITIONS, RANK_BUCKETS, Metrics, Scored

# Compared against a baseline: higher is better for these, lower for LOWER_IS_BETTER.
GATED = [
    "answer_accuracy",
    "key_fact_recall",
    "abstention_accuracy",
    "citation_precision",
    "cites_supporting_passage",
    "citation_validity",
    "conflicts_both_sides",
]
LOWER_IS_BETTER = {"false_abstentions", "wrong_answers"}
GATED_ALL = [*GATED, *sorted(LOWER_IS_BETTER)]
COLUMNS = [
    "questions",
    "answer_accuracy",
    "key_fact_recall",
    "key_fact_recall_with_related",
    "llm_context_ceiling",
    "abstention_accuracy",
    "false_abstentions",
    "wrong_answers",
    "citation_precision",
    "citation_precision_strict",
    "citation_recall",
    "cites_supporting_passage",
    "citation_validity",
    "conflicts_both_sides",
    "median_answer_chars",
    "p90_answer_chars",
    "latency_p50_ms",
    "latency_p95_ms",
]


def summary(
    groups: dict[str, Metrics],
    retrieval: dict[str, Any],
    config: dict[str, Any],
    split: str,
    llm_judged: dict[str, Any],
    intervals: dict[str, Any] | None = None,
    missed_facts: dict[str, dict[str, int]] | None = None,
) -> dict[str, Any]:
    return {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "split": split,
        "config": config,
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "groups": {
            name: {k: v for k, v in asdict(m).items() if k != "extra"} for name, m in groups.items()
        },
        "intervals": intervals or {},
        "missed_fact_ranks": missed_facts or {},
        "retrieval": retrieval,
        "llm_judged": llm_judged,
    }


def compare(
    current: dict[str, Any], baseline: dict[str, Any], tolerance: float
) -> tuple[list[tuple[str, Any, Any, str]], list[str]]:
    """Rows (metric, baseline, current, verdict) for the overall group, and the regressions:
    a gated metric worse than the baseline by more than `tolerance`."""
    now, before = current["groups"]["all"], baseline["groups"]["all"]
    rows, regressions = [], []
    for metric in GATED_ALL:
        a, b = before.get(metric), now.get(metric)
        if a is None or b is None:
            rows.append((metric, a, b, "—"))
            continue
        delta = (a - b) if metric in LOWER_IS_BETTER else (b - a)
        verdict = "ok" if delta >= -tolerance else "REGRESSION"
        if verdict != "ok":
            regressions.append(f"{metric}: {a} -> {b}")
        rows.append((metric, a, b, verdict))
    return rows, regressions


def _fmt(value: Any) -> str:
    return "—" if value is None else str(value)


def _kind_by_split_lines(results: list[Scored]) -> list[str]:
    """Questions answered right (abstained on, for unanswerable ones) per kind and split."""
    splits = sorted({r.question.split for r in results})
    if len(splits) < 2:
        return []
    counts: dict[str, dict[str, list[int]]] = {}
    for r in results:
        cell = counts.setdefault(r.question.kind, {}).setdefault(r.question.split, [0, 0])
        cell[0] += r.correct
        cell[1] += 1
    lines = [
        "",
        "## Right answers by kind and split",
        "",
        "Answered with every key fact, or abstained on for unanswerable questions.",
        "",
        "| kind | " + " | ".join(splits) + " |",
        "|" + "---|" * (len(splits) + 1),
    ]
    for kind in sorted(counts):
        cells = [
            f"{right}/{n} ({right / n:.2f})" if n else "—"
            for right, n in (counts[kind].get(split, [0, 0]) for split in splits)
        ]
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return lines


def _missed_fact_lines(missed: dict[str, dict[str, int]]) -> list[str]:
    if not missed:
        return []
    buckets = list(RANK_BUCKETS)
    lines = [
        "",
        "## Where the missed key facts stand",
        "",
        "Key facts missing from their answers (all of an abstained answer's), by the rank of the "
        "first candidate sentence from a supporting document that holds them: ranked just "
        "below the quoted one, lower, or not among the candidates at all.",
        "",
        "| group | " + " | ".join(buckets) + " |",
        "|" + "---|" * (len(buckets) + 1),
    ]
    for name, counts in missed.items():
        lines.append(f"| {name} | " + " | ".join(str(counts[b]) for b in buckets) + " |")
    return lines


def _interval_lines(intervals: dict[str, Any]) -> list[str]:
    if not intervals:
        return []
    metrics = list(next(iter(intervals.values()))["metrics"])
    lines = [
        "",
        f"## How much these figures could move ({LEVEL:.0%} bootstrap intervals)",
        "",
        "A question and its paraphrases and translations succeed or fail together, so whole "
        f"question families are resampled ({RESAMPLES} times): a figure from a few families "
        "is uncertain by the width shown.",
        "",
        "| group | families | " + " | ".join(metrics) + " |",
        "|" + "---|" * (len(metrics) + 2),
    ]
    for name, group in intervals.items():
        cells = [format_interval(v) for v in group["metrics"].values()]
        lines.append(f"| {name} | {group['families']} | " + " | ".join(cells) + " |")
    return lines


def markdown(
    data: dict[str, Any],
    results: list[Scored],
    comparison: list[tuple[str, Any, Any, str]] | None,
    charts: list[str],
) -> str:
    lines = [
        f"# Gold-set benchmark, split `{data['split']}`",
        "",
        f"{data['created_at']} on {data['machine']}. Configuration: "
        + ", ".join(f"`{k}={v}`" for k, v in data["config"].items()),
        "",
        "## Answers, citations, abstention, latency",
        "",
        "| group | " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * (len(COLUMNS) + 1),
    ]
    for name, values in data["groups"].items():
        lines.append(f"| {name} | " + " | ".join(_fmt(values[c]) for c in COLUMNS) + " |")
    lines += _interval_lines(data.get("intervals") or {})
    lines += _kind_by_split_lines(results)
    lines += _missed_fact_lines(data.get("missed_fact_ranks") or {})
    lines += [
        "",
        "## Retrieval (LlamaIndex RetrieverEvaluator)",
        "",
        "| retriever | k | hit rate | MRR |",
        "|---|---|---|---|",
    ]
    for name, values in data["retrieval"].items():
        lines.append(f"| {name} | {values['k']} | {values['hit_rate']} | {values['mrr']} |")
    lines += ["", "## LLM-judged metrics", ""]
    lines += [
        f"- {name}: {text}" for name, text in data["llm_judged"].items() if name != "definitions"
    ]
    if comparison is not None:
        lines += [
            "",
            "## Against the baseline (all questions of the split)",
            "",
            "| metric | baseline | this run | verdict |",
            "|---|---|---|---|",
        ]
        lines += [f"| {m} | {_fmt(a)} | {_fmt(b)} | {v} |" for m, a, b, v in comparison]
    lines += ["", "## Definitions", ""]
    lines += [
        f"- **{name}**: {text}" for name, text in {**DEFINITIONS, **RETRIEVAL_DEFINITIONS}.items()
    ]
    lines += ["", "## Charts", ""] + [f"![{c}]({c})" for c in charts]
    failed = [r for r in results if not r.correct]
    lines += ["", f"## Questions not answered correctly ({len(failed)})", ""]
    for r in failed:
        missing = [f[0] for f, ok in zip(r.question.facts, r.facts_found, strict=True) if not ok]
        what = "abstained" if r.answer.abstained else f"missing {missing}"
        if not r.question.answerable:
            what = "answered an unanswerable question"
        lines.append(
            f"- `{r.question.id}` ({r.question.kind}, {r.question.language}) "
            f"{r.question.question} — {what}"
        )
    return "\n".join(lines) + "\n"


def charts(data: dict[str, Any], baseline: dict[str, Any] | None, folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in data["groups"] if n.startswith("kind:")]
    accuracy = [data["groups"][n]["answer_accuracy"] or 0 for n in names]
    recall = [data["groups"][n]["key_fact_recall"] or 0 for n in names]
    abstain = [data["groups"][n]["abstention_accuracy"] or 0 for n in names]
    fig, ax = plt.subplots(figsize=(9, 4))
    x = range(len(names))
    ax.bar([i - 0.27 for i in x], accuracy, 0.27, label="accuracy")
    ax.bar(list(x), recall, 0.27, label="key-fact recall")
    ax.bar([i + 0.27 for i in x], abstain, 0.27, label="abstention (unanswerable)")
    ax.set_xticks(list(x), [n.removeprefix("kind:") for n in names], rotation=20)
    ax.set_ylim(0, 1)
    ax.set_title(f"Per question kind, split {data['split']}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(folder / "per_kind.png", dpi=110)
    plt.close(fig)
    made = ["per_kind.png"]
    if baseline is not None:
        metrics = GATED_ALL
        fig, ax = plt.subplots(figsize=(9, 4))
        before = [baseline["groups"]["all"].get(m) or 0 for m in metrics]
        now = [data["groups"]["all"].get(m) or 0 for m in metrics]
        x = range(len(metrics))
        ax.bar([i - 0.2 for i in x], before, 0.4, label="baseline")
        ax.bar([i + 0.2 for i in x], now, 0.4, label="this run")
        ax.set_xticks(list(x), [m.replace("_", " ") for m in metrics], rotation=25, ha="right")
        ax.set_ylim(0, 1)
        ax.set_title("Against the baseline")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(folder / "vs_baseline.png", dpi=110)
        plt.close(fig)
        made.append("vs_baseline.png")
    return made


def write_run(
    folder: Path,
    data: dict[str, Any],
    results: list[Scored],
    baseline: dict[str, Any] | None,
    comparison: list[tuple[str, Any, Any, str]] | None,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.json").write_text(
        json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8"
    )
    with open(folder / "results.jsonl", "w", encoding="utf-8") as handle:
        for r in results:
            handle.write(json.dumps(r.to_row(), ensure_ascii=False) + "\n")
    made = charts(data, baseline, folder)
    (folder / "report.md").write_text(markdown(data, results, comparison, made), encoding="utf-8")
    return folder
