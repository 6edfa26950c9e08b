"""The hand-written Russian normalisation table (tests/data/text/normalisation_cases.tsv).

Every "ok" row must be read as expected by ``normalize_for_speech``; every "known" row must still
fail (so a fix is noticed and the row flipped to "ok"). Known failures stay under 10 % of the table,
and the chosen normaliser must score at least as well as each single one it combines.
"""

from __future__ import annotations

import concurrent.futures

import pytest

from ai_pipeline.text import normalize as nz
from ai_pipeline.text.evaluation import Case, canonical, load_cases, score

CASES = load_cases()


def _case_id(case: Case) -> str:
    return f"{case.category}:{case.line}"


def test_table_is_large_and_covers_every_category() -> None:
    assert len(CASES) >= 100
    categories = {case.category for case in CASES}
    assert {"date", "time", "money", "ordinal", "unit", "abbreviation", "latin", "phone", "roman",
            "fraction", "range", "sign"} <= categories
    assert all(case.expected and all(reading for reading in case.expected) for case in CASES)
    assert not any(ch.isdigit() for case in CASES for reading in case.expected for ch in reading)


def test_known_failures_are_few_and_explained() -> None:
    known = [case for case in CASES if case.known_failure]
    assert len(known) < 0.1 * len(CASES)
    assert all(case.note for case in known)


@pytest.mark.parametrize("case", [c for c in CASES if not c.known_failure], ids=_case_id)
def test_row_is_read_as_expected(case: Case) -> None:
    spoken = nz.normalize_for_speech(case.text)
    assert canonical(spoken) in case.expected, spoken


@pytest.mark.parametrize("case", [c for c in CASES if c.known_failure], ids=_case_id)
def test_known_failure_still_fails(case: Case) -> None:
    spoken = nz.normalize_for_speech(case.text)
    assert canonical(spoken) not in case.expected, f"now passes ({spoken!r}): mark the row 'ok'"


def test_chosen_normaliser_beats_or_equals_each_single_one() -> None:
    chosen = score(nz.normalize_for_speech, CASES)["all"][0]
    assert chosen >= score(nz.normalize_project_only, CASES)["all"][0]
    assert chosen >= score(nz.normalize_ru_normalizr_only, CASES)["all"][0]


def test_output_has_no_digits() -> None:
    for case in CASES:
        spoken = nz.normalize_for_speech(case.text)
        assert not any(ch.isdigit() for ch in spoken), (case.text, spoken)


def test_thread_safe() -> None:
    texts = [case.text for case in CASES]
    expected = [nz.normalize_for_speech(text) for text in texts]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            assert list(pool.map(nz.normalize_for_speech, texts)) == expected

