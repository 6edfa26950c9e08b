"""Word and character error rates for Russian transcripts (tests and benchmarks)."""

from __future__ import annotations

import re

_NON_WORD = re.compile(r"[^\w\s]+")


def normalize_transcript(text: str) -> str:
    """Lower case, ё -> е, punctuation removed, whitespace collapsed."""
    text = text.lower().replace("ё", "е")
    return " ".join(_NON_WORD.sub(" ", text).split())


def _distance(ref: list[str], hyp: list[str]) -> int:
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def wer(reference: str, hypothesis: str) -> float:
    ref, hyp = normalize_transcript(reference).split(), normalize_transcript(hypothesis).split()
    return _distance(ref, hyp) / max(len(ref), 1)


def cer(reference: str, hypothesis: str) -> float:
    ref, hyp = list(normalize_transcript(reference)), list(normalize_transcript(hypothesis))
    return _distance(ref, hyp) / max(len(ref), 1)
