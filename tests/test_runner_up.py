"""The runner-up model: which second sentence, if any, joins the best one in an answer."""

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from rag.extractive import ExtractiveSynthesizer
from rag.ranker import RUNNER_UP_FEATURES, RunnerUpModel, Tree, TreeEnsemble
from rag.service import AnswerService
from tests.composing import BRIEFCAM_DOCUMENT, compose_ranked


def _gap_model(max_chars: int = 700) -> RunnerUpModel:
    """A runner-up within 0.02 of the best likely holds what it lacks (p = 0.98), within 0.05
    less so (p = 0.73), further not (p = 0.05)."""
    gap = RUNNER_UP_FEATURES.index("score_gap")
    tree = Tree.of(
        [gap, 0, gap, 0, 0],
        [0.02, 0, 0.05, 0, 0],
        [1, 0, 3, 0, 0],
        [2, 0, 4, 0, 0],
        [0, 4, 0, 1, -3],
        [0, 1, 0, 1, 1],
    )
    trees = TreeEnsemble(tuple(range(len(RUNNER_UP_FEATURES))), 0.0, (tree,), 1.0, 0.0)
    return RunnerUpModel(trees, threshold=0.5, max_chars=max_chars, candidates=7)


def _compose(synthesizer: ExtractiveSynthesizer, scores: tuple[float, ...]) -> list[str]:
    response = compose_ranked(synthesizer, list(zip((19, 25, 4), scores, strict=True)))
    assert not response.metadata["abstained"]
    return [node.node.get_content() for node in response.source_nodes]


@pytest.mark.parametrize(
    ("scores", "second"),
    [
        ((1.0, 0.97, 0.99), 2),  # both likely: the likelier one, though ranked lower
        ((1.0, 0.97, 0.5), 1),  # one likely
        ((1.0, 0.9, 0.8), None),  # none likely enough
    ],
)
def test_the_likeliest_runner_up_joins_the_best_sentence(
    service: AnswerService,
    monkeypatch: pytest.MonkeyPatch,
    scores: tuple[float, ...],
    second: int | None,
) -> None:
    synthesizer = service.synthesizer
    assert isinstance(synthesizer, ExtractiveSynthesizer)
    monkeypatch.setattr(synthesizer, "runner_up", _gap_model())
    sentences = synthesizer.index.sentences_by_doc[BRIEFCAM_DOCUMENT]
    quoted = _compose(synthesizer, scores)
    texts = [synthesizer.index.sentence_text(sentences[i]) for i in (19, 25, 4)]
    assert texts[0] in quoted
    if second is None:
        assert len(quoted) == 1
    else:
        assert len(quoted) == 2 and texts[second] in quoted


def test_a_runner_up_beyond_the_room_left_is_not_quoted(
    service: AnswerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    synthesizer = service.synthesizer
    assert isinstance(synthesizer, ExtractiveSynthesizer)
    sentences = synthesizer.index.sentences_by_doc[BRIEFCAM_DOCUMENT]
    best, runner_up = (len(synthesizer.index.sentence_text(sentences[i])) for i in (19, 25))
    monkeypatch.setattr(synthesizer, "runner_up", _gap_model(max_chars=best + runner_up - 1))
    assert len(_compose(synthesizer, (1.0, 0.99, 0.5))) == 1
    monkeypatch.setattr(synthesizer, "runner_up", _gap_model(max_chars=best + runner_up))
    assert len(_compose(synthesizer, (1.0, 0.99, 0.5))) == 2


def test_the_service_uses_the_saved_runner_up_model(service: AnswerService) -> None:
    synthesizer = service.synthesizer
    assert isinstance(synthesizer, ExtractiveSynthesizer)
    model = synthesizer.runner_up
    assert model is not None, "rag/runner_up.json: run scripts/train_runner_up.py"
    assert 0 < model.threshold < 1 and model.candidates >= 1
    assert all(i < len(RUNNER_UP_FEATURES) for i in model.trees.features)


def test_saved_trees_give_scikit_learns_probabilities(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, len(RUNNER_UP_FEATURES)))
    y = (x[:, 2] + 0.5 * x[:, 40] > 0.3).astype(float)
    fitted = HistGradientBoostingClassifier(max_iter=20, early_stopping=False).fit(x, y)
    trees = TreeEnsemble.from_sklearn(fitted, tuple(range(len(RUNNER_UP_FEATURES))))
    path = tmp_path / "runner_up.json"
    path.write_text(json.dumps(RunnerUpModel(trees, 0.1, 700, 7).to_json()), encoding="utf-8")
    loaded = RunnerUpModel.load(path)
    assert loaded is not None and loaded.threshold == 0.1
    ours = [loaded.probability(list(row)) for row in x[:50]]
    assert np.allclose(ours, fitted.predict_proba(x[:50])[:, 1])


def test_a_model_trained_on_other_features_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "runner_up.json"
    saved = {"threshold": 0.1, "max_chars": 700, "candidates": 7, "trees": {"features": ["gone"]}}
    path.write_text(json.dumps(saved), encoding="utf-8")
    with pytest.raises(ValueError, match=r"train_runner_up\.py"):
        RunnerUpModel.load(path)
    assert RunnerUpModel.load(tmp_path / "missing.json") is None
