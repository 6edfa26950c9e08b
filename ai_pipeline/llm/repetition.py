"""Repetition across turns: a logits processor that keeps a reply from repeating the persona's earlier ones.

llama.cpp's repeat / presence / frequency penalties only see the tokens sampled in the current reply
(its sampler is made anew for each generation), so a small model that said «Это очень интересный
вопрос!» last turn says it again, word for word, turn after turn. ``EchoPenalty`` looks at the
persona's earlier replies in the prompt instead: where the tokens just sampled continue a run that
already occurred in one of them, the token that came next there is made less likely (by
``penalty``, in logits). Single words and short pairs stay free (names, «я», punctuation); only a
run of ``ngram`` tokens is discouraged, so topics and facts can be repeated but sentences are not.

Tokens differ with case and with what comes before a word, so «Пожалуйста, у тебя есть способ…»
said again as «Пожалуйста! У тебя есть способ…» would slip past a penalty on the reply's own tokens.
:func:`echo_variants` therefore adds each clause of an earlier reply on its own, with a capital and
with a small first letter, as the model would write it after any punctuation.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt


_CLAUSE_END = re.compile(r"[,.!?;:…—–()«»\"]+")


def echo_variants(reply: str) -> list[str]:
    """``reply`` and each of its clauses as it could be said again: after a space, with its first
    letter upper- and lower-case (see the module docstring)."""
    variants = [reply]
    for clause in _CLAUSE_END.split(reply):
        clause = clause.strip()
        if len(clause.split()) >= 2:  # a lone word is never a run worth discouraging
            for first in dict.fromkeys((clause[0].upper(), clause[0].lower())):
                variants.append(" " + first + clause[1:])
    return variants


class EchoPenalty:
    """Lowers the logits of tokens that would extend a run of ``ngram`` tokens of an earlier reply."""

    def __init__(self, replies: Iterable[Sequence[int]], penalty: float, ngram: int = 4) -> None:
        self.penalty = penalty
        self.context = max(1, ngram - 1)
        self.next: dict[tuple[int, ...], set[int]] = defaultdict(set)
        for tokens in replies:
            for i in range(len(tokens) - self.context):
                self.next[tuple(tokens[i:i + self.context])].add(int(tokens[i + self.context]))

    def __bool__(self) -> bool:
        return self.penalty > 0 and bool(self.next)

    def __call__(self, input_ids: npt.NDArray[np.intc], scores: npt.NDArray[np.single]) -> npt.NDArray[np.single]:
        """The llama-cpp-python logits-processor interface: ``input_ids`` are the prompt and the reply so far."""
        if len(input_ids) >= self.context:
            followers = self.next.get(tuple(int(t) for t in input_ids[-self.context:]))
            if followers:
                scores[list(followers)] -= self.penalty
        return scores
