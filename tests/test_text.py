import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import Stemmer

from index import terms
from index.terms import ThreadLocalStemmer
from index.text import fold, number_words, numbers_in, with_number_digits
from rag.language import detect_language, in_quotes


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("septante-huit", 78),
        ("soixante-dix-huit", 78),
        ("quatre-vingt-dix-neuf", 99),
        ("huitante", 80),
        ("octante-deux", 82),
        ("nonante-cinq", 95),
        ("vingt-quatre", 24),
        ("soixante et onze", 71),
        ("deux mille vingt-trois", 2023),
        ("trois milliards", 3_000_000_000),
        ("seventy-eight", 78),
        ("one hundred and one", 101),
        ("achtenzeventig", 78),
        ("vierentwintig", 24),
    ],
)
def test_number_words_are_read_as_integers(text: str, value: int) -> None:
    assert [v for _, _, v in number_words(text)] == [value]


def test_articles_are_not_numbers() -> None:
    assert number_words("un groupe de travail et une enquête") == []


def test_a_word_that_is_also_a_number_counts_before_a_plural_noun() -> None:
    assert numbers_in("depuis au moins six ans, sept fois, cent personnes") == {6, 7, 100}
    assert numbers_in("un logiciel neuf, le sept 2023, Six Nations") == {2023}


def test_a_repeated_word_is_not_a_sum() -> None:
    assert numbers_in("ainsi qu’une une manifestation festive") == set()  # a typo, not 2


def test_digits_and_words_meet() -> None:
    assert 78 in numbers_in("Au total, septante-huit consultations")
    assert "78" in with_number_digits("Au total, septante-huit consultations")
    assert numbers_in("le 14 et le 25 octobre 2019") == {14, 25, 2019}


def test_fold_unifies_case_accents_and_apostrophes() -> None:
    assert fold("L’Organe  de CONTRÔLE") == "l'organe de controle"


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("Combien de fois la police fédérale belge a-t-elle utilisé Clearview ?", "fr"),
        ("When was Briefcam switched off?", "en"),
        ("Hoeveel keer gebruikte de federale politie Clearview?", "nl"),
        ("Qui est Rémy Heitz ?", "fr"),
        ("Who is Rémy Heitz?", "en"),
        ("Wie is Rémy Heitz?", "nl"),
    ],
)
def test_language_detection(question: str, language: str) -> None:
    assert detect_language(question) == language


def test_each_thread_stems_with_its_own_stemmer() -> None:
    words = ["utilisations", "policiers", "reconnaissance", "caméras"]
    expected = Stemmer.Stemmer("french").stemWords(words)
    barrier = threading.Barrier(4)

    def stem_in_thread() -> tuple[int, list[str]]:
        barrier.wait()  # all four alive at once, so no thread's stemmer can be reused
        return id(terms._stemmer()), ThreadLocalStemmer().stemWords(words)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: stem_in_thread(), range(4)))
    assert len({stemmer for stemmer, _ in results}) == 4
    assert all(stems == expected for _, stems in results)


def test_a_quotation_holding_guillemets_is_not_wrapped_in_more() -> None:
    assert in_quotes("Ce n’est pas acceptable.") == "« Ce n’est pas acceptable. »"
    assert in_quotes("utilisé «entre 101 et 500 fois».") == "“utilisé «entre 101 et 500 fois».”"
