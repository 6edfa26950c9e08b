"""A reply begun for the model must go on: no end-of-turn token before a few tokens of its own.

The live conversation starts a reply with an opener («Вот как!», «Хороший вопрос!») and lets the model
continue it. After an opener that is a whole exclamation a small model sometimes ends its turn at
once, and the reply is left with nothing but the opener. :class:`NoEarlyEnd` makes the end-of-turn
tokens impossible for the first ``min_tokens`` sampled tokens of such a continuation.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

MIN_TOKENS = 3


class NoEarlyEnd:
    """A llama-cpp-python logits processor: the ``end_ids`` cannot be sampled among the first ``min_tokens``."""

    def __init__(self, end_ids: Iterable[int], min_tokens: int = MIN_TOKENS) -> None:
        self.end_ids = sorted({int(i) for i in end_ids if i is not None and int(i) >= 0})
        self.min_tokens = min_tokens
        self.start: int | None = None  # the length of the input when the first token was sampled

    def __call__(self, input_ids: npt.NDArray[np.intc], scores: npt.NDArray[np.single]) -> npt.NDArray[np.single]:
        if self.start is None:
            self.start = len(input_ids)
        if self.end_ids and len(input_ids) - self.start < self.min_tokens:
            scores[self.end_ids] = -np.inf
        return scores
