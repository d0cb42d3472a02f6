"""Hubness: sentences close to most questions are pushed back, measured once per index build."""

from pathlib import Path

import numpy as np
import pytest

from rag.hubness import query_embedder, sentence_hubness
from rag.service import AnswerService
from rag.settings import RagSettings


def _unused(texts: list[str]) -> list[list[float]]:
    raise AssertionError("the saved hubness should have been read")


def test_hubness_is_centred_and_saved_for_the_next_start(
    service: AnswerService, tmp_path: Path
) -> None:
    index = service.synthesizer.index
    cache = tmp_path / "hubness" / "build.json"
    measured = sentence_hubness(index, query_embedder(service.embed_model), cache=cache)
    assert len(measured) == sum(not info.boilerplate for info in index.sentences.values())
    values = np.array(list(measured.values()))
    assert abs(values.mean()) < 1e-6 and values.std() > 0
    assert sentence_hubness(index, _unused, cache=cache) == pytest.approx(measured)
    cache.write_text("{not json", encoding="utf-8")  # a damaged file is measured again
    assert sentence_hubness(
        index, query_embedder(service.embed_model), cache=cache
    ) == pytest.approx(measured)


def test_hubness_is_skipped_for_a_corpus_too_large_to_embed_again(
    service: AnswerService,
) -> None:
    index = service.synthesizer.index
    assert sentence_hubness(index, _unused, max_sentences=10) == {}


def test_a_hub_sentence_no_longer_answers_what_it_does_not_say(
    service: AnswerService, seed_settings: RagSettings
) -> None:
    # "2) L'utilisation de l'application Clearview … n'a pas donné de résultat positif…" sits
    # near every question about the Belgian police and Clearview.
    question = "Clearview a-t-il effacé les images de Belges comme la police le lui demandait ?"
    assert "pas en mesure" in service.ask(question).answer
    uncorrected = AnswerService.start(seed_settings.model_copy(update={"hub_penalty": 0.0}))
    assert "pas en mesure" not in uncorrected.ask(question).answer
