"""The answer service over the real seed index: contract, exact quotes, languages, abstention."""

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.errors import QuestionError
from rag.models import Answer
from rag.service import AnswerService
from tests.conftest import SEEDS

CORPUS_WORDS = sorted(
    {
        word.strip(".,;:«»\"()’'")
        for path in SEEDS.glob("*.txt")
        for word in path.read_text(encoding="utf-8").split()
        if any(ch.isalnum() for ch in word)
    }
)


def _assert_exact_quotes(service: AnswerService, answer: Answer) -> None:
    for citation in answer.citations:
        source = service.index.documents[citation.doc_id].text
        assert source[citation.start : citation.end] == citation.text
        assert f"[{citation.marker}]" in answer.answer
    assert [c.marker for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    for passage in answer.related:
        source = service.index.documents[passage.doc_id].text
        assert source[passage.start : passage.end] == passage.text
        # a "see also" passage is not quoted already
        assert not any(
            c.doc_id == passage.doc_id and c.start <= passage.start and passage.end <= c.end
            for c in answer.citations
        )


def test_answer_contract(service: AnswerService) -> None:
    answer = service.ask("Combien de fois la police fédérale belge a-t-elle utilisé Clearview ?")
    data = answer.model_dump()
    assert {"question", "answer", "abstained", "mode", "citations", "timings_ms"} <= set(data)
    assert data["mode"] == "extractive" and data["abstained"] is False
    assert data["citations"], "an answer cites its passages"
    for citation in data["citations"]:
        assert {"marker", "doc_id", "title", "text", "start", "end", "score"} <= set(citation)
    assert data["timings_ms"]["total"] > 0
    assert "78" in answer.answer
    assert answer.citations[0].doc_id == "000_3f3c3cb774209368"
    _assert_exact_quotes(service, answer)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(CORPUS_WORDS), min_size=1, max_size=12).map(" ".join))
def test_every_citation_is_an_exact_slice_of_its_source(
    service: AnswerService, question: str
) -> None:
    _assert_exact_quotes(service, service.ask(question))


def test_english_question_is_answered_from_french_text(service: AnswerService) -> None:
    answer = service.ask("When was Briefcam switched off?")
    assert not answer.abstained and answer.language == "en"
    assert answer.answer.startswith("The documents say (quoted in French):")
    assert "décembre 2023" in answer.answer
    assert any(c.doc_id == "003_865f7c62c8473996" for c in answer.citations)


def test_dutch_question_gets_both_sides_of_a_disagreement(service: AnswerService) -> None:
    answer = service.ask("Hoeveel keer gebruikte de federale politie Clearview?")
    assert answer.language == "nl" and answer.conflict
    assert answer.answer.startswith("De bronnen spreken elkaar tegen:")
    assert "78" in answer.answer and "101 et 500" in answer.answer
    assert {c.doc_id for c in answer.citations} == {"000_3f3c3cb774209368", "001_0858471518292074"}
    # The Senate text: BuzzFeed's figure is in the member's question, not the minister's answer.
    assert {c.doc_id: c.section for c in answer.citations} == {
        "000_3f3c3cb774209368": None,
        "001_0858471518292074": "question",
    }


def test_how_often_is_a_count_whose_sides_disagree(service: AnswerService) -> None:
    answer = service.ask("Hoe vaak gebruikte de federale politie Clearview?")
    assert answer.conflict and "78" in answer.answer and "101 et 500" in answer.answer


def test_a_local_count_is_not_contradicted_by_a_national_one(service: AnswerService) -> None:
    # "près de 600 exploitations" nationwide does not contradict 20 uses in Montpellier.
    answer = service.ask("How often did the Montpellier gendarmes use Briefcam from 2021 to 2023?")
    assert not answer.conflict and "20" in answer.answer and "600" not in answer.answer


def test_a_count_over_a_period_not_asked_is_not_contradicted_by_another_period(
    service: AnswerService,
) -> None:
    # Montpellier's 20 uses "entre 2021 et 2023" against "près de 600" over 2015-2023.
    answer = service.ask(
        "How many times was Briefcam used according to the Interior ministry report?"
    )
    assert not answer.conflict and "près de 600" not in answer.answer


def test_a_count_over_the_years_asked_is_set_against_the_same_count_elsewhere(
    service: AnswerService,
) -> None:
    # 563 uses "entre 2015 et 2023" answers before Montpellier's 20 over 2021-2023; the other
    # side is the ministry's "près de 600" for Briefcam, never Clearview's "101 et 500".
    answer = service.ask("Combien de fois Briefcam a-t-il servi de 2015 à 2023 ?")
    assert answer.conflict
    assert "563" in answer.citations[0].text and "près de 600" in answer.citations[1].text
    assert "101 et 500" not in answer.answer
    _assert_exact_quotes(service, answer)


@pytest.mark.parametrize(
    ("question", "sides"),
    [
        # One text dates the Europol taskforce to October 2016, the other to October 2019.
        (
            "Did the Europol taskforce in The Hague where Clearview was tested really take place "
            "in 2019?",
            ("2016", "2019"),
        ),
        # Disclose's revelations: November 2023 in one text, December 2023 in another.
        (
            "Did Disclose reveal the police's secret use of Briefcam in December 2023?",
            ("novembre 2023", "décembre 2023"),
        ),
    ],
)
def test_a_date_to_check_gets_both_sides(
    service: AnswerService, question: str, sides: tuple[str, str]
) -> None:
    answer = service.ask(question)
    assert answer.conflict
    assert all(side in answer.answer for side in sides)
    _assert_exact_quotes(service, answer)


def test_a_two_part_question_gets_both_sides_and_its_other_part(service: AnswerService) -> None:
    answer = service.ask(
        "Où les deux policiers belges ont-ils découvert Clearview et combien d'utilisations "
        "leur sont reprochées au total ?"
    )
    assert answer.conflict and answer.answer.startswith("Les sources divergent :")
    sides, besides = answer.answer.split("Par ailleurs :")
    assert "78" in sides and "101 et 500" in sides
    assert "Europol" in besides and "[3]" in besides
    _assert_exact_quotes(service, answer)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # BuzzFeed's side holds "en août 2021", when it reported, not when the use ended.
        (
            "Combien de fois les policiers belges ont-ils utilisé le logiciel Clearview au "
            "total, et à quelle date l'ont-ils utilisé pour la dernière fois ?",
            ("101 et 500", "10 février 2020"),
        ),
        # One quoted count of uses does not answer both counts asked (the 78 may be the
        # minister's "septante-huit consultations" or the COC's "78 utilisations").
        (
            "Combien de fois la police fédérale belge aurait-elle utilisé Clearview selon "
            "BuzzFeed, et combien de consultations la ministre a-t-elle finalement reconnues ?",
            ("101 et 500", "78|septante-huit"),
        ),
        # The part's count comes from a sentence that gives one, even outside BuzzFeed's
        # document, which the second part's closest sentence belongs to.
        (
            "How many times did BuzzFeed claim the federal police had used Clearview, and how "
            "many searches were actually counted in the end?",
            ("101 et 500", "78"),
        ),
        # Two counts asked and the best sentence gives one: the other part's count comes
        # from another sentence, though the best also scores highest for that part.
        (
            "Combien de fois la police belge a-t-elle vraiment utilisé Clearview, et quel "
            "chiffre BuzzFeed avait-il avancé ?",
            ("101 et 500", "78"),
        ),
        (
            "How many times did the Montpellier gendarmerie use Briefcam, and how many of its "
            "members were trained to use it?",
            ("20 utilisations", "10 militaires"),
        ),
    ],
)
def test_each_part_is_answered_by_a_quote_of_its_own(
    service: AnswerService, question: str, expected: tuple[str, ...]
) -> None:
    answer = service.ask(question)
    text = " ".join(answer.answer.split())  # the source writes "10\u00a0février"
    assert all(re.search(part, text) for part in expected), text
    _assert_exact_quotes(service, answer)


@pytest.mark.parametrize(
    "question",
    [
        "La police fédérale a-t-elle consulté Clearview plus de cent fois ?",
        "Did the federal police run Clearview more than 100 times?",
        "Heeft de federale politie Clearview meer dan honderd keer gebruikt?",
    ],
)
def test_a_figure_checked_is_answered_with_the_figures_of_both_sides(
    service: AnswerService, question: str
) -> None:
    answer = service.ask(question)
    assert not answer.abstained
    assert "101 et 500" in answer.answer and re.search("78|septante-huit", answer.answer)
    _assert_exact_quotes(service, answer)


def test_what_is_asked_after_the_askers_context_picks_the_answer(service: AnswerService) -> None:
    # The context names the MPs; the question after it asks who decided: a name is wanted.
    answer = service.ask(
        "Some LFI MPs complained to the courts about the police's video analysis software, and "
        "I heard the case went nowhere. Who decided to drop their complaint?"
    )
    assert "Rémy Heitz" in answer.answer
    _assert_exact_quotes(service, answer)


def test_a_reply_asked_is_the_sentence_after_the_request(service: AnswerService) -> None:
    answer = service.ask(
        "How did Clearview respond when the police commissioner-general asked it to delete "
        "the images?"
    )
    assert "pas en mesure" in answer.answer and "enquêtes en cours" in answer.answer
    _assert_exact_quotes(service, answer)
    # A best sentence that already tells the reply gets no sentence after it.
    told = service.ask("Qu'a répondu la police fédérale à Data News en 2021 sur Clearview ?")
    assert "personne n'avait connaissance" in told.answer
    assert "Début septembre" not in told.answer  # the sentence after it


@pytest.mark.parametrize(
    "question",
    [
        # La Quadrature du Net is named as launching Technopolice, never as saying anything.
        "Qu'a déclaré La Quadrature du Net au sujet du rapport du ministère de l'Intérieur sur "
        "Briefcam ?",
        "How did Europol respond to Belgian officers using Clearview during its taskforce?",
    ],
)
def test_words_of_someone_the_texts_never_quote_are_not_given(
    service: AnswerService, question: str
) -> None:
    answer = service.ask(question)
    assert answer.abstained and answer.abstain_reason == "weak_evidence", answer.answer


def test_words_of_someone_the_texts_quote_are_given(service: AnswerService) -> None:
    answer = service.ask("Qu'a dit Franck Schuermans au sujet de l'usage de Clearview ?")
    assert not answer.abstained and "Schuermans" in answer.answer
    # "La société a indiqué…" after the request is Clearview's reply, though it is not named.
    reply = service.ask(
        "Qu'a répondu Clearview AI quand la police belge lui a demandé d'effacer les images ?"
    )
    assert not reply.abstained and "pas en mesure" in reply.answer


def test_a_reply_no_sentence_tells_is_not_given(service: AnswerService) -> None:
    # The letter is told, and then the MPs' tweet: no reply follows.
    answer = service.ask(
        "Quelle réponse le directeur départemental de la sécurité publique de Haute-Garonne "
        "a-t-il donnée au courrier des députés LFI ?"
    )
    assert answer.abstained and answer.abstain_reason == "weak_evidence", answer.answer


@pytest.mark.parametrize(
    ("question", "opening"),
    [
        ("Quelle est la capitale du Pérou ?", "Les documents ne répondent pas"),
        ("What is the capital of Peru?", "The documents don't say."),
        ("Wat is de hoofdstad van Peru?", "De documenten zeggen hier niets over."),
    ],
)
def test_off_topic_questions_abstain_in_the_askers_language(
    service: AnswerService, question: str, opening: str
) -> None:
    answer = service.ask(question)
    assert answer.abstained and answer.abstain_reason == "weak_evidence"
    assert answer.answer.startswith(opening)
    assert 1 <= len(answer.citations) <= 2  # the nearest passages, still exact quotes
    _assert_exact_quotes(service, answer)


@pytest.mark.parametrize("question", ["", "   ", "?!", "x" * 2001])
def test_bad_questions_are_refused(service: AnswerService, question: str) -> None:
    with pytest.raises(QuestionError):
        service.ask(question)


def test_an_answer_shows_the_next_ranked_passages_as_see_also(service: AnswerService) -> None:
    # The best passage speaks of the option's risks; the one saying how to switch it off is
    # ranked just below it, and shown.
    answer = service.ask("Comment pouvait-on désactiver l'option de reconnaissance faciale ?")
    assert not answer.abstained
    assert 1 <= len(answer.related) <= service.settings.related_passages
    shown = answer.answer + " ".join(r.text for r in answer.related)
    assert "intervention informatique" in shown
    _assert_exact_quotes(service, answer)
    abstained = service.ask("Quelle est la hauteur de la tour Eiffel ?")
    assert abstained.abstained and abstained.related == []
