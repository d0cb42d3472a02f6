from pathlib import Path

import pytest

from index.documents import load_documents
from rag.errors import NoDocumentsError
from tests.conftest import SEEDS


def test_seeds_load_with_catalog_entries() -> None:
    loaded = load_documents([SEEDS], SEEDS / "catalog.json")
    assert loaded.errors == []
    assert len(loaded.documents) == 5
    by_id = {d.doc_id: d for d in loaded.documents}
    for doc_id, document in by_id.items():
        assert document.text == (SEEDS / f"{doc_id}.txt").read_text(encoding="utf-8")
        assert document.title and document.date and document.kind
    assert by_id["001_0858471518292074"].publisher == "Sénat de Belgique"


def test_user_files_in_three_formats(tmp_path: Path) -> None:
    (tmp_path / "note.md").write_text("# Ma note\n\nLe COC a enquêté.\n", encoding="utf-8")
    (tmp_path / "page.html").write_text(
        "<html><head><title>Une page</title><script>alert(1)</script></head>"
        "<body><nav>Menu</nav><p>Briefcam a été désactivé.</p><p>Deuxième &amp; fin.</p>"
        "</body></html>",
        encoding="utf-8",
    )
    (tmp_path / "plain.txt").write_text("Un texte simple.", encoding="utf-8")
    loaded = load_documents([tmp_path])
    by_id = {d.doc_id: d for d in loaded.documents}
    assert set(by_id) == {"note", "page", "plain"}
    assert by_id["note"].title == "Ma note"
    assert by_id["page"].title == "Une page"
    assert by_id["page"].text == "Briefcam a été désactivé.\n\nDeuxième & fin."
    assert "alert" not in by_id["page"].text and "Menu" not in by_id["page"].text


def test_bad_documents_are_reported_and_skipped(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("Le COC a enquêté sur cette affaire.", encoding="utf-8")
    (tmp_path / "empty.txt").write_text("   \n", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("Réponse reçue".encode("latin-1"))
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02binary")
    loaded = load_documents([tmp_path, tmp_path / "missing.txt"])
    assert [d.doc_id for d in loaded.documents] == ["good"]
    reasons = {Path(e.path).name: e.reason for e in loaded.errors}
    assert reasons["empty.txt"] == "empty document"
    assert "UTF-8" in reasons["latin1.txt"]
    assert "binary" in reasons["binary.txt"]
    assert "no such file" in reasons["missing.txt"]


def test_nothing_to_index_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty.md").write_text("", encoding="utf-8")
    with pytest.raises(NoDocumentsError, match="empty document"):
        load_documents([tmp_path])


def _pdf(path: Path, pages: list[str], title: str | None = None) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    if title:
        pdf.set_title(title)
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 8, text)
    pdf.output(str(path))


def test_pdf_text_layer_is_indexed_and_bad_pdfs_are_skipped(tmp_path: Path) -> None:
    _pdf(
        tmp_path / "rapport.pdf",
        ["Le COC a enquêté sur 78 utilisations.", "Briefcam a été désactivé en décembre 2023."],
        title="Rapport du COC",
    )
    _pdf(tmp_path / "scan.pdf", [""])
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7\nnot really a pdf")
    loaded = load_documents([tmp_path])
    [report] = loaded.documents
    assert report.title == "Rapport du COC"
    assert "78 utilisations" in report.text and "décembre 2023" in report.text
    assert report.text.index("78") < report.text.index("Briefcam")  # pages in order
    reasons = {Path(e.path).name: e.reason for e in loaded.errors}
    assert "text layer" in reasons["scan.pdf"]
    assert "PDF" in reasons["broken.pdf"]


def test_the_same_text_twice_is_indexed_once(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Le COC a enquêté sur cette affaire.", encoding="utf-8")
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / "b.txt").write_text("Le COC a enquêté sur cette affaire.", "utf-8")
    loaded = load_documents([tmp_path])
    assert [d.doc_id for d in loaded.documents] == ["a"]
    [duplicate] = loaded.errors
    assert duplicate.path.endswith("b.txt") and "same text as" in duplicate.reason
