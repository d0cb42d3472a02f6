"""`rag`: ask questions, (re)build the index, list documents, run the gold-set benchmark."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from rag.errors import RagError
from rag.language import in_quotes
from rag.models import Answer
from rag.settings import RagSettings

if TYPE_CHECKING:  # the builder pulls Chroma and LlamaIndex: not needed for `rag --help`
    from eval.runner import Inspection
    from index.builder import IndexReport
    from rag.service import AnswerService

app = typer.Typer(
    help="Cited answers from French texts on police facial recognition (Clearview, Briefcam).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)


@contextmanager
def user_errors() -> Iterator[None]:
    """Translate the project's errors into a message, a hint and an exit code: no traceback."""
    try:
        yield
    except RagError as exc:
        err.print(f"[bold red]Error:[/] {exc.message}", highlight=False)
        if exc.hint:
            err.print(f"[yellow]Hint:[/] {exc.hint}", highlight=False)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        err.print("Interrupted.")
        raise typer.Exit(130) from None


class RateColumn(ProgressColumn):
    """Items per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        text = "" if not speed else f"{speed:,.1f}/s" if speed < 10 else f"{speed:,.0f}/s"
        return Text(text, style="progress.data.speed")


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[..., None]]:
    """A progress bar on stderr with rate and ETA, shown once the work has a few steps.

    `update(done, total, phase=None)`: a new phase ("Storing") starts a new bar."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
    tasks: dict[str, Any] = {}

    def update(done: float, total: int, phase: str | None = None) -> None:
        if total < 8 and phase is None:
            return
        name = phase or label
        if name not in tasks:
            if not tasks:
                progress.start()
            tasks[name] = progress.add_task(name, total=total)
        progress.update(tasks[name], completed=done)

    try:
        yield update
    finally:
        progress.stop()


def _print_report(report: IndexReport) -> None:
    if report.up_to_date:
        err.print(
            f"Index up to date: {report.documents} documents, {report.chunks} chunks, "
            f"{report.sentences} sentences (build {report.build_id}); nothing embedded."
        )
    else:
        err.print(
            f"Indexed {report.documents} documents ({len(report.added)} added, "
            f"{len(report.updated)} updated, {len(report.removed)} removed, "
            f"{len(report.unchanged)} unchanged): {report.chunks} chunks, {report.sentences} "
            f"sentences; {report.embedded} texts embedded, {report.from_cache} from the cache, "
            f"in {report.seconds:.1f} s (build {report.build_id})."
        )
    for problem in report.skipped:
        err.print(f"[yellow]Skipped[/] {problem.path}: {problem.reason}", highlight=False)


def _start_service(settings: RagSettings, update_stale: bool = False):
    from rag.service import AnswerService

    with progress_bar("Building the index (first use)") as update:
        return AnswerService.start(
            settings, progress=update, on_auto_index=_print_report, update_stale=update_stale
        )


SECTION_LABELS = {
    "fr": {"question": "question du parlementaire", "answer": "réponse de la ministre"},
    "en": {"question": "member's question", "answer": "minister's answer"},
    "nl": {"question": "vraag van het parlementslid", "answer": "antwoord van de minister"},
}


RELATED_HEADINGS = {
    "fr": ("Voir aussi", "passages classés juste après, non cités"),
    "en": ("See also", "passages ranked next, not quoted"),
    "nl": ("Zie ook", "passages die net daarna komen, niet geciteerd"),
}


def _print_answer(answer: Answer) -> None:
    out.print(answer.answer, highlight=False)
    if answer.citations:
        out.print()
        heading = {"fr": "Sources", "en": "Sources", "nl": "Bronnen"}[answer.language]
        out.print(f"[bold]{heading}[/]")
    for c in answer.citations:
        part = SECTION_LABELS[answer.language]
        details = ", ".join(x for x in (c.publisher, c.date, part.get(c.section or "")) if x)
        out.print(
            f"[bold][{c.marker}][/] {c.title}" + (f" ({details})" if details else ""),
            highlight=False,
        )
        out.print(f"    {in_quotes(c.text)}  [dim]{c.doc_id}:{c.start}-{c.end}[/]", highlight=False)
    if answer.related:
        out.print()
        heading, hint = RELATED_HEADINGS[answer.language]
        out.print(f"[bold]{heading}[/] [dim]({hint})[/]")
        for r in answer.related:
            out.print(f"  - {r.title}", highlight=False)
            out.print(
                f"    {in_quotes(r.text)}  [dim]{r.doc_id}:{r.start}-{r.end}[/]", highlight=False
            )
    for warning in answer.warnings:
        err.print(f"[yellow]Note:[/] {warning}", highlight=False)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in French, English or Dutch.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Answer a question with quoted, cited passages (builds the index on first use)."""
    settings = RagSettings()
    with user_errors():
        answer_service = _start_service(settings)
        answer = answer_service.ask(question)
    if as_json:
        sys.stdout.write(answer.model_dump_json() + "\n")
    else:
        _print_answer(answer)


@app.command()
def index(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Folders or .txt/.md/.html/.pdf files (default: the seeds folder)."),
    ] = None,
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild", help="Build from scratch, e.g. after changing the embedding model."
        ),
    ] = False,
) -> None:
    """Build or update the index: only new or changed text is embedded; removed files go."""
    from rag.service import run_indexing

    settings = RagSettings()
    with user_errors(), progress_bar("Indexing") as update:
        report = run_indexing(settings, paths=paths, rebuild=rebuild, progress=update)
    _print_report(report)
    if report.skipped:
        raise typer.Exit(5)


@app.command()
def docs(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the indexed documents with their catalog entries."""
    from index.embeddings import embedding_model_id
    from index.reader import open_index
    from rag.service import make_store

    settings = RagSettings()
    with user_errors():
        store = make_store(settings)
        loaded = open_index(store, embedding_model_id(settings), settings.bm25_top_k)
    rows = [
        {**d.catalog_entry(), "characters": len(d.text)}
        for d in sorted(loaded.documents.values(), key=lambda d: d.doc_id)
    ]
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
        return
    table = Table("id", "date", "kind", "publisher", "title")
    for row in rows:
        table.add_row(
            row["doc_id"],
            row["date"] or "",
            row["kind"] or "",
            row["publisher"] or "",
            row["title"],
        )
    out.print(table)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address (default RAG_HOST, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default RAG_PORT, 8000).")] = None,
) -> None:
    """Serve the chat page at / and the HTTP API (`/api/*`, OpenAI-compatible `/v1/*`)."""
    import uvicorn

    from ui.app import create_server

    settings = RagSettings()
    with user_errors():
        answer_service = _start_service(settings)
    uvicorn.run(
        create_server(settings, answer_service),
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
    )


@app.command()
def feedback(
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None,
) -> None:
    """Export the chat page's feedback (thumbs, comments, with question, answer, citations)."""
    settings = RagSettings()
    log = settings.data_dir / "feedback.jsonl"
    rows = log.read_text(encoding="utf-8") if log.exists() else ""
    if out is not None:
        out.write_text(rows, encoding="utf-8")
        err.print(f"{rows.count(chr(10))} feedback rows written to {out}")
    else:
        sys.stdout.write(rows)


@app.command(name="eval")
def eval_command(
    split: Annotated[
        str,
        typer.Option(help="dev, held-out, validation (blind), test (blind, unread) or all."),
    ] = "all",
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    compare: Annotated[
        Path | None,
        typer.Option(
            help="A saved summary.json (e.g. eval/baseline.json): print both side by side and "
            "exit 8 when a gated metric is worse by more than the tolerance."
        ),
    ] = None,
    tolerance: Annotated[float, typer.Option(help="Allowed drop per metric.")] = 0.02,
    limit: Annotated[
        int | None,
        typer.Option(
            help="Only the first N questions of the split (a quick look, not for --compare)."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Folder for this run (default eval/runs/<timestamp>).")
    ] = None,
    calibrate: Annotated[
        bool,
        typer.Option(
            "--calibrate",
            help="Answer everything, then print the abstain thresholds that keep "
            "false abstentions within 5% (use the dev split).",
        ),
    ] = False,
    show: Annotated[bool, typer.Option("--show", help="Print each failed question.")] = False,
) -> None:
    """Run the gold questions: answers, citations, abstention, retrieval, latency; a report."""
    from eval.gold import SPLITS, GoldSetError, load_gold
    from eval.intervals import grouped_intervals
    from eval.judged import llm_judged
    from eval.report import compare as compare_runs
    from eval.report import summary, write_run
    from eval.retrieval import retrieval_metrics
    from eval.runner import calibrate as calibrate_thresholds
    from eval.runner import grouped, missed_fact_ranks, result_groups, run

    if split != "all" and split not in SPLITS:
        err.print(
            f"[bold red]Error:[/] unknown split {split!r} ({', '.join(SPLITS)} or all)",
            highlight=False,
        )
        raise typer.Exit(2)
    settings = RagSettings()
    if calibrate:
        settings = settings.model_copy(
            update={"abstain_threshold": float("-inf"), "abstain_threshold_other": float("-inf")}
        )
    with user_errors():
        baseline = None
        if compare is not None:
            try:
                baseline = json.loads(compare.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise RagError(f"Cannot read the baseline {compare} ({exc}).") from exc
        # The benchmark measures the current code: an index of an older parser is rebuilt.
        answer_service = _start_service(settings, update_stale=True)
        texts = {d: doc.text for d, doc in answer_service.index.documents.items()}
        try:
            questions = load_gold(documents=texts)
        except GoldSetError as exc:
            raise RagError(f"Invalid gold set: {exc}") from exc
        if split != "all":
            questions = [q for q in questions if q.split == split]
        questions = questions[:limit] if limit else questions
        with progress_bar("Gold questions") as update:
            results = run(
                questions,
                answer_service.ask,
                progress=update,
                sources=texts,
                inspect=lambda question: _inspection(answer_service, question),
            )
        if calibrate:
            sys.stdout.write(json.dumps(calibrate_thresholds(results)) + "\n")
            return
        retrieval = retrieval_metrics(answer_service, questions)
        judged = llm_judged(settings, results)
    groups = grouped(results)
    config = {
        "embed_model": answer_service.index.manifest.model_id,
        **settings.model_dump(
            include={
                "chunk_size",
                "chunk_overlap",
                "dense_top_k",
                "bm25_top_k",
                "fused_top_k",
                "sentence_top_k",
                "dated_top_k",
                "dense_weight_french",
                "dense_weight_other",
                "abstain_threshold",
                "abstain_threshold_other",
                "sentence_ranker",
                "hub_penalty",
                "hub_neighbours",
                "max_answer_sentences",
                "max_answer_chars",
            }
        ),
    }
    missed = {
        name: counts
        for name, group in result_groups(results).items()
        if (name == "all" or name.startswith("split:"))
        and (counts := missed_fact_ranks(group)) is not None
    }
    data = summary(
        groups, retrieval, config, split, judged, grouped_intervals(results), missed_facts=missed
    )
    comparison, regressions = (None, [])
    if baseline is not None:
        comparison, regressions = compare_runs(data, baseline, tolerance)
    folder = out or Path("eval/runs") / datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    write_run(folder, data, results, baseline, comparison)
    if as_json:
        sys.stdout.write(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    else:
        _print_eval(data, comparison, show, results)
    err.print(f"Report: {folder / 'report.md'}", highlight=False)
    if baseline is not None and baseline.get("split") != split:
        err.print(f"[yellow]Note:[/] the baseline is of split {baseline.get('split')!r}.")
    if regressions:
        err.print(
            "[bold red]Regression against the baseline:[/] " + "; ".join(regressions),
            highlight=False,
        )
        raise typer.Exit(8)


def _inspection(answer_service: AnswerService, question: str) -> Inspection | None:
    from eval.runner import Inspection

    trace = answer_service.trace(question)
    if trace is None:
        return None
    return Inspection(
        llm_context="\n".join(block.text for block in trace.llm_context),
        candidates=[(c.info.doc_id, c.text) for c in trace.ranked],
    )


INTERVAL_METRICS = ("answer_accuracy", "abstention_accuracy", "citation_precision")


def _print_eval(data: dict, comparison: list | None, show: bool, results: list) -> None:
    from eval.intervals import format_interval

    columns = {
        "questions": "n",
        "answer_accuracy": "accuracy",
        "key_fact_recall": "fact recall",
        "llm_context_ceiling": "LLM ceiling",
        "abstention_accuracy": "abstain ok",
        "false_abstentions": "false abstain",
        "wrong_answers": "wrong",
        "citation_precision": "cite prec",
        "citation_recall": "cite recall",
        "cites_supporting_passage": "cites support",
        "conflicts_both_sides": "both sides",
        "median_answer_chars": "median chars",
        "latency_p50_ms": "p50 ms",
        "latency_p95_ms": "p95 ms",
    }
    wide = Console(width=max(out.width, 160))
    table = Table("group", *columns.values())
    for name, values in data["groups"].items():
        table.add_row(name, *["—" if values[c] is None else str(values[c]) for c in columns])
    wide.print(table)
    retrieval = Table("retriever", "k", "hit rate", "MRR")
    for name, values in data["retrieval"].items():
        retrieval.add_row(name, str(values["k"]), str(values["hit_rate"]), str(values["mrr"]))
    wide.print(retrieval)
    intervals = data.get("intervals") or {}
    if intervals:
        spread = Table("group", "families", *(m.replace("_", " ") for m in INTERVAL_METRICS))
        for name, group in intervals.items():
            spread.add_row(
                name,
                str(group["families"]),
                *[format_interval(group["metrics"][m]) for m in INTERVAL_METRICS],
            )
        wide.print("95% bootstrap intervals over question families:")
        wide.print(spread)
    if comparison is not None:
        side = Table("metric", "baseline", "this run", "verdict")
        for metric, before, now, verdict in comparison:
            side.add_row(metric, str(before), str(now), verdict)
        wide.print(side)
    if show:
        for r in results:
            if not r.correct:
                out.print(
                    f"[red]✗[/] {r.question.id} {r.question.kind} {r.question.question}"
                    f"\n   facts {r.question.facts} found {r.facts_found} conf "
                    f"{r.answer.confidence}\n   → {r.answer.answer[:300]}",
                    highlight=False,
                )


if __name__ == "__main__":
    app()
