"""The `rag` command: JSON contract, exit codes and messages scripts can rely on."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag.cli import app
from rag.models import Answer
from rag.settings import RagSettings
from tests.conftest import ROOT, SEEDS, env_for, settings_for

runner = CliRunner()


def _run(settings: RagSettings, *args: str):
    return runner.invoke(app, list(args), env=env_for(settings))


def test_ask_json_is_one_valid_object(seed_settings: RagSettings) -> None:
    result = _run(
        seed_settings, "ask", "--json", "Hoeveel keer gebruikte de federale politie Clearview?"
    )
    assert result.exit_code == 0, result.stderr
    answer = Answer.model_validate_json(result.stdout)
    source = (SEEDS / f"{answer.citations[0].doc_id}.txt").read_text(encoding="utf-8")
    first = answer.citations[0]
    assert source[first.start : first.end] == first.text


def test_ask_prints_the_answer_and_numbered_sources(seed_settings: RagSettings) -> None:
    result = _run(seed_settings, "ask", "When was Briefcam switched off?")
    assert result.exit_code == 0
    assert "Sources" in result.stdout and "[1]" in result.stdout
    assert "Briefcam" in result.stdout
    assert "See also" in result.stdout  # the next-ranked passages, not quoted


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("", "The question is empty."),
        ("q" * 2001, "the limit is 2000"),
    ],
)
def test_bad_question_exit_code_2_without_traceback(
    seed_settings: RagSettings, question: str, message: str
) -> None:
    result = _run(seed_settings, "ask", question)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_missing_index_exit_code_3_with_hint(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "none", auto_index=False)
    result = _run(settings, "ask", "Qui est Rémy Heitz ?")
    assert result.exit_code == 3
    assert "rag index" in result.stderr


def test_model_mismatch_exit_code_4(seed_settings: RagSettings) -> None:
    other = seed_settings.model_copy(
        update={
            "embed_backend": "sentence-transformers",
            "embed_model": str(ROOT / "no-such-model"),
        }
    )
    result = _run(other, "docs")
    assert result.exit_code == 4
    assert "rag index --rebuild" in result.stderr


def test_docs_lists_the_catalog(seed_settings: RagSettings) -> None:
    result = _run(seed_settings, "docs", "--json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert [r["doc_id"] for r in rows] == sorted(p.stem for p in SEEDS.glob("*.txt"))
    assert all(r["title"] and r["date"] for r in rows)


def test_index_twice_then_an_unreadable_document(warm_data_dir: Path, seed_copy: Path) -> None:
    settings = settings_for(warm_data_dir, seeds=seed_copy)
    first = _run(settings, "index")
    assert first.exit_code == 0, first.stderr
    again = _run(settings, "index")
    assert again.exit_code == 0 and "up to date" in again.stderr
    (seed_copy / "broken.txt").write_bytes(b"\xff\xfe\x00\x00garbage")
    skipped = _run(settings, "index")
    assert skipped.exit_code == 5
    assert "broken.txt" in skipped.stderr and "Skipped" in skipped.stderr
    docs = json.loads(_run(settings, "docs", "--json").stdout)
    assert len(docs) == 5  # the other documents are all still there


def test_eval_writes_a_run_folder(seed_settings: RagSettings, tmp_path: Path) -> None:
    result = _run(
        seed_settings, "eval", "--split", "held-out", "--json", "--out", str(tmp_path / "run")
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    overall = summary["groups"]["all"]
    assert overall["questions"] >= 40 and 0 <= overall["answer_accuracy"] <= 1
    assert overall["citation_validity"] == 1.0
    assert overall["answer_accuracy"] < overall["llm_context_ceiling"] <= 1
    assert set(summary["retrieval"]) == {"dense", "bm25", "fused"}
    assert summary["llm_judged"]["faithfulness"].startswith("not run")
    accuracy = summary["intervals"]["all"]["metrics"]["answer_accuracy"]
    assert accuracy["value"] == overall["answer_accuracy"]
    assert accuracy["low"] <= accuracy["value"] <= accuracy["high"]
    run = tmp_path / "run"
    rows = (run / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(rows) == overall["questions"]
    assert {"id", "answer", "facts_found", "cited_docs", "in_llm_context", "fact_ranks"} <= set(
        json.loads(rows[0])
    )
    missed = summary["missed_fact_ranks"]["all"]
    assert set(missed) == {"first", "2-3", "4-12", "13+", "not a candidate"}
    report = (run / "report.md").read_text(encoding="utf-8")
    assert "## Definitions" in report and "answer_accuracy" in report
    assert "bootstrap intervals" in report and "## Where the missed key facts stand" in report
    assert (run / "per_kind.png").read_bytes().startswith(b"\x89PNG")


def test_eval_compare_fails_on_a_deliberately_broken_setting(
    seed_settings: RagSettings, tmp_path: Path
) -> None:
    """Abstaining on everything must not pass the regression gate CI runs."""
    env = {**env_for(seed_settings), "RAG_ABSTAIN_THRESHOLD": "5"}
    result = runner.invoke(
        app,
        [
            "eval",
            "--split",
            "dev",
            "--compare",
            str(ROOT / "eval" / "baseline.json"),
            "--out",
            str(tmp_path / "run"),
        ],
        env=env,
    )
    assert result.exit_code == 8, result.stderr
    assert "Regression against the baseline" in result.stderr
    assert "answer_accuracy" in result.stderr
    assert (tmp_path / "run" / "vs_baseline.png").exists()
    assert "bootstrap intervals over question families" in result.stdout


def test_installed_entry_point_runs_as_a_process(seed_settings: RagSettings) -> None:
    env = {**os.environ, **env_for(seed_settings)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "rag.cli",
            "ask",
            "--json",
            "Qui a décidé le classement sans suite ?",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert Answer.model_validate_json(done.stdout).question


def test_eval_names_the_splits_it_knows(seed_settings: RagSettings) -> None:
    result = _run(seed_settings, "eval", "--split", "blind")
    assert result.exit_code == 2
    assert "dev, held-out, validation, test or all" in result.stderr
