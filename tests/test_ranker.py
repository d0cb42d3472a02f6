"""The learned sentence ranker's pieces: its saved weights, question profile and name test."""

import json

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from index.text import fold
from rag.ranker import (
    FEATURES,
    LearnedRanker,
    People,
    QuestionProfile,
    TreeEnsemble,
    asked_role,
    attributes_to,
    names_a_person,
    names_another_office,
    names_in_role,
    names_someone_for_role,
    people_named,
)


def test_saved_ranker_matches_the_features() -> None:
    ranker = LearnedRanker.load()
    assert ranker is not None, "rag/ranker.json: run scripts/train_ranker.py"
    assert len(ranker.weights) == len(FEATURES)
    assert ranker.linear([0.0] * len(FEATURES)) == ranker.intercept
    assert ranker.trees is not None and 0 < ranker.tree_share < 1
    # the trees never read where a sentence sits in its document
    assert FEATURES.index("relative_position") not in ranker.trees.features


def test_exported_trees_score_as_scikit_learn_does(tmp_path) -> None:
    """The ensemble, read back from its JSON, gives scikit-learn's log-odds without it."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, len(FEATURES)))
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0.3).astype(int)
    columns = (0, 1, 2, 5)
    model = HistGradientBoostingClassifier(max_iter=30, random_state=0)
    model.fit(x[:, list(columns)], y)
    linear = {"features": list(FEATURES), "weights": [0.0] * len(FEATURES), "intercept": 0.0}
    trees = TreeEnsemble.from_sklearn(model, columns, scale=2.0, offset=1.0)
    path = tmp_path / "ranker.json"
    path.write_text(json.dumps({**linear, "tree_share": 0.5, "trees": trees.to_json()}))
    ranker = LearnedRanker.load(path)
    assert ranker is not None and ranker.trees is not None
    expected = model.decision_function(x[:, list(columns)])
    got = [ranker.trees.log_odds(list(row)) for row in x]
    assert np.allclose(got, expected)
    assert ranker.score(list(x[0])) == pytest.approx(0.5 * (1.0 + 2.0 * expected[0]))


def test_a_ranker_trained_on_other_features_is_refused(tmp_path) -> None:
    path = tmp_path / "ranker.json"
    path.write_text('{"features": ["sentence_length"], "weights": [1.0], "intercept": 0.0}')
    with pytest.raises(ValueError, match="train_ranker"):
        LearnedRanker.load(path)


def test_a_linear_part_saved_before_a_feature_was_added_gives_it_no_weight(tmp_path) -> None:
    path = tmp_path / "ranker.json"
    path.write_text(
        '{"features": ["lexical_fr", "cosine"], "weights": [2.0, 1.0], "intercept": 0.5}'
    )
    ranker = LearnedRanker.load(path)
    assert ranker is not None and len(ranker.weights) == len(FEATURES)
    vector = [1.0] * len(FEATURES)
    assert ranker.linear(vector) == pytest.approx(0.5 + 2.0 + 1.0)


@pytest.mark.parametrize(
    ("question", "person", "yes_no"),
    [
        ("Qui est le patron du COC ?", True, False),
        ("Quelle parlementaire a posé la question écrite ?", True, False),
        ("Who decided to drop the complaint?", True, False),
        ("Les agents risquent-ils une sanction, et à qui revient la décision ?", True, False),
        ("Which investigating judge was assigned to the case?", True, False),
        ("À quel service appartenaient les policiers qui avaient une licence ?", False, False),
        ("Combien de fois la police a-t-elle utilisé Clearview ?", False, False),
        ("Hadrien Clouet reproche-t-il aux policiers d'avoir utilisé le logiciel ?", False, True),
        ("Did the searches help any Belgian case?", False, True),
        ("Waarop berust het vertrouwen tussen politie en bevolking?", False, False),
    ],
)
def test_question_profile(question: str, person: bool, yes_no: bool) -> None:
    profile = QuestionProfile.of(question, french=True, kind=None)
    assert (profile.asks_person, profile.asks_yes_no) == (person, yes_no)


def test_names_a_person_not_in_the_question() -> None:
    sentence = "explique aujourd’hui Franck Schuermans, le patron du COC."
    assert names_a_person(sentence, "Qui est le patron du COC ?")
    assert not names_a_person(sentence, "Que dit Franck Schuermans ?")
    assert not names_a_person("Le groupe s'est réuni à La Haye.", "Où ?")


def test_people_are_told_from_units_by_how_the_corpus_speaks_of_them() -> None:
    corpus = [
        "La ministre de l'Intérieur, Annelies Verlinden, a confirmé. Selon Data News, le service"
        " «Child Abuse» a travaillé d'après des renseignements de Child Focus.",
        "Il désignait les ministres Bernard Cazeneuve, Bruno Le Roux et Gérald Darmanin.",
        "Nous avons interrogé Hadrien Clouet, l'un des députés. — Els Ampe (Open Vld)",
    ]
    people = People.of_texts(corpus)
    assert people.known == {
        "annelies verlinden",
        "bernard cazeneuve",
        "bruno le roux",
        "gerald darmanin",
        "hadrien clouet",
        "els ampe",
    }
    # A user's own documents in English or Dutch.
    assert People.of_texts(["The minister, John Smith, said so to Data News."]).known == {
        "john smith"
    }
    assert People.of_texts(["Dat verklaarde burgemeester Jan Peeters."]).known == {"jan peeters"}
    unit = "Deux membres du service «Child Abuse» et de Child Focus."
    assert names_a_person(unit, "Qui ?")  # with no corpus, any capitalised pair may be one
    assert not names_a_person(unit, "Qui ?", people)
    assert people_named("Bruno Le Roux et Gérald Darmanin", "Qui ?", people) == 2


def test_a_speaker_counts_half_unless_the_question_asks_who_said() -> None:
    people = People.of_texts(["l'élu LFI Aurélien Saintoul", "le procureur général, Rémy Heitz"])
    quoted = "« C'est illégal », a réagi auprès de l'AFP Aurélien Saintoul."
    decided = "Le classement a été décidé par le procureur Rémy Heitz."
    assert people_named(quoted, "Who decided to drop the complaint?", people) == 0.5
    assert people_named(decided, "Who decided to drop the complaint?", people) == 1
    assert people_named(quoted, "Qui a réagi auprès de l'AFP ?", people) == 1
    assert people_named(quoted, "Welk parlementslid schreef dat?", people) == 1
    assert people_named(quoted, "Quel député a soutenu que c'était illégal ?", people) == 1
    assert people_named("Selon Rémy Heitz, non.", "Qui a classé l'affaire ?", people) == 0.5


def test_a_sentence_attributed_to_a_source_is_told_from_one_naming_it() -> None:
    assert attributes_to("Selon le media Disclose, Briefcam permet de traquer.", {"disclose"})
    assert attributes_to("« C'est illégal », a réagi Aurélien Saintoul.", {"saintoul"})
    assert not attributes_to("En 2023, Disclose révélait l'affaire.", {"disclose"})
    assert not attributes_to("Selon le media Disclose, Briefcam permet de traquer.", {"coc"})


@pytest.mark.parametrize(
    ("question", "role_word", "other_word"),
    [
        ("Quel magistrat a classé l'affaire ?", "procureur", "ministre"),
        ("Which judge handled the case?", "juge", "député"),
        ("Welke minister bevestigde het gebruik?", "ministre", "procureur"),
        ("Quels députés ont saisi la justice ?", "élu", "juge"),
        ("Hoe heten de twee Belgische politieagenten?", "policier", "directeur"),
        ("Which Belgian federal police spokesperson told Data News?", "porte-parole", "patron"),
    ],
)
def test_the_role_asked_is_read_in_any_language(
    question: str, role_word: str, other_word: str
) -> None:
    role = asked_role(question)
    assert role is not None
    assert role.search(fold(f"le {role_word} a dit")) and not role.search(fold(other_word))


def test_a_question_without_a_role_asks_none() -> None:
    assert asked_role("Qui a fondé Clearview ?") is None
    assert asked_role("Qui dirige le COC ?") is None


def test_a_role_named_after_the_question_words_is_asked() -> None:
    police = asked_role("Comment s'appelle le policier ?")
    assert police is not None and police.search("policiers")
    officers = asked_role("What are the names of the two federal judicial police officers?")
    assert officers is police
    commissioner = asked_role("Qui est le commissaire général de la police fédérale ?")
    assert commissioner is not None and commissioner.search("commissaire")
    assert asked_role("Wie is de commissaris-generaal van de federale politie?") is commissioner
    for question in (
        "Quels sont les noms des deux policiers belges ?",
        "Wat zijn de namen van de twee Belgische agenten?",
        "Quels inspecteurs ont rédigé le rapport ?",
        "Which inspectors wrote the report?",
        "Welke inspecteurs schreven het rapport?",
    ):
        assert asked_role(question) is police, question


def test_dutch_asks_a_person_with_welk_and_welke() -> None:
    assert asked_role("Welk LFI-parlementslid schreef dat?") is not None
    assert asked_role("Welke kamerleden stelden vragen?") is not None


@pytest.mark.parametrize(
    ("sentence", "asked", "in_role"),
    [
        ("écrivait alors l’élu LFI Aurélien Saintoul.", "Quel député l'a écrit ?", True),
        (
            "ce classement a été décidé par le procureur général près la Cour de cassation, "
            "Rémy Heitz, le 27 janvier",
            "Quel magistrat a classé l'affaire ?",
            True,
        ),
        ("Hadrien Clouet, l’un des députés, a réagi.", "Which MP reacted?", True),
        # the deputy writes to the prosecutor: Rémy Heitz is not the deputy
        (
            "insistait le député dans son courrier auprès de Rémy Heitz, qui exerce les "
            "fonctions de ministère public",
            "Quel député a écrit ?",
            False,
        ),
        (
            '"Ce n’est pas acceptable", explique Franck Schuermans, du COC.',
            "Welke minister zei het?",
            False,
        ),
    ],
)
def test_a_person_is_in_the_role_only_beside_its_words(
    sentence: str, asked: str, in_role: bool
) -> None:
    role = asked_role(asked)
    assert role is not None
    assert names_in_role(sentence, role) is in_role


@pytest.mark.parametrize(
    ("sentence", "question", "may_hold_it"),
    [
        # named in the role asked
        (
            "Selon cette source, le procureur général près la Cour de cassation, Rémy Heitz, a "
            "décidé.",
            "Quel magistrat a décidé ?",
            True,
        ),
        # named in another role: a minister is no journalist
        (
            "Le ministre de l'Intérieur de l'époque, Gérald Darmanin, avait demandé un rapport.",
            "Quel journaliste a signé l'enquête ?",
            False,
        ),
        # every name of a list holds the role said before the first one
        (
            "Il désignait les ministres de l'Intérieur Bernard Cazeneuve, Matthias Fekl et "
            "Gérald Darmanin.",
            "Comment s'appellent les inspecteurs qui ont rédigé le rapport ?",
            False,
        ),
        # a mere speaker answers "who wrote / who claimed", not "which judge decided"
        (
            "Il y avait une volonté d'éteindre la critique, a réagi auprès de l'AFP Aurélien "
            "Saintoul.",
            "Quel juge a été chargé de l'affaire ?",
            False,
        ),
        (
            "Il y avait une volonté d'éteindre la critique, a réagi auprès de l'AFP Aurélien "
            "Saintoul.",
            "Quel député a soutenu que Briefcam était illégal ?",
            True,
        ),
        # named with no role at all, or by a handle: may hold it
        (
            "de Els Ampe (Open Vld) du 2 juin 2022",
            "Quelle parlementaire a posé la question ?",
            True,
        ),
        (
            "Avec @ChristopheBex, nous demandons des explications.",
            "Quels députés ont écrit ?",
            True,
        ),
    ],
)
def test_someone_named_in_another_role_does_not_answer_a_role_asked(
    sentence: str, question: str, may_hold_it: bool
) -> None:
    role = asked_role(question)
    assert role is not None
    assert names_someone_for_role(sentence, role, question) is may_hold_it


_TOULOUSE = [
    "« Nous n'avons jamais utilisé ce logiciel » a répondu le commissaire Patrick Léonard, "
    "patron de la Direction territoriale de police judiciaire de Toulouse.",
    "Nous avons interrogé Hadrien Clouet, l'un des députés LFI de Haute-Garonne ayant "
    "interpellé la direction de la sécurité publique.",
    "— Hadrien Clouet (@HadrienClouet) November 20, 2023",
]


@pytest.mark.parametrize(
    ("sentence", "question", "may_hold_it"),
    [
        # the head of another office: judicial police, not public security
        (_TOULOUSE[0], "Comment s'appelle le directeur de la sécurité publique ?", False),
        (_TOULOUSE[0], "Who is the head of public security in Haute-Garonne?", False),
        (_TOULOUSE[0], "Comment s'appelle le chef de la police judiciaire de Toulouse ?", True),
        (_TOULOUSE[0], "Quel directeur a répondu à La Dépêche ?", True),  # no office asked
        # an MP elsewhere in the texts, signing a post here with no role said
        (_TOULOUSE[2], "Comment s'appelle le directeur de la sécurité publique ?", False),
        (_TOULOUSE[2], "Quel député a publié ce message ?", True),
    ],
)
def test_a_role_holder_is_of_the_office_asked_and_of_no_other_role_in_the_texts(
    sentence: str, question: str, may_hold_it: bool
) -> None:
    people = People.of_texts(_TOULOUSE)
    role = asked_role(question)
    assert role is not None
    assert names_someone_for_role(sentence, role, question, people) is may_hold_it


def test_selon_attributes_to_the_source_it_names_not_to_one_further_on() -> None:
    assert attributes_to("Selon le journal Le Soir, une enquête a révélé cela.", {"soir"})
    assert attributes_to("Selon l'AFP, le signalement a été classé.", {"afp"})
    assert not attributes_to(
        "Des missions ont été effectuées d'après des renseignements de Child Focus.",
        {"child", "focus"},
    )


@pytest.mark.parametrize(
    ("question", "other"),
    [
        ("Did the head of public security in Haute-Garonne reply to the MPs?", True),
        ("Le directeur départemental de la sécurité publique a-t-il répondu ?", True),
        # the same office asked in Dutch ("politie" / "police")
        ("Wat antwoordde het hoofd van de gerechtelijke politie van Toulouse?", False),
        ("Qu'a répondu la police ?", False),  # no office asked
    ],
)
def test_a_reply_of_another_office_is_told_apart(question: str, other: bool) -> None:
    sentence = (
        "Il n'est installé sur aucun ordinateur de notre service » a répondu le commissaire "
        "Patrick Léonard, patron de la Direction territoriale de police judiciaire de Toulouse."
    )
    people = People.of_texts([sentence, "la sécurité publique, Toulouse, la politique"])
    assert names_another_office(sentence, question, people) is other
