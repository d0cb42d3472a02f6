"""Answers composed from chosen sentences with set scores, past retrieval and ranking."""

import numpy as np
from llama_index.core.base.response.schema import Response

from rag.extractive import Candidate, ExtractiveSynthesizer
from rag.ranker import FEATURES

BRIEFCAM_DOCUMENT = "003_865f7c62c8473996"


def compose_ranked(synthesizer: ExtractiveSynthesizer, scored: list[tuple[int, float]]) -> Response:
    """The answer to a neutral question whose candidates are the Briefcam document's
    sentences at the given positions, ranked in the given order with the given scores."""
    sentences = synthesizer.index.sentences_by_doc[BRIEFCAM_DOCUMENT]
    ranked = [
        Candidate(
            sentences[position],
            synthesizer.index.sentence_text(sentences[position]),
            cosine=0.95,
            score=score,
            features=[0.0] * len(FEATURES),
        )
        for position, score in scored
    ]
    for candidate in ranked:
        candidate.weighted_score = candidate.score
        candidate.terms = synthesizer.scorer.sentence_terms[candidate.info.node_id]
    return synthesizer.compose(
        "Que dit le rapport ?", np.zeros(384, dtype=np.float32), "fr", ranked
    )
