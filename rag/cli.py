"""`rag`: ask questions, (re)build the index, list documents, run the gold-set benchmark."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from index.builder import IndexReport
from rag.errors import RagError
from rag.models import Answer
from rag.settings import RagSettings

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


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr, shown once the work has more than a few steps."""
    progress = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
    task = None

    def update(done: int, total: int) -> None:
        nonlocal task
        if total < 8:
            return
        if task is None:
            progress.start()
            task = progress.add_task(label, total=total)
        progress.update(task, completed=done)

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


def _start_service(settings: RagSettings):
    from rag.service import AnswerService

    with progress_bar("Building the index (first use)") as update:
        return AnswerService.start(settings, progress=update, on_auto_index=_print_report)


def _print_answer(answer: Answer) -> None:
    out.print(answer.answer, highlight=False)
    if answer.citations:
        out.print()
        heading = {"fr": "Sources", "en": "Sources", "nl": "Bronnen"}[answer.language]
        out.print(f"[bold]{heading}[/]")
    for c in answer.citations:
        details = ", ".join(x for x in (c.publisher, c.date) if x)
        out.print(
            f"[bold][{c.marker}][/] {c.title}" + (f" ({details})" if details else ""),
            highlight=False,
        )
        out.print(f"    « {c.text} »  [dim]{c.doc_id}:{c.start}-{c.end}[/]", highlight=False)


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
        typer.Argument(help="Folders or .txt/.md/.html files (default: the seeds folder)."),
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
    with user_errors(), progress_bar("Embedding") as update:
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

    settings = RagSettings()
    with user_errors():
        loaded = open_index(settings.data_dir, embedding_model_id(settings), settings.bm25_top_k)
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


@app.command(name="eval")
def eval_command(
    split: Annotated[str, typer.Option(help="dev, held-out or all.")] = "all",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    calibrate: Annotated[
        bool,
        typer.Option(
            "--calibrate",
            help="Answer everything, then print the abstain thresholds that best "
            "separate answerable from unanswerable questions (use the dev split).",
        ),
    ] = False,
    show: Annotated[bool, typer.Option("--show", help="Print each failed question.")] = False,
) -> None:
    """Run the gold questions and print accuracy, citations, abstention and latency."""
    from eval.gold import GoldSetError, load_gold
    from eval.runner import calibrate as calibrate_thresholds
    from eval.runner import grouped, run

    settings = RagSettings()
    if calibrate:
        settings = settings.model_copy(
            update={"abstain_threshold": float("-inf"), "abstain_threshold_other": float("-inf")}
        )
    with user_errors():
        answer_service = _start_service(settings)
        texts = {d: doc.text for d, doc in answer_service.index.documents.items()}
        try:
            questions = load_gold(documents=texts)
        except GoldSetError as exc:
            raise RagError(f"Invalid gold set: {exc}") from exc
        if split != "all":
            questions = [q for q in questions if q.split == split]
        with progress_bar("Gold questions") as update:
            results = run(questions, answer_service.ask, progress=update)
    if calibrate:
        sys.stdout.write(json.dumps(calibrate_thresholds(results)) + "\n")
        return
    groups = grouped(results)
    if as_json:
        sys.stdout.write(json.dumps({k: asdict(v) for k, v in groups.items()}, indent=1) + "\n")
        return
    columns = {
        "questions": "n",
        "answer_accuracy": "accuracy",
        "key_fact_recall": "fact recall",
        "abstention_accuracy": "abstain ok",
        "false_abstentions": "false abstain",
        "citation_precision": "cite prec",
        "cites_supporting_passage": "cites support",
        "conflicts_both_sides": "both sides",
        "median_answer_chars": "median chars",
        "latency_p50_ms": "p50 ms",
        "latency_p95_ms": "p95 ms",
    }
    table = Table("group", *columns.values())
    for name, m in groups.items():
        values = asdict(m)
        table.add_row(name, *["—" if values[c] is None else str(values[c]) for c in columns])
    Console(width=max(out.width, 150)).print(table)
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
