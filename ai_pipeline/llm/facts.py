"""Light fact extraction from what the user says in Russian, with rules (no model, microseconds).

``extract_facts("Меня зовут Петя, мне 10 лет, я люблю футбол")`` ->
``{"name": "Петя", "age": "10", "likes": "футбол"}``. Values keep the user's own words (Russian
inflection is not undone, so the city stays "в Казани"), lowercased except names and places.
List facts ("likes", "dislikes", "pets", "topics") are comma-separated; :func:`merge_facts` folds new
ones into what is already known. A sentence that could be misread is skipped rather than guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from ai_pipeline.text.numwords import cardinal, ordinal

LIST_KEYS = ("likes", "dislikes", "pets", "topics")
MAX_LIST_ITEMS = 10
LABELS = {  # how a fact is introduced in the prompt
    "name": "Имя", "age": "Возраст", "grade": "Класс", "city": "Город", "likes": "Любит",
    "dislikes": "Не любит", "pets": "Питомцы", "topics": "Хотел(а) поговорить",
    "favorite_color": "Любимый цвет", "favorite_food": "Любимая еда", "favorite_animal": "Любимое животное",
    "favorite_cartoon": "Любимый мультфильм", "favorite_movie": "Любимый фильм", "favorite_book": "Любимая книга",
    "favorite_game": "Любимая игра", "favorite_song": "Любимая песня", "favorite_subject": "Любимый предмет",
    "favorite_sport": "Любимый спорт", "favorite_hero": "Любимый герой", "favorite_season": "Любимое время года",
}
FAVORITES = {"цвет": "favorite_color", "еда": "favorite_food", "блюдо": "favorite_food",
             "животное": "favorite_animal", "мультик": "favorite_cartoon", "мультфильм": "favorite_cartoon",
             "фильм": "favorite_movie", "книга": "favorite_book", "книжка": "favorite_book", "игра": "favorite_game",
             "песня": "favorite_song", "предмет": "favorite_subject", "урок": "favorite_subject",
             "спорт": "favorite_sport", "вид спорта": "favorite_sport", "герой": "favorite_hero",
             "персонаж": "favorite_hero", "время года": "favorite_season"}
PETS = {  # a form that follows "у меня есть" / "мой" / "моего ... зовут" -> its nominative
    "собака": "собака", "собаку": "собака", "собачка": "собачка", "собачку": "собачка", "пёс": "пёс", "пес": "пёс",
    "пса": "пёс", "щенок": "щенок", "щенка": "щенок", "кот": "кот", "кота": "кот", "котик": "котик",
    "котика": "котик", "котёнок": "котёнок", "котенок": "котёнок", "котёнка": "котёнок", "котенка": "котёнок",
    "кошка": "кошка", "кошку": "кошка", "кошечка": "кошечка", "кошечку": "кошечка", "хомяк": "хомяк",
    "хомяка": "хомяк", "хомячок": "хомячок", "хомячка": "хомячок", "попугай": "попугай", "попугая": "попугай",
    "попугайчик": "попугайчик", "попугайчика": "попугайчик", "черепаха": "черепаха", "черепаху": "черепаха",
    "черепашка": "черепашка", "черепашку": "черепашка", "кролик": "кролик", "кролика": "кролик",
    "рыбки": "рыбки", "рыбок": "рыбки", "рыбка": "рыбка", "рыбку": "рыбка", "крыса": "крыса", "крысу": "крыса",
    "крыска": "крыска", "крыску": "крыска", "мышка": "мышка", "мышку": "мышка", "ёжик": "ёжик", "ежик": "ёжик",
    "ёжика": "ёжик", "ежика": "ёжик", "морская свинка": "морская свинка", "морскую свинку": "морская свинка",
    "шиншилла": "шиншилла", "шиншиллу": "шиншилла", "лошадь": "лошадь", "пони": "пони", "ящерица": "ящерица",
    "ящерицу": "ящерица", "улитка": "улитка", "улитку": "улитка", "канарейка": "канарейка", "канарейку": "канарейка",
    "собаки": "собаки", "кошки": "кошки", "котики": "котики", "хомяки": "хомяки", "попугаи": "попугаи",
    "кролики": "кролики", "черепахи": "черепахи",
}
NOT_NAMES = {"не", "тоже", "так", "да", "нет", "тут", "здесь", "дома", "рад", "рада", "готов", "готова", "сам",
             "сама", "понял", "поняла", "знаю", "всё", "все", "это", "никак", "просто", "очень", "уже", "ещё",
             "еще", "вот", "там", "как", "тот", "та", "ты", "вы", "он", "она"}
IRREGULAR_INSTRUMENTAL = {"павлом": "Павел", "львом": "Лев", "петром": "Пётр", "любовью": "Любовь"}
NOT_TOPICS = {"о себе", "про себя", "о тебе", "про тебя"}
NOT_ITEMS = {"тебя", "вас", "тебе", "вам", "его", "её", "ее", "их", "это", "всё", "все", "этого", "то", "так",
             "очень", "тоже", "когда", "что", "если", "как"}

_NUMBERS = {cardinal(n): n for n in range(1, 121)} | {cardinal(n).replace("ё", "е"): n for n in range(1, 121)}
_GRADES = {ordinal(n, case): n for n in range(1, 12) for case in "np"}
_GRADES |= {word.replace("ё", "е"): n for word, n in _GRADES.items()}


def _alternation(words: Iterable[str]) -> str:
    """A regex alternation, longest first so "одиннадцать" wins over "один"."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_I = re.IGNORECASE
_CLAUSES = re.compile(r"[.!?;\n]+")
_CONTRAST = re.compile(r",?\s+(?:но|а|зато|хотя|однако)\s+(?!ещё|еще|также|и\s)", _I)
_FILLER = re.compile(r"^(?:(?:а|и)\s+)?(?:ещё|еще|также|тоже|очень|больше\s+всего)\s+")
_NAME_INTRO = re.compile(r"(?:меня\s+зовут|мо[её]\s+имя|имя\s+у\s+меня)\s*(?:[—–:-]\s*)?(?P<name>[\w-]+)", _I)
_NAME_CALL = re.compile(r"(?:зови(?:те)?|называй(?:те)?|(?:можешь|можно)\s+(?:звать|называть))\s+меня\s+"
                        r"(?P<name>[\w-]+)", _I)
_NAME_I_AM = re.compile(r"(?:^|[\s,])[Яя]\s*(?:[—–-]\s*)?(?P<name>[А-ЯЁA-Z][а-яёa-z]+(?:-[А-ЯЁA-Z][а-яёa-z]+)?)"
                        r"(?=\s*(?:[,)]|\s+и\s|$))")
_AGE = re.compile(r"\bмне\s+(?:уже\s+|почти\s+|только\s+|всего\s+|исполнилось\s+|уже\s+исполнилось\s+)?"
                  rf"(?P<n>\d{{1,3}}|{_alternation(_NUMBERS)})(?:\s*(?:лет|год|года)\b|\s*(?=,|$))", _I)
_GRADE = re.compile(r"(?:\bя\b[^,]{0,20}?|\bучусь\s+|\bхожу\s+)\bв\s+(?:(?P<n>\d{1,2})(?:\s*-?\s*(?:м|ом|ем|й|ой))?|"
                    rf"(?P<w>{_alternation(_GRADES)}))\s+класс", _I)
_CITY = re.compile(r"(?:\b[Жж]ив(?:у|ём|ем)\s+(?P<prep>в|во|на)|\b[Яя]\s+(?:родом\s+)?(?P<from>из))\s+(?:городе\s+)?"
                   r"(?P<place>[А-ЯЁ][\w-]*(?:\s+[А-ЯЁ][\w-]*){0,2})")
_PET_NAME = r"(?:(?:,?\s*(?:его|её|ее|их)\s+зовут|\s+по\s+(?:имени|кличке)|\s+зовут)\s+(?P<called>[\w-]+)|" \
            r"\s+(?P<name>[А-ЯЁ][а-яё]+))?"
_PET = re.compile(rf"(?:\bу\s+меня\s+(?:(?:есть|ещё|еще|живёт|живет|живут)\s+)*(?:(?:одна|один|два|две|три|\d+)\s+)?|"
                  rf"\bмо(?:й|я|ю|его|и|их)\s+)"
                  rf"(?P<pet>{_alternation(PETS)})\b{_PET_NAME}", _I)
_PET_MORE = re.compile(rf"(?:\s*,\s*|\s+)(?:и\s+|а\s+)?(?:ещё\s+|еще\s+)?(?:(?:одна|один|два|две|три|\d+)\s+)?"
                       rf"(?P<pet>{_alternation(PETS)})\b{_PET_NAME}", _I)
_LIKE = re.compile(r"(?P<neg>\bне\s+(?:очень\s+|особо\s+|сильно\s+)?)?(?:\bлюблю|\bобожаю)|"
                   r"\bмне\s+(?:очень\s+|тоже\s+|больше\s+всего\s+)?(?P<neg2>не\s+)?нрав(?:ится|ятся|илось|ились)|"
                   r"(?P<hate>\bненавижу|\bтерпеть\s+не\s+могу)", _I)
_TRAILING = re.compile(r"(?:,?\s+(?:и|а|но|зато|хотя|однако)|,)?(?:\s+я)?\s*$", _I)
_FAVORITE = re.compile(rf"\bмо(?:й|я|ё|е|и)\s+(?:самы[йея]\s+|самое\s+|самая\s+)?любим(?:ый|ая|ое|ые)\s+"
                       rf"(?P<noun>{_alternation(FAVORITES)})\s*(?:[—–:-]\s*|\s+это\s+|\s+)(?P<value>[^,]+)", _I)
_TOPIC = re.compile(r"(?:давай(?:те)?\s+(?:поговорим|поболтаем)|расскажи(?:те)?(?:\s+мне)?|хочу\s+поговорить|"
                    r"мне\s+интересно(?:\s+узнать)?)\s+(?P<topic>(?:о|об|обо|про)\s+[^,]+)", _I)


def _capitalise(name: str) -> str:
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def _valid_name(word: str) -> bool:
    return 2 <= len(word) <= 20 and word.replace("-", "").isalpha() and word.lower() not in NOT_NAMES


def _nominative(name: str) -> str:
    """Undo the instrumental of "зови меня Петей" (Петей -> Петя, Димой -> Дима, Иваном -> Иван)."""
    low = name.lower()
    if low in IRREGULAR_INSTRUMENTAL:
        return IRREGULAR_INSTRUMENTAL[low]
    for ending, repl in (("еем", "ей"), ("ой", "а"), ("ом", ""), ("ем", "ь")):
        if low.endswith(ending) and len(low) - len(ending) >= 3:
            return name[: -len(ending)] + repl
    if low.endswith("ей") and len(low) >= 4:
        return name[:-2] + ("а" if low[-3] in "шжчщц" else "я")
    return name


def _items(obj: str) -> list[str]:
    """Split "футбол, рисовать и собак" into items; an object that is a clause ("когда...") gives none."""
    if not obj[:1].isspace():  # "люблю, когда..." is about a situation, not a thing
        return []
    obj = re.split(r"\s+(?:потому|так\s+как|если|когда)\b|\s+[-—–]\s", obj.lower(), maxsplit=1)[0]
    obj = _CONTRAST.split(obj, maxsplit=1)[0].strip()
    parts = [_FILLER.sub("", p.strip(" \"'«»()")) for p in re.split(r",|\s+и\s+|\s+или\s+", obj)]
    if obj.split(" ", 1)[0] in NOT_ITEMS:
        return []
    return [p for p in parts if p and p not in NOT_ITEMS and len(p) <= 40 and len(p.split()) <= 4]


def _name(clause: str) -> str | None:
    for pattern, undo_case in ((_NAME_INTRO, False), (_NAME_CALL, True), (_NAME_I_AM, False)):
        match = pattern.search(clause)
        if match and _valid_name(match["name"]):
            name = _capitalise(match["name"])
            return _nominative(name) if undo_case else name
    return None


def _number(token: str) -> int | None:
    return int(token) if token.isdigit() else _NUMBERS.get(token.lower())


def _clause_facts(clause: str, found: dict[str, list[str]]) -> None:
    """Add what one clause (a sentence without its final punctuation) says about the user to ``found``."""

    def put(key: str, value: str) -> None:
        found.setdefault(key, []).append(value)

    if name := _name(clause):
        put("name", name)
    if (m := _AGE.search(clause)) and (n := _number(m["n"])) and 1 <= n <= 120:
        put("age", str(n))
    if m := _GRADE.search(clause):
        grade = int(m["n"]) if m["n"] else _GRADES[m["w"].lower()]
        if 1 <= grade <= 11:
            put("grade", str(grade))
    if m := _CITY.search(clause):
        put("city", f"{m['prep'] or m['from']} {m['place']}")
    for m in _PET.finditer(clause):
        while m:  # "у меня есть собака Бобик и кошка Мурка": the list goes on
            pet = PETS[" ".join(m["pet"].lower().split())]
            called = m["called"] or (m["name"] if m["name"] and m["name"][0].isupper() else None)
            put("pets", f"{pet} {_capitalise(called)}" if called and _valid_name(called) else pet)
            m = _PET_MORE.match(clause, m.end())
    for m in _FAVORITE.finditer(clause):
        value = " ".join(m["value"].lower().split()[:4])
        if value and value not in NOT_ITEMS:
            put(FAVORITES[" ".join(m["noun"].lower().split())], value)
    verbs = list(_LIKE.finditer(clause))  # "люблю футбол и не люблю суп": each verb's object ends at the next
    for m, after in zip(verbs, [v.start() for v in verbs[1:]] + [len(clause)]):
        for item in _items(_TRAILING.sub("", clause[m.end():after])):
            put("dislikes" if m["neg"] or m["neg2"] or m["hate"] else "likes", item)
    for m in _TOPIC.finditer(clause):
        topic = " ".join(m["topic"].lower().split()[:5])
        if topic not in NOT_TOPICS:
            put("topics", topic)


def extract_facts(text: str) -> dict[str, str]:
    """Facts about the user stated in ``text``; list facts joined with ", " (empty dict if none)."""
    found: dict[str, list[str]] = {}
    for clause in _CLAUSES.split(text):
        if clause.strip():
            _clause_facts(clause.strip(), found)
    facts: dict[str, str] = {}
    for key, values in found.items():
        if key in LIST_KEYS:
            facts[key] = ", ".join(dict.fromkeys(values))
        else:
            facts[key] = values[-1]  # the last statement wins ("я Петя... нет, меня зовут Павел")
    return facts


def split_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _merge_list(old: list[str], new: list[str]) -> list[str]:
    """Append ``new``; an old item equal to a new one, or a word prefix of it ("кот" < "кот Барсик"), goes."""
    out = list(old)
    for item in new:
        low = item.lower()
        out = [o for o in out if o.lower() != low and not low.startswith(o.lower() + " ")]
        out.append(item)
    return out[-MAX_LIST_ITEMS:]


def merge_facts(old: Mapping[str, str], new: Mapping[str, str]) -> dict[str, str]:
    """``old`` updated with ``new``: single facts are replaced, list facts are merged.

    Liking something takes it off "dislikes" and the other way round (people change their minds).
    """
    merged = dict(old)
    for key, value in new.items():
        if key not in LIST_KEYS:
            merged[key] = value
            continue
        items = split_list(value)
        merged[key] = ", ".join(_merge_list(split_list(merged.get(key, "")), items))
        opposite = {"likes": "dislikes", "dislikes": "likes"}.get(key)
        if opposite and opposite in merged:
            lowered = {i.lower() for i in items}
            kept = [o for o in split_list(merged[opposite]) if o.lower() not in lowered]
            merged[opposite] = ", ".join(kept)
    return {k: v for k, v in merged.items() if v}
