"""Language-neutral text helpers shared by ingestion and querying.

Numbers written as words (French with Belgian and Swiss forms, English, Dutch) are read as
integers so that "septante-huit", "seventy-eight", "achtenzeventig" and "78" meet.
"""

from __future__ import annotations

import re
import unicodedata

_FR_UNITS = {
    "zéro": 0,
    "zero": 0,
    "un": 1,
    "une": 1,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "cinq": 5,
    "six": 6,
    "sept": 7,
    "huit": 8,
    "neuf": 9,
    "dix": 10,
    "onze": 11,
    "douze": 12,
    "treize": 13,
    "quatorze": 14,
    "quinze": 15,
    "seize": 16,
}
_FR_TENS = {
    "vingt": 20,
    "vingts": 20,
    "trente": 30,
    "quarante": 40,
    "cinquante": 50,
    "soixante": 60,
    "septante": 70,
    "huitante": 80,
    "octante": 80,
    "nonante": 90,
}
_EN_UNITS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_EN_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_NL_UNITS = {
    "nul": 0,
    "een": 1,
    "één": 1,
    "twee": 2,
    "drie": 3,
    "vier": 4,
    "vijf": 5,
    "zes": 6,
    "zeven": 7,
    "acht": 8,
    "negen": 9,
    "tien": 10,
    "elf": 11,
    "twaalf": 12,
    "dertien": 13,
    "veertien": 14,
    "vijftien": 15,
    "zestien": 16,
    "zeventien": 17,
    "achttien": 18,
    "negentien": 19,
}
_NL_TENS = {
    "twintig": 20,
    "dertig": 30,
    "veertig": 40,
    "vijftig": 50,
    "zestig": 60,
    "zeventig": 70,
    "tachtig": 80,
    "negentig": 90,
}
_SCALES = {
    "cent": 100,
    "cents": 100,
    "hundred": 100,
    "honderd": 100,
    "mille": 1000,
    "thousand": 1000,
    "duizend": 1000,
    "million": 10**6,
    "millions": 10**6,
    "miljoen": 10**6,
    "milliard": 10**9,
    "milliards": 10**9,
    "billion": 10**9,
    "miljard": 10**9,
}
_SMALL = {**_FR_UNITS, **_EN_UNITS, **_NL_UNITS}
_TENS = {**_FR_TENS, **_EN_TENS, **_NL_TENS}
_NL_COMPOUND = re.compile(
    r"^(een|één|twee|drie|vier|vijf|zes|zeven|acht|negen)(?:en|ën)"
    r"(twintig|dertig|veertig|vijftig|zestig|zeventig|tachtig|negentig)$"
)
_JOINERS = {"et", "and", "en"}
# Articles that are also the number one: only a number inside a longer number phrase.
_AMBIGUOUS_ALONE = {"un", "une", "one", "een", "neuf", "six", "sept", "cent", "en"}
# …but "six ans", "sept fois", "neuf caméras": a number before a plural noun.
_NOT_ARTICLES = {"neuf", "six", "sept", "cent"}
_PLURAL_NOUN_NEXT = re.compile(r"\s+[a-zà-ÿ][^\W\d_]*[sx]\b")
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*", re.UNICODE)


def _word_value(word: str) -> int | None:
    if word in _SMALL:
        return _SMALL[word]
    if word in _TENS:
        return _TENS[word]
    if word in _SCALES:
        return _SCALES[word]
    match = _NL_COMPOUND.match(word)
    if match:
        return _NL_UNITS[match.group(1)] + _NL_TENS[match.group(2)]
    return None


def _combine(parts: list[str]) -> int | None:
    """Value of a run of number words, or None when the run is not a well-formed number."""
    total, current = 0, 0
    previous = ""
    for part in parts:
        if part in _JOINERS:
            continue
        value = _word_value(part)
        if value is None:
            return None
        if value < 10 and previous and (_word_value(previous) or 0) < 10:
            return None  # "une une", "deux trois": two numbers, not one
        if part in ("vingt", "vingts") and previous == "quatre":
            current += 80 - 4
        elif value == 100:
            current = (current or 1) * 100
        elif value >= 1000:
            total += (current or 1) * value
            current = 0
        else:
            current += value
        previous = part
    return total + current


def number_words(text: str) -> list[tuple[int, int, int]]:
    """Numbers written as words in `text`: (start, end, value), e.g. "septante-huit" -> 78."""
    found: list[tuple[int, int, int]] = []
    run: list[tuple[int, int, list[str]]] = []

    def flush() -> None:
        while run and run[-1][2][-1] in _JOINERS:
            run.pop()
        if not run:
            return
        parts = [p for _, _, ps in run for p in ps]
        meaningful = [p for p in parts if p not in _JOINERS]
        if len(meaningful) == 1 and meaningful[0] in _AMBIGUOUS_ALONE:
            counts_a_noun = meaningful[0] in _NOT_ARTICLES and _PLURAL_NOUN_NEXT.match(
                text, run[-1][1]
            )
            if not counts_a_noun:
                run.clear()
                return
        value = _combine(parts)
        if value is not None:
            found.append((run[0][0], run[-1][1], value))
        run.clear()

    for match in _WORD.finditer(text):
        word = match.group(0).lower()
        parts = word.split("-")
        is_number = all(_word_value(p) is not None or p in _JOINERS for p in parts)
        is_number = is_number and any(p not in _JOINERS for p in parts)
        gap = text[run[-1][1] : match.start()] if run else ""
        if is_number and (not run or gap.strip() == ""):
            run.append((match.start(), match.end(), parts))
        elif word in _JOINERS and run and gap.strip() == "":
            run.append((match.start(), match.end(), [word]))
        else:
            flush()
            if is_number:
                run.append((match.start(), match.end(), parts))
    flush()
    return found


_DIGITS = re.compile(r"(?<![\w.,])\d{1,3}(?:[ \u202f\u00a0.]\d{3})+(?![\w])|\d+")


def number_spans(text: str) -> list[tuple[int, int, int]]:
    """Every integer in `text`, written in digits or in words: (start, end, value), in order."""
    spans = list(number_words(text))
    for match in _DIGITS.finditer(text):
        digits = re.sub(r"\D", "", match.group(0))
        if digits and len(digits) <= 12:
            spans.append((match.start(), match.end(), int(digits)))
    return sorted(spans)


def numbers_in(text: str) -> set[int]:
    """Every integer in `text`, written in digits or in words."""
    return {value for _, _, value in number_spans(text)}


def with_number_digits(text: str) -> str:
    """`text` followed by the digits of its number words, for lexical matching."""
    values = [str(value) for _, _, value in number_words(text)]
    return f"{text} {' '.join(values)}" if values else text


def fold(text: str) -> str:
    """Lower-case, accent-free, typographic apostrophes and spaces unified: for matching."""
    text = text.replace("’", "'").replace("‘", "'").replace("\u00a0", " ").replace("\u202f", " ")
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", text).strip()
