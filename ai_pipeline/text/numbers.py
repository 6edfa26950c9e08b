"""Spell out numbers in Russian text: dates, times, years, money, units, ordinals, plain numbers.

Rules run in order (most specific first) over the whole text; each is a regex plus a function that
returns the spoken form. The case of a numeral follows the preposition in front of it where that is
unambiguous ("до 5 дней" -> "до пяти дней"); everything else is nominative.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ai_pipeline.text import lexicon as lx
from ai_pipeline.text.numwords import (
    Forms,
    cardinal,
    count_phrase,
    ordinal,
    parse_number,
    spell_digits,
)

Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]

_SIGN = r"(?:(?<![\w])[-−])?"
NUM = rf"{_SIGN}(?<!\d)\d+(?:[.,]\d+)?"
_RANGE = rf"(?P<num>{NUM}(?:\s?[-–—]\s?\d+(?:[.,]\d+)?)?)"
_END = r"(?![\w])"
_MONTH = "|".join(lx.MONTHS_GENITIVE)
_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}


def _preposition(m: re.Match[str]) -> str:
    """The word right before the match, lower-cased ("" at the start of text)."""
    found = re.search(r"(\w+)\s*$", m.string[: m.start()])
    return found.group(1).lower() if found else ""


def _case_after(m: re.Match[str], table: dict[str, str] = lx.PREPOSITION_CASE, default: str = "n") -> str:
    return table.get(_preposition(m), default)


def _range_words(token: str, case: str, gender: str, forms: Forms | None = None) -> str:
    """"5-7" -> "пять-семь" (+ a noun agreeing with the last number)."""
    *heads, last = re.split(r"(?<=\d)\s?[-–—]\s?(?=\d)", token)
    words = [_number(h, case, gender) for h in heads]
    words.append(_number(last, case, gender) if forms is None else count_phrase(last, forms, gender, case))
    return "-".join(words)


def _number(token: str, case: str, gender: str) -> str:
    value, spoken = parse_number(token)
    return spoken if value is None else cardinal(value, case, gender)


def _date_case(m: re.Match[str]) -> str:
    """Case of a day of the month: after a preposition its case; nominative where the date is a name
    (text start, after ":" or a dash, "сегодня", "это"); otherwise genitive ("Родился 12 апреля")."""
    before = m.string[: m.start()].rstrip()
    if not before or before[-1] in ":—–-(«\"":
        return "n"
    word = _preposition(m)
    if word in lx.DATE_PREPOSITION_CASE:
        return lx.DATE_PREPOSITION_CASE[word]
    if word in lx.DATE_NOMINATIVE_CUES or before[-1] in ".!?,;":
        return "n"
    return "g"


def _date_numeric(m: re.Match[str]) -> str:
    day, month, year = int(m["d"]), int(m["m"]), m["y"]
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return m.group(0)
    spoken = f"{ordinal(day, _date_case(m), 'n')} {lx.MONTHS_GENITIVE[month - 1]}"
    return f"{spoken} {ordinal(int(year), 'g')} года" if year else spoken


def _date_first_day(m: re.Match[str]) -> str:
    """The first day of "с 1 по 10 апреля", whose month is written only after the second."""
    return ordinal(int(m["a"]), _date_case(m), "n")


def _date_text(m: re.Match[str]) -> str:
    case = _date_case(m)
    days = "-".join(ordinal(int(d), case, "n") for d in re.split(r"\s?[-–—]\s?", m["d"]))
    spoken = f"{days} {m['month']}"
    if m["y"]:
        spoken += f" {ordinal(int(m['y']), 'g')} года"
    return spoken


def _year_range(m: re.Match[str]) -> str:
    case = _case_after(m, lx.YEAR_PREPOSITION_CASE)
    return f"{ordinal(int(m['a']), case)} - {ordinal(int(m['b']), case)} {lx.YEARS_WORD[case]}"


def _year(m: re.Match[str]) -> str:
    word = m["word"]
    if word.startswith("г."):
        case = _case_after(m, lx.YEAR_PREPOSITION_CASE)
    else:
        case = {"год": "n", "года": "g", "годом": "i"}.get(word, "d" if _preposition(m) in ("к", "ко") else "p")
    return f"{ordinal(int(m['y']), case)} {lx.YEAR_WORD[case]}"


def _time(m: re.Match[str]) -> str:
    case = _case_after(m)
    hours = cardinal(int(m["h"]), case)
    minutes = int(m["min"])
    if minutes == 0:
        return f"{hours} ноль ноль"
    # "с 10:30" -> "с десяти тридцати": the minutes agree with the hours.
    return f"{hours} {'ноль ' if minutes < 10 else ''}{cardinal(minutes, case, 'f')}"


def _phone_group(group: str) -> str:
    """A group of a phone number: "345" -> "триста сорок пять", "012" -> "ноль двенадцать"."""
    if group.startswith("0"):
        rest = group[1:]
        return "ноль" + (" " + _phone_group(rest) if rest else "")
    return cardinal(int(group))


def _phone(m: re.Match[str]) -> str:
    head = "плюс семь" if m["cc"] == "+7" else "восемь"
    return ", ".join([head, *(_phone_group(m[g]) for g in ("a", "b", "c", "d"))])


def _money_with_cents(m: re.Match[str]) -> str:
    forms, gender = lx.find_entry(lx.CURRENCIES, m["cur"])
    minor_forms, minor_gender = lx.CURRENCY_MINOR[forms[0]]
    major = count_phrase(m["major"], forms, gender)
    if int(m["minor"]) == 0:
        return major
    return f"{major} {count_phrase(m['minor'], minor_forms, minor_gender)}"


def _scaled(m: re.Match[str]) -> str:
    forms, gender = lx.find_entry(lx.SCALES, m["scale"])
    spoken = _range_words(m["num"], _case_after(m), gender, forms)
    if m["unit"]:
        spoken += " " + _unit_entry(m["unit"])[0][2]
    return spoken


def _unit_entry(unit: str) -> tuple[Forms, str]:
    try:
        return lx.find_entry(lx.CURRENCIES, unit)
    except KeyError:
        return lx.find_entry(lx.UNITS, unit)


def _with_unit(m: re.Match[str]) -> str:
    forms, gender = _unit_entry(m["unit"])
    return _range_words(m["num"], _case_after(m), gender, forms)


def _ordinal_suffix(m: re.Match[str]) -> str:
    number = int(m["n"])
    case, gender, plural = lx.ORDINAL_SUFFIXES[m["suffix"].lower()]
    if m["suffix"] == "е" and (number % 10 == 0 and number >= 20 or m.string[m.end():].lstrip().startswith("год")):
        plural = True
    return ordinal(number, case, gender, plural)


def _roman_value(numeral: str) -> int:
    values = [_ROMAN[ch] for ch in numeral]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))


def _century(m: re.Match[str]) -> str:
    word = m["word"]
    case = {"век": "n", "в.": "n", "века": "g", "веке": "p", "веку": "d", "веком": "i"}.get(word, "n")
    noun = "век" if word == "в." else "века" if word == "вв." else word
    return f"{ordinal(_roman_value(m['r']), case)} {noun}"


def _digit_groups(m: re.Match[str]) -> str:
    return " ".join(spell_digits(g) if g.startswith("0") else cardinal(int(g)) for g in re.split(r"-", m.group(0)))


def _agreement(m: re.Match[str], value: int, case: str) -> tuple[str, str]:
    """Guess (case, gender) of a numeral from the noun after it: "1 книгу" -> accusative feminine."""
    following = re.match(r"\s*([а-яё]+)", m.string[m.end():])
    if case == "i":
        return case, "m"
    if not following or abs(value) % 100 in (11, 12) or case != "n":
        return case, "m"
    word, last_digit = following.group(1), abs(value) % 10
    if last_digit == 1 and word[-1] in "ую":
        return "a", "f"
    if last_digit == 1 and word[-1] in "ая":
        return "n", "f"
    if last_digit == 1 and word[-1] in "оеё":
        return "n", "n"
    if last_digit == 2 and word[-1] in "ыи":
        return "n", "f"
    return "n", "m"


def _plain_case(m: re.Match[str]) -> str:
    """Preposition case, except "с 2 друзьями": "с" before an instrumental plural noun."""
    if _preposition(m) in ("с", "со") and re.match(r"\s*[а-яё]+(?:ами|ями)\b", m.string[m.end():]):
        return "i"
    return _case_after(m)


def _plain(m: re.Match[str]) -> str:
    token = m.group(0)
    if re.fullmatch(r"0\d+", token):
        return spell_digits(token)
    value, spoken = parse_number(token)
    if value is None:
        return spoken
    return cardinal(value, *_agreement(m, value, _plain_case(m)))


def _plain_range(m: re.Match[str]) -> str:
    last = re.split(r"[-–—]\s?", m.group(0))[-1]
    value = parse_number(last)[0]
    case, gender = (_case_after(m), "m") if value is None else _agreement(m, value, _case_after(m))
    return _range_words(m.group(0), case, gender)


_UNIT_RE = lx.alternation(lx.CURRENCIES | lx.UNITS)
_SCALE_RE = lx.alternation(lx.SCALES)
_CUR_RE = lx.alternation(lx.CURRENCIES)
_SUFFIX_RE = "|".join(sorted(lx.ORDINAL_SUFFIXES, key=len, reverse=True))

def _rule(pattern: str, handler: Callable[[re.Match[str]], str], ignore_case: bool = False) -> Rule:
    return re.compile(pattern, re.IGNORECASE if ignore_case else 0), handler


# Russian phone numbers: +7 or 8, then 3-3-2-2 digits with optional spaces, hyphens, brackets.
_PHONE = re.compile(
    r"(?<![\w+.])(?P<cc>\+7|8)[\s-]*\(?(?P<a>\d{3})\)?[\s-]*(?P<b>\d{3})[\s-]*(?P<c>\d\d)[\s-]*(?P<d>\d\d)(?![\d-])"
)

# Most specific first: a date must be read before its parts look like plain numbers.
RULES: tuple[Rule, ...] = (
    _rule(r"(?<![\d.])(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4}|\d{2})(?![\d.]\d)(?:\s*(?:г\.|года?|году))?",
          _date_numeric),
    _rule(r"\b(?P<y>\d{4})-(?P<m>\d\d)-(?P<d>\d\d)\b", _date_numeric),
    # "03.04": a day with a leading zero and a month, no year (a decimal never starts with "0" + digit).
    _rule(r"(?<![\d.,])(?P<d>0[1-9])\.(?P<m>0[1-9]|1[0-2])(?![\d.,]?\d)(?P<y>)", _date_numeric),
    _rule(rf"\b(?P<a>\d{{1,2}})(?=\s+(?:по|до|и|или)\s+\d{{1,2}}\s+(?:{_MONTH})\b)", _date_first_day,
          ignore_case=True),
    _rule(rf"\b(?P<d>\d{{1,2}}(?:\s?[-–—]\s?\d{{1,2}})?)\s+(?P<month>{_MONTH})\b"
          rf"(?:\s+(?P<y>\d{{4}})(?:\s*(?:г\.|года|году|год)(?!\w))?)?", _date_text, ignore_case=True),
    _rule(r"\b(?P<a>\d{4})\s?[-–—]\s?(?P<b>\d{4})\s*(?:гг\.|годы|годах|годов)", _year_range),
    _rule(r"\b(?P<a>\d{4})(?=\s+(?:по|и|или)\s+\d{4}\s*(?:г\.|год|года|году)(?!\w))",
          lambda m: ordinal(int(m["a"]), _case_after(m, lx.YEAR_PREPOSITION_CASE, "n"))),
    _rule(r"\b(?P<y>\d{1,4})\s*(?P<word>г\.)(?=\s*(?:до\s+)?нашей\s+эры)", _year),
    _rule(r"\b(?P<y>\d{4})\s*(?P<word>г\.|гг\.|годом|году|года|год)(?!\w)", _year),
    _rule(r"\b(?P<y>\d{3})\s*(?P<word>годом|году|года|год)(?!\w)", _year),
    _rule(r"(?<![\d:])\b(?P<h>[01]?\d|2[0-3]):(?P<min>[0-5]\d)\b(?::\d\d)?", _time),
    _rule(rf"(?P<cur>[$€£₽])\s?(?P<num>{NUM})(?:\s?(?P<scale>{_SCALE_RE}){_END})?",
          lambda m: " ".join(filter(None, (m["num"], m["scale"], m["cur"])))),
    _rule(rf"(?<![\d.,])(?P<major>\d+)[.,](?P<minor>\d\d)\s*(?P<cur>{_CUR_RE}){_END}", _money_with_cents),
    _rule(rf"{_RANGE}\s?(?P<scale>{_SCALE_RE}){_END}(?:\s?(?P<unit>{_UNIT_RE}){_END})?", _scaled),
    _rule(rf"{_RANGE}\s?(?P<unit>{_UNIT_RE}){_END}", _with_unit),
    _rule(rf"\b(?P<n>\d+)-(?P<suffix>{_SUFFIX_RE})\b", _ordinal_suffix, ignore_case=True),
    _rule(r"\b(?P<r>[IVXLC]+)\s+(?P<word>веком|веке|веку|века|век|вв\.|в\.)(?!\w)", _century),
    _rule(r"\b\d+(?:-\d+){2,}\b", _digit_groups),
    _rule(r"\b\d+(?:\.\d+){2,}\b", lambda m: " точка ".join(cardinal(int(p)) for p in m.group(0).split("."))),
    _rule(rf"{NUM}\s?[-–—]\s?\d+(?:[.,]\d+)?(?!\d)", _plain_range),
    _rule(NUM, _plain),
)


def expand_numbers(text: str) -> str:
    """Replace every number in ``text`` with Russian words."""
    text = re.sub(r"(?<=\d)\s*>\s*(?=[-−]?\d)", " больше ", text)
    text = re.sub(r"(?<=\d)\s*<\s*(?=[-−]?\d)", " меньше ", text)
    text = re.sub(r"(?<=\d)\s+−\s+(?=\d)", " минус ", text)  # U+2212; a spaced hyphen is a range
    text = _PHONE.sub(_phone, text)  # before digit groups are joined into thousands
    text = re.sub(r"(?<![\d,.])(\d{1,3})((?:[ \u00a0\u202f]\d{3})+)(?![\d])(?![.,]\d{3})",
                  lambda m: m.group(0).replace(" ", "").replace("\u00a0", "").replace("\u202f", ""), text)
    text = re.sub(r"(\d)(?=[^\W\d_])", r"\1 ", text)
    text = re.sub(r"(?<=[^\W\d_])(\d)", r" \1", text)
    for pattern, spoken in RULES:
        text = pattern.sub(spoken, text)
    return text


__all__ = ["expand_numbers"]
