"""The citizens' chat page: Gradio's chat components over the same AnswerService, mounted at
the root of `rag serve`. Every document or quote is escaped before it reaches the page."""

from __future__ import annotations

import html
import json
import re
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import FastAPI

from rag.api import create_app
from rag.errors import RagError
from rag.models import Answer, Citation
from rag.service import AnswerService
from rag.settings import RagSettings
from ui.text import EXAMPLES, TEXT, UI_LANGUAGES

CSS = """
.sources mark, .document mark { background: #ffe58a; color: #111; padding: 0 .1em; }
.sources ol { list-style: none; padding-left: 0; }
.sources blockquote { margin: .3em 0 .8em; border-left: 3px solid #999; padding-left: .6em; }
.sources .note { border: 2px solid #b35c00; padding: .5em; border-radius: 6px; }
.sources .mode { font-size: .9em; opacity: .85; }
.document { white-space: pre-wrap; max-height: 32em; overflow-y: auto; line-height: 1.5; }
"""
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|>~-])")


def markdown_safe(text: str) -> str:
    """Quotes shown as text: no HTML, no markdown image or link can come from a document."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def answer_markdown(answer: Answer) -> str:
    """The answer for the chat, each [n] a link to its source in the panel."""
    body = markdown_safe(answer.answer)
    return re.sub(r"\\\[(\d+)\\\]", r"[\[\1\]](#source-\1)", body)


def _paragraph(text: str, start: int, end: int, limit: int = 700) -> tuple[str, str, str]:
    """The paragraph around a quote: (before, quote, after), trimmed to about `limit`."""
    left = text.rfind("\n", 0, start) + 1
    right = text.find("\n", end)
    right = len(text) if right < 0 else right
    before, after = text[left:start], text[end:right]
    room = max(0, limit - (end - start)) // 2
    if len(before) > room:
        before = "…" + before[len(before) - room :]
    if len(after) > room:
        after = after[:room] + "…"
    return before, text[start:end], after


def sources_html(answer: Answer | None, documents: Mapping[str, str], lang: str) -> str:
    words = TEXT[lang]
    if answer is None:
        return f'<div class="sources" lang="{lang}"><p>{words["sources_empty"]}</p></div>'
    parts = [
        f'<div class="sources" lang="{lang}">',
        f'<p class="mode">{words["mode"]} : {words[answer.mode]}</p>',
    ]
    if answer.conflict:
        parts.append(f'<p class="note" role="note">{words["conflict"]}</p>')
    if answer.abstained:
        parts.append(f'<p class="note" role="note">{words["abstained"]}</p>')
    for warning in answer.warnings:
        parts.append(f'<p class="note" role="note">{words["warning"]} : {html.escape(warning)}</p>')
    parts.append(f"<h3>{words['sources']}</h3><ol>")
    for c in answer.citations:
        before, quote, after = _paragraph(documents[c.doc_id], c.start, c.end)
        part = words.get(f"section_{c.section}") if c.section else None
        details = ", ".join(html.escape(x) for x in (c.publisher, c.date, part) if x)
        parts.append(
            f'<li id="source-{c.marker}" value="{c.marker}"><strong>[{c.marker}] '
            f"{html.escape(c.title)}</strong>{' — ' + details if details else ''}"
            f"<blockquote>{html.escape(before)}<mark>{html.escape(quote)}</mark>"
            f"{html.escape(after)}</blockquote></li>"
        )
    parts.append("</ol>")
    if answer.related:
        parts.append(f'<details class="related"><summary>{words["related"]}</summary><ul>')
        for r in answer.related:
            details = ", ".join(html.escape(x) for x in (r.publisher, r.date) if x)
            parts.append(
                f"<li><strong>{html.escape(r.title)}</strong>"
                f"{' — ' + details if details else ''}"
                f"<blockquote>{html.escape(r.text)}</blockquote></li>"
            )
        parts.append("</ul></details>")
    parts.append("</div>")
    return "".join(parts)


def document_html(text: str, citation: Citation | None = None) -> str:
    if citation is None:
        return f'<div class="document">{html.escape(text)}</div>'
    return (
        f'<div class="document">{html.escape(text[: citation.start])}'
        f'<mark id="passage">{html.escape(text[citation.start : citation.end])}</mark>'
        f"{html.escape(text[citation.end :])}</div>"
    )


class FeedbackLog:
    """Thumbs and comments, with the question, answer and citations, as JSON lines."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def add(self, answer: dict[str, Any], rating: str | None, comment: str | None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        row = {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "rating": rating,
            "comment": comment,
            "question": answer["question"],
            "answer": answer["answer"],
            "mode": answer["mode"],
            "citations": answer["citations"],
        }
        with self._lock, open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


class LiveTexts(Mapping[str, str]):
    """Document texts of the build answering now (`rag serve` may switch builds)."""

    def __init__(self, service: AnswerService) -> None:
        self.service = service

    def __getitem__(self, doc_id: str) -> str:
        return self.service.index.documents[doc_id].text

    def __iter__(self) -> Iterator[str]:
        return iter(self.service.index.documents)

    def __len__(self) -> int:
        return len(self.service.index.documents)


def build_ui(service: AnswerService, settings: RagSettings) -> gr.Blocks:
    documents = LiveTexts(service)
    catalog = sorted(service.index.documents.values(), key=lambda d: d.doc_id)
    dates = sorted(d.date for d in catalog if d.date)
    feedback = FeedbackLog(settings.data_dir / "feedback.jsonl")

    def intro(lang: str) -> str:
        words = TEXT[lang]
        return f"# {words['title']}\n\n" + words["intro"].format(
            n=len(catalog), first=dates[0] if dates else "?", last=dates[-1] if dates else "?"
        )

    def catalog_rows(lang: str) -> Any:
        return {
            "headers": TEXT[lang]["columns"].split("|"),
            "data": [
                [d.title, d.date or "", d.publisher or "", d.kind or "", d.language or ""]
                for d in sorted(service.index.documents.values(), key=lambda d: d.doc_id)
            ],
        }

    with gr.Blocks(title=TEXT["fr"]["title"], analytics_enabled=False) as page:
        answers = gr.State([])  # one dict per assistant message, for feedback and sources
        header = gr.Markdown(intro("fr"))
        language = gr.Radio(
            [(name, code) for code, name in UI_LANGUAGES.items()],
            value="fr",
            label=TEXT["fr"]["language"],
            elem_id="ui-language",
        )
        with gr.Tabs() as tabs:
            with gr.Tab(TEXT["fr"]["questions_tab"], id="questions") as questions_tab, gr.Row():
                with gr.Column(scale=3):
                    chat = gr.Chatbot(
                        label=TEXT["fr"]["chat"],
                        height=460,
                        sanitize_html=True,
                        render_markdown=True,
                        feedback_options=("Like", "Dislike"),
                        elem_id="chat",
                    )
                    question = gr.Textbox(
                        label=TEXT["fr"]["question"],
                        lines=1,
                        placeholder=TEXT["fr"]["placeholder"],
                        max_length=settings.max_question_chars,
                        elem_id="question",
                    )
                    with gr.Row():
                        ask = gr.Button(TEXT["fr"]["ask"], variant="primary", elem_id="ask")
                        clear = gr.Button(TEXT["fr"]["clear"], elem_id="clear")
                    gr.Examples(EXAMPLES, inputs=question, label=TEXT["fr"]["examples"])
                    comment = gr.Textbox(label=TEXT["fr"]["comment"], lines=1, elem_id="comment")
                    send = gr.Button(TEXT["fr"]["send"], size="sm", elem_id="send")
                    status = gr.Markdown("", elem_id="status")
                with gr.Column(scale=2):
                    sources = gr.HTML(sources_html(None, documents, "fr"), elem_id="sources")
                    open_doc = gr.Dropdown([], label=TEXT["fr"]["open"], elem_id="open-doc")
            with gr.Tab(TEXT["fr"]["documents_tab"], id="documents") as documents_tab:
                table = gr.Dataframe(
                    catalog_rows("fr"), label=TEXT["fr"]["catalog"], interactive=False, wrap=True
                )
                pick = gr.Dropdown(
                    [(d.title, d.doc_id) for d in catalog],
                    label=TEXT["fr"]["document"],
                    elem_id="pick-doc",
                )
                document = gr.HTML("", elem_id="document")

        def respond(
            text: str, history: list[dict[str, Any]], kept: list[dict[str, Any]], lang: str
        ) -> Iterator[tuple[Any, ...]]:
            text = (text or "").strip()
            if not text:
                return
            turns = [
                (m["role"], _plain(m["content"]))
                for m in history
                if m["role"] in ("user", "assistant")
            ]
            history = [*history, {"role": "user", "content": markdown_safe(text)}]
            try:
                answer = service.ask(text, turns or None)
            except RagError as exc:
                history.append({"role": "assistant", "content": markdown_safe(exc.message)})
                yield history, kept, sources_html(None, documents, lang), gr.update(), ""
                return
            shown = answer_markdown(answer)
            words = shown.split(" ")
            for i in range(8, len(words), 8):  # stream the reply as it is written out
                partial = [*history, {"role": "assistant", "content": " ".join(words[:i])}]
                yield partial, kept, gr.update(), gr.update(), ""
            history.append({"role": "assistant", "content": shown})
            kept = [*kept, answer.model_dump()]
            choices = [
                (f"[{c.marker}] {c.title}", f"{len(kept) - 1}:{c.marker}") for c in answer.citations
            ]
            yield (
                history,
                kept,
                sources_html(answer, documents, lang),
                gr.update(choices=choices, value=None),
                "",
            )

        outputs = [chat, answers, sources, open_doc, question]
        ask.click(
            respond,
            [question, chat, answers, language],
            outputs,
            concurrency_limit=settings.max_concurrent_requests,
        )
        question.submit(
            respond,
            [question, chat, answers, language],
            outputs,
            concurrency_limit=settings.max_concurrent_requests,
        )
        clear.click(
            lambda lang: (
                [],
                [],
                sources_html(None, documents, lang),
                gr.update(choices=[], value=None),
                "",
            ),
            [language],
            [chat, answers, sources, open_doc, status],
        )

        def rate(kept: list[dict[str, Any]], lang: str, data: gr.LikeData) -> str:
            position = data.index[0] if isinstance(data.index, list | tuple) else data.index
            assistant_turn = position // 2
            if not kept or assistant_turn >= len(kept):
                return TEXT[lang]["nothing_to_rate"]
            liked = data.liked
            rating = (
                "up"
                if liked is True or liked == "Like"
                else (None if liked in (None, "") else "down")
            )
            feedback.add(kept[assistant_turn], rating, None)
            return TEXT[lang]["thanks"]

        chat.like(rate, [answers, language], [status])

        def send_comment(text: str, kept: list[dict[str, Any]], lang: str) -> tuple[str, str]:
            if not kept:
                return TEXT[lang]["nothing_to_rate"], text
            feedback.add(kept[-1], None, (text or "").strip()[:2000] or None)
            return TEXT[lang]["thanks"], ""

        send.click(send_comment, [comment, answers, language], [status, comment])

        def show_document(choice: str | None, kept: list[dict[str, Any]]) -> tuple[Any, ...]:
            if not choice:
                return gr.update(), gr.update(), gr.update()
            turn, marker = (int(x) for x in choice.split(":"))
            citation = next(
                Citation.model_validate(c) for c in kept[turn]["citations"] if c["marker"] == marker
            )
            return (
                gr.Tabs(selected="documents"),
                gr.update(value=citation.doc_id),
                document_html(documents[citation.doc_id], citation),
            )

        open_doc.change(show_document, [open_doc, answers], [tabs, pick, document]).then(
            None,
            js="() => setTimeout(() => document.getElementById('passage')"
            "?.scrollIntoView({block: 'center'}), 300)",
        )
        pick.input(
            lambda doc_id: document_html(documents[doc_id]) if doc_id else "", [pick], [document]
        )

        def relabel(lang: str, kept: list[dict[str, Any]]) -> tuple[Any, ...]:
            words = TEXT[lang]
            last = Answer.model_validate(kept[-1]) if kept else None
            return (
                intro(lang),
                gr.update(label=words["language"]),
                gr.update(label=words["questions_tab"]),
                gr.update(label=words["documents_tab"]),
                gr.update(label=words["chat"]),
                gr.update(label=words["question"], placeholder=words["placeholder"]),
                gr.update(value=words["ask"]),
                gr.update(value=words["clear"]),
                gr.update(label=words["comment"]),
                gr.update(value=words["send"]),
                sources_html(last, documents, lang),
                gr.update(label=words["open"]),
                gr.update(value=catalog_rows(lang), label=words["catalog"]),
                gr.update(label=words["document"]),
            )

        language.change(
            relabel,
            [language, answers],
            [
                header,
                language,
                questions_tab,
                documents_tab,
                chat,
                question,
                ask,
                clear,
                comment,
                send,
                sources,
                open_doc,
                table,
                pick,
            ],
        )
    page.queue(
        max_size=settings.ui_queue_size, default_concurrency_limit=settings.max_concurrent_requests
    )
    return page


def _plain(content: Any) -> str:
    if isinstance(content, list):
        content = " ".join(
            str(part.get("text", "")) if isinstance(part, dict) else str(part) for part in content
        )
    text = re.sub(r"\[\\\[(\d+)\\\]\]\(#source-\d+\)", r"[\1]", str(content))
    return html.unescape(re.sub(r"\\(.)", r"\1", text))


def create_server(settings: RagSettings, service: AnswerService) -> FastAPI:
    """The API with the chat page mounted at its root."""
    app = create_app(settings, service)
    return gr.mount_gradio_app(
        app, build_ui(service, settings), path="/", allowed_paths=[], css=CSS, show_error=False
    )
