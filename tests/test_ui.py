"""The chat page in a real headless Chromium (Debian's), against a real server on loopback.
Screenshots of each state go to test-artifacts/."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from typer.testing import CliRunner

from rag.cli import app
from rag.service import AnswerService
from rag.settings import RagSettings
from tests.conftest import ROOT, env_for
from ui.app import create_server

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Debian's chromium: apt-get install -y chromium")
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


@pytest.fixture(scope="module")
def server(seed_settings: RagSettings, service: AnswerService) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    running = uvicorn.Server(
        uvicorn.Config(
            create_server(seed_settings, service), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not running.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, server: str) -> Iterator:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    outside: list[str] = []
    page.on(
        "request",
        lambda r: (
            None if r.url.startswith(server) or r.url.startswith("data:") else outside.append(r.url)
        ),
    )
    page.goto(server + "/")
    page.wait_for_selector("#question textarea", timeout=90_000)
    yield page
    context.close()
    assert outside == [], f"the page fetched outside addresses: {outside}"


def ask(page, question: str) -> None:
    before = page.locator("#chat .message").count()
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()
    page.wait_for_function(
        f"document.querySelectorAll('#chat .message').length >= {before + 2}", timeout=60_000
    )
    page.wait_for_function(
        "!document.querySelector('#sources')?.innerText.includes('s\\'afficheront ici')",
        timeout=60_000,
    )
    page.wait_for_timeout(600)  # the streamed reply settles


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_french_question_cites_and_highlights_its_passage(page) -> None:
    ask(page, "Combien de fois la police fédérale belge a-t-elle utilisé Clearview ?")
    chat = page.locator("#chat").inner_text()
    assert "78" in chat and "[1]" in chat
    marks = page.locator("#sources mark")
    assert marks.count() >= 1 and "78 utilisations" in marks.first.inner_text()
    assert page.locator("#source-1").is_visible()
    assert "divergent" in page.locator("#sources").inner_text()
    shot(page, "1-french-answer")
    # Second click: the cited document, opened and scrolled to the passage.
    page.locator("#open-doc input").click()
    page.get_by_role("option").first.click()
    page.wait_for_selector("#document #passage", timeout=30_000)
    assert "78 utilisations" in page.locator("#document #passage").inner_text()
    page.wait_for_timeout(800)
    assert page.locator("#document #passage").is_visible()
    shot(page, "2-document-opened-at-passage")


def test_english_question(page) -> None:
    ask(page, "When was Briefcam switched off?")
    assert "décembre 2023" in page.locator("#chat").inner_text()
    assert "The documents say" in page.locator("#chat").inner_text()
    # The next-ranked passages, folded under the sources until asked for.
    related = page.locator("#sources details.related")
    assert related.count() == 1
    assert not related.locator("blockquote").first.is_visible()
    related.locator("summary").click()
    assert related.locator("blockquote").first.is_visible()
    shot(page, "3-english-answer")


def test_unanswerable_question_is_honest(page) -> None:
    ask(page, "Quelle est la capitale du Pérou ?")
    assert "Les documents ne répondent pas" in page.locator("#chat").inner_text()
    assert "passages les plus proches" in page.locator("#sources").inner_text()
    shot(page, "4-unanswerable")


def test_feedback_is_stored(page, seed_settings: RagSettings) -> None:
    log = seed_settings.data_dir / "feedback.jsonl"
    before = log.read_text(encoding="utf-8").count("\n") if log.exists() else 0
    ask(page, "Qui a décidé le classement sans suite du signalement des députés LFI ?")
    page.locator("#chat button[aria-label='Like']").last.click()
    page.wait_for_function(
        "document.querySelector('#status')?.innerText.includes('Merci')", timeout=30_000
    )
    page.locator("#comment textarea").fill("Réponse claire, merci.")
    page.locator("#send").click()
    page.wait_for_function("true", timeout=1000)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        rows = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines()[before:]]
        if len(rows) >= 2:
            break
        time.sleep(0.2)
    assert rows[0]["rating"] == "up" and "LFI" in rows[0]["question"]
    assert rows[0]["citations"] and rows[0]["answer"]
    assert rows[1]["comment"] == "Réponse claire, merci."
    shot(page, "5-feedback")
    exported = CliRunner().invoke(app, ["feedback"], env=env_for(seed_settings))
    assert exported.exit_code == 0 and "Réponse claire, merci." in exported.stdout


def test_interface_language_switches(page) -> None:
    page.get_by_label("English").check()
    page.wait_for_function("document.body.innerText.includes('Your question')", timeout=30_000)
    assert "Interface language" in page.locator("body").inner_text()
    page.get_by_label("Nederlands").check()
    page.wait_for_function("document.body.innerText.includes('Uw vraag')", timeout=30_000)
    shot(page, "6-dutch-interface")


def test_markup_in_questions_is_shown_as_text(page) -> None:
    ask(page, "<script>window.hacked=1</script> ![x](http://evil.example/a.png) Briefcam ?")
    assert page.evaluate("window.hacked") is None
    assert page.locator("img[src*='evil.example']").count() == 0
    assert "<script>" in page.locator("#chat").inner_text()


def test_phone_screen_and_keyboard_only(browser, server: str) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    try:
        page.goto(server + "/")
        page.wait_for_selector("#question textarea", timeout=90_000)
        page.locator("#question textarea").focus()
        page.keyboard.type("Qui est le patron du COC ?")
        page.keyboard.press("Enter")  # no mouse: the question is sent from the keyboard
        page.wait_for_function(
            "document.querySelectorAll('#chat .message').length >= 2", timeout=60_000
        )
        page.wait_for_selector("#sources mark", timeout=60_000)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"the page is {overflow}px wider than a phone screen"
        assert page.get_by_label("Votre question").count() == 1  # labelled for screen readers
        shot(page, "7-phone")
    finally:
        context.close()
