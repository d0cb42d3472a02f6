"""Word translations from the embedding model: a question's words met in French sentences."""

from types import SimpleNamespace

import numpy as np
import pytest

from index.embeddings import cached_passages
from index.terms import stem
from index.text import fold
from rag.hubness import query_embedder
from rag.service import AnswerService
from rag.translation import WordTranslations, content_words


def test_content_words_leave_out_stop_words_short_words_and_numbers() -> None:
    assert content_words("When was Briefcam switched on in 2023, by the DDSP?") == [
        "briefcam",
        "ddsp",
        "switched",
    ]


@pytest.mark.parametrize(
    ("question", "word", "french"),
    [
        ("Were the trial accounts closed after a week?", "week", "semaine"),
        ("Were the accounts closed automatically?", "automatically", "automatiquement"),
        ("Wanneer werd de software uitgeschakeld?", "uitgeschakeld", "désactivation"),
        ("Wat zei de politie?", "politie", "police"),
    ],
)
def test_an_english_or_dutch_word_stands_for_its_french_translation(
    service: AnswerService, question: str, word: str, french: str
) -> None:
    translations = service.synthesizer.translations.of_question(question)
    assert stem(fold(french)) in translations[word]
    assert stem(fold(word)) in translations[word]  # and for itself


def test_translated_coverage_meets_a_french_sentence_term_coverage_misses(
    service: AnswerService,
) -> None:
    scorer = service.synthesizer.scorer
    question = "Were the trial licences closed automatically?"
    sentence = scorer.terms(
        "Les licences d'essai étaient valables pour une période déterminée et se sont "
        "clôturées automatiquement."
    )
    translations = service.synthesizer.translations.of_question(question)
    translated = scorer.translated_coverage(translations, sentence)
    assert translated > scorer.coverage(scorer.terms(question), sentence)
    assert 0 < translated <= 1
    assert scorer.translated_coverage({}, sentence) == 0.0


def test_rarest_match_is_the_idf_of_the_rarest_shared_term(service: AnswerService) -> None:
    scorer = service.synthesizer.scorer
    sentence = scorer.terms("La police fédérale n'a acheté aucune licence de Clearview.")
    common = scorer.rarest_match(scorer.terms("la police"), sentence)
    rare = scorer.rarest_match(scorer.terms("la police a-t-elle acheté une licence"), sentence)
    assert 0 < common < rare <= 1
    assert scorer.rarest_match(scorer.terms("Tokyo"), sentence) == 0.0


def test_the_vocabulary_is_embedded_once_per_build(service: AnswerService, tmp_path) -> None:
    index, model = service.index, service.embed_model
    cache = tmp_path / "translations" / "build.npz"
    first = WordTranslations.of_index(
        index, query_embedder(model), model.get_text_embedding_batch, 20000, cache=cache
    )
    assert cache.exists() and len(first.stems) > 500

    def not_again(texts: list[str]) -> list[list[float]]:
        raise AssertionError("the saved vocabulary should have been read")

    again = WordTranslations.of_index(index, query_embedder(model), not_again, 20000, cache=cache)
    assert np.array_equal(again.vectors, first.vectors)
    assert again.of_question("a week") == first.of_question("a week")


def test_a_vocabulary_over_the_limit_leaves_each_word_to_itself(service: AnswerService) -> None:
    index, model = service.index, service.embed_model
    none = WordTranslations.of_index(
        index, query_embedder(model), model.get_text_embedding_batch, max_words=10
    )
    assert none.of_question("a week") == {"week": frozenset({"week"})}


def test_an_unreadable_saved_vocabulary_is_embedded_again(service: AnswerService, tmp_path) -> None:
    index, model = service.index, service.embed_model
    cache = tmp_path / "translations" / "build.npz"
    cache.parent.mkdir()
    cache.write_bytes(b"not a numpy archive")
    stale = cache.with_name("earlier-build.npz")
    stale.write_bytes(b"")
    translations = WordTranslations.of_index(
        index, query_embedder(model), model.get_text_embedding_batch, 20000, cache=cache
    )
    assert len(translations.stems) > 500
    with np.load(cache) as saved:
        assert len(saved["words"]) == len(translations.stems)
    assert not stale.exists()  # an earlier build's vocabulary is removed
    assert sorted(p.name for p in cache.parent.iterdir()) == ["build.npz"]


def test_the_vocabulary_goes_through_the_embedding_cache(service: AnswerService, tmp_path) -> None:
    """A new build (or another data dir sharing the cache) embeds no word embedded before."""
    index, model = service.index, service.embed_model
    cache_path, model_id = tmp_path / "embeddings.sqlite", index.manifest.model_id
    first = WordTranslations.of_index(
        index, query_embedder(model), cached_passages(model, cache_path, model_id), 20000
    )

    def not_again(texts: list[str]) -> list[list[float]]:
        raise AssertionError("the embedding cache should have had every word")

    offline = SimpleNamespace(get_text_embedding_batch=not_again, embed_batch_size=16)
    again = WordTranslations.of_index(
        index, query_embedder(model), cached_passages(offline, cache_path, model_id), 20000
    )
    assert np.array_equal(again.vectors, first.vectors)


def test_a_read_only_embedding_cache_is_passed_by(service: AnswerService, tmp_path) -> None:
    model = service.embed_model
    unwritable = tmp_path / "file-not-dir"
    unwritable.write_text("")
    embed = cached_passages(model, unwritable / "embeddings.sqlite", "m")
    assert np.allclose(embed(["semaine"])[0], model.get_text_embedding_batch(["semaine"])[0])
