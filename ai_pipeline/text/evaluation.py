"""Score Russian normalisers on the hand-written case table in ``tests/data/text``.

Run ``python -m ai_pipeline.text.evaluation`` to print per-category accuracy of every candidate
(the project's own passes, ru-normalizr alone, and the combination ``normalize_for_speech`` uses)
and their per-sentence time. The table test imports the loaders and the scorer from here.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

CASES_PATH = Path(__file__).resolve().parents[2] / "tests" / "data" / "text" / "normalisation_cases.tsv"

Normaliser = Callable[[str], str]


@dataclass(frozen=True)
class Case:
    category: str
    text: str
    expected: tuple[str, ...]  # acceptable readings, already canonical
    known_failure: bool
    note: str
    line: int


def canonical(text: str) -> str:
    """Lower case, ё -> е, every non-letter to a space, spaces collapsed."""
    text = text.lower().replace("ё", "е")
    return " ".join(re.sub(r"[\W\d_]+", " ", text).split())


def load_cases(path: Path = CASES_PATH) -> list[Case]:
    cases: list[Case] = []
    header_seen = False
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        if not header_seen:  # the column header row
            header_seen = True
            continue
        fields = raw.split("\t")
        if len(fields) < 4:
            raise ValueError(f"{path}:{number}: expected at least 4 tab-separated fields")
        category, text, expected, status = fields[:4]
        if status not in ("ok", "known"):
            raise ValueError(f"{path}:{number}: status must be 'ok' or 'known', not {status!r}")
        readings = tuple(canonical(reading) for reading in expected.split("|"))
        note = fields[4] if len(fields) > 4 else ""
        cases.append(Case(category, text, readings, status == "known", note, number))
    return cases


def passes(normaliser: Normaliser, case: Case) -> bool:
    return canonical(normaliser(case.text)) in case.expected


def score(normaliser: Normaliser, cases: Iterable[Case]) -> dict[str, tuple[int, int]]:
    """Category -> (passed, total); the key "all" holds the totals."""
    passed: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for case in cases:
        ok = passes(normaliser, case)
        for key in (case.category, "all"):
            total[key] += 1
            passed[key] += ok
    return {key: (passed[key], total[key]) for key in total}


def candidates() -> dict[str, Normaliser]:
    """The normalisers compared on the table, by name."""
    from ai_pipeline.text import normalize as nz

    return {
        "project": nz.normalize_project_only,
        "ru-normalizr": nz.normalize_ru_normalizr_only,
        "combined": nz.normalize_for_speech,
    }


def time_per_sentence(normaliser: Normaliser, texts: list[str], repeats: int = 3) -> float:
    """Mean milliseconds per sentence over ``texts`` (after one warm-up pass)."""
    for text in texts:
        normaliser(text)
    start = time.perf_counter()
    for _ in range(repeats):
        for text in texts:
            normaliser(text)
    return (time.perf_counter() - start) * 1000 / (repeats * len(texts))


def main() -> None:
    cases = load_cases()
    normalisers = candidates()
    scores = {name: score(fn, cases) for name, fn in normalisers.items()}
    categories = sorted({case.category for case in cases}) + ["all"]
    names = list(normalisers)
    print(f"{'category':<14}" + "".join(f"{name:>16}" for name in names))
    for category in categories:
        row = "".join(f"{'%d/%d' % scores[name][category]:>9} {100 * scores[name][category][0] / scores[name][category][1]:4.0f}% " for name in names)
        print(f"{category:<14}{row}")
    texts = [case.text for case in cases]
    print()
    for name, fn in normalisers.items():
        print(f"{name:<14} {time_per_sentence(fn, texts):7.3f} ms per sentence")
    failing = [case for case in cases if not passes(normalisers["combined"], case)]
    if failing:
        print("\ncombined, failing rows:")
        for case in failing:
            mark = "known" if case.known_failure else "NEW"
            print(f"  [{mark}] {case.category}: {case.text!r} -> {normalisers['combined'](case.text)!r}")


if __name__ == "__main__":
    main()
