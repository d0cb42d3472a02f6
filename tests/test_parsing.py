from hypothesis import given, settings
from hypothesis import strategies as st

from index.documents import SourceDocument
from index.parsing import ChunkParser, is_boilerplate, sentence_spans, split_sentences
from tests.conftest import SEEDS

WORDS = [
    "Le",
    "COC",
    "a",
    "enquêté",
    "M.",
    "Schuermans",
    "n°",
    "7-1649",
    "«",
    "»",
    "2019",
    "septante-huit",
    "fois",
    "Clearview",
    "?",
    "!",
    "…",
    "l’Europol",
    "https://x.be/a b.html",
]
sentence_text = st.lists(st.sampled_from(WORDS), min_size=1, max_size=30).map(" ".join)
document_text = st.lists(
    st.tuples(sentence_text, st.sampled_from([". ", ".\n", "\n\n", " ? ", "\n"])),
    min_size=1,
    max_size=40,
).map(lambda parts: "".join(a + b for a, b in parts))


def _doc(text: str) -> SourceDocument:
    return SourceDocument(doc_id="d", text=text, title="t", path="d.txt")


@settings(max_examples=60, deadline=None)
@given(document_text)
def test_sentences_and_chunks_are_exact_slices(text: str) -> None:
    document = _doc(text)
    for sentence in split_sentences(document):
        assert text[sentence.start : sentence.end] == sentence.text
        assert sentence.text.strip() == sentence.text
    for chunk in ChunkParser(chunk_size=64, chunk_overlap=8).chunks(document):
        assert text[chunk.start_char_idx : chunk.end_char_idx] == chunk.text


def test_seed_sentences_are_french_aware() -> None:
    text = (SEEDS / "000_3f3c3cb774209368.txt").read_text(encoding="utf-8")
    sentences = [text[s:e] for s, e in sentence_spans(text)]
    assert sentences[0] == "date 2022-03"  # the header is split off the first sentence
    assert sentences[1].startswith("C’est le COC")
    assert any(s.startswith("Ce sont, au total, 78 utilisations") for s in sentences)


def test_page_furniture_is_not_answer_material() -> None:
    for line in [
        "Voir cette publication sur Instagram",
        "date 2022-03",
        "— Hadrien Clouet (@HadrienClouet)",
        "https://t.co/iGidO5UMtR pic.twitter.com/dWwckfU4Xx",
        "Chronologie",
        "JE M'ABONNE AU JOURNAL JE FAIS UN DON",
    ]:
        assert is_boilerplate(line), line
    assert not is_boilerplate("Ce sont, au total, 78 utilisations du logiciel Clearview.")
    # A post's signature says when it was posted, which a question may ask.
    assert not is_boilerplate("— Hadrien Clouet (@HadrienClouet) November 20, 2023")
