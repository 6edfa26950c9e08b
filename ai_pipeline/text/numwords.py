"""Russian number words: cardinals, ordinals and noun agreement on top of ``num2words``.

Cases use num2words' one-letter codes: ``n`` nominative, ``g`` genitive, ``d`` dative,
``a`` accusative, ``i`` instrumental, ``p`` prepositional. Genders: ``m``, ``f``, ``n``.
"""

from __future__ import annotations

import re

from num2words import num2words

# A noun's three counting forms: (1 рубль, 2 рубля, 5 рублей).
Forms = tuple[str, str, str]

_DIGIT_NAMES = ("ноль", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять")
_MAX_WORDED = 10**15  # above this numbers are read digit by digit


def plural_form(number: int | None, forms: Forms) -> str:
    """Pick the noun form that agrees with ``number``; ``None`` (a fraction) takes the genitive singular."""
    if number is None:
        return forms[1]
    n = abs(number) % 100
    if 11 <= n <= 14:
        return forms[2]
    if n % 10 == 1:
        return forms[0]
    if 2 <= n % 10 <= 4:
        return forms[1]
    return forms[2]


_LEADING_ONE_THOUSAND = re.compile(r"^одн\w*\s+(?=тысяч)")


def _drop_leading_one(words: str, number: int) -> str:
    """num2words says "одна тысяча" ("одной тысячи", ...) for 1000..1999; speech says just "тысяча"."""
    if 1000 <= number < 2000:
        return _LEADING_ONE_THOUSAND.sub("", words)
    return words


def spell_digits(digits: str) -> str:
    """Read a digit string one digit at a time ("007" -> "ноль ноль семь")."""
    return " ".join(_DIGIT_NAMES[int(d)] for d in digits if d.isdigit())


def cardinal(number: int, case: str = "n", gender: str = "m") -> str:
    """Cardinal number in a case and gender ("2", "f" -> "две"); inanimate accusative."""
    if abs(number) >= _MAX_WORDED:
        return ("минус " if number < 0 else "") + spell_digits(str(abs(number)))
    words = num2words(abs(number), lang="ru", case=case, gender=gender, animate=False)
    words = _drop_leading_one(words, abs(number))
    return f"минус {words}" if number < 0 else words


def ordinal(number: int, case: str = "n", gender: str = "m", plural: bool = False) -> str:
    """Ordinal number ("22", gender "n" -> "двадцать второе")."""
    if abs(number) >= _MAX_WORDED:
        return spell_digits(str(number))
    return num2words(number, lang="ru", to="ordinal", case=case, gender=gender, plural=plural, animate=False)


def decimal(integer_part: str, fraction: str) -> str:
    """Decimal fraction from its digit strings ("3", "5" -> "три целых пять десятых")."""
    fraction = fraction.rstrip("0")
    if not fraction:
        return cardinal(int(integer_part))
    if len(fraction) > 6:
        return f"{cardinal(int(integer_part))} запятая {spell_digits(fraction)}"
    words = num2words(f"{int(integer_part)}.{fraction}", lang="ru")
    return _drop_leading_one(words, int(integer_part))


def parse_number(token: str) -> tuple[int | None, str]:
    """Split "1 000", "3,5" or "-12.25" into (integer value or None for fractions, spoken words)."""
    token = token.replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
    sign = "минус " if token.startswith(("-", "−")) else ""
    token = token.lstrip("-−")
    whole, _, fraction = token.replace(",", ".").partition(".")
    if fraction.strip("0"):
        return None, sign + decimal(whole, fraction)
    value = int(whole)
    return (-value if sign else value), sign + cardinal(value)


def count_phrase(token: str, forms: Forms, gender: str = "m", case: str = "n") -> str:
    """A number with an agreeing noun ("2", минута forms, "f" -> "две минуты").

    In the genitive ("до 5 км") the noun takes the genitive plural except after a final 1.
    """
    value, words = parse_number(token)
    if value is None:
        return f"{words} {forms[1]}"
    if case != "g":  # other oblique cases need noun forms we do not tabulate
        return f"{cardinal(value, 'n', gender)} {plural_form(value, forms)}"
    noun = forms[1] if abs(value) % 10 == 1 and abs(value) % 100 != 11 else forms[2]
    return f"{cardinal(value, 'g', gender)} {noun}"
