"""LLM-judged metrics (LlamaIndex FaithfulnessEvaluator, CorrectnessEvaluator), run only when
a generative LLM is configured; otherwise reported as not run, never guessed."""

from __future__ import annotations

from typing import Any

from eval.runner import Scored
from rag.settings import RagSettings

NOT_RUN = {
    "faithfulness": "not run: no generative LLM is configured (RAG_LLM_BASE_URL)",
    "correctness": "not run: no generative LLM is configured (RAG_LLM_BASE_URL)",
}


def llm_judged(settings: RagSettings, results: list[Scored]) -> dict[str, Any]:
    if not settings.llm_base_url:
        return dict(NOT_RUN)
    from llama_index.core.evaluation import CorrectnessEvaluator, FaithfulnessEvaluator

    from rag.generative import build_llm

    judge = build_llm(settings)
    faithfulness = FaithfulnessEvaluator(llm=judge)
    correctness = CorrectnessEvaluator(llm=judge)
    answered = [r for r in results if r.question.answerable and not r.answer.abstained]
    faithful, scores, failures = [], [], 0
    for r in answered:
        contexts = [c.text for c in r.answer.citations]
        reference = "; ".join(fact[0] for fact in r.question.facts)
        try:
            faithful.append(
                bool(
                    faithfulness.evaluate(
                        query=r.question.question, response=r.answer.answer, contexts=contexts
                    ).passing
                )
            )
            score = correctness.evaluate(
                query=r.question.question, response=r.answer.answer, reference=reference
            ).score
            if score is not None:
                scores.append(float(score))
        except Exception:  # a judge that fails is counted, not hidden
            failures += 1
    return {
        "judge": f"{settings.llm_model} at {settings.llm_base_url} (LLM-judged)",
        "faithfulness": round(sum(faithful) / len(faithful), 3) if faithful else None,
        "correctness": round(sum(scores) / len(scores), 3) if scores else None,
        "answers_judged": len(answered),
        "judge_failures": failures,
        "definitions": {
            "faithfulness": "answers the judge finds supported by their cited passages / "
            "answers judged",
            "correctness": "mean 1-5 score the judge gives against the key facts",
        },
    }
