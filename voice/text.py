"""Cleaning what Vosk hears: the Chinese models put a space between characters ("居 委 会"),
and numbers come as words ("一 三 八 …", "两 点 半") where the dialogue wants digits."""

import contextlib
import re

import cn2an

_CJK = r"[\u3400-\u9fff\uf900-\ufaff]"
_BETWEEN_CJK = re.compile(rf"(?<={_CJK})\s+(?={_CJK})")
_DIGIT_BY_DIGIT = str.maketrans("零〇一幺二两三四五六七八九洞", "00112234567890")
_SPOKEN_DIGITS = re.compile(r"[零〇一幺二两三四五六七八九洞]{5,}")


def join_chinese(text: str) -> str:
    """ "居 委 会 几 点 开 门" → "居委会几点开门"; spaces between Latin words are kept."""
    return _BETWEEN_CJK.sub("", " ".join(text.split()))


def numbers_to_digits(text: str) -> str:
    """Where a number is expected: digit strings said one by one ("一三八一二…") become digits,
    and counted numbers ("十二号楼", "两点半") become Arabic numerals (cn2an)."""
    text = _SPOKEN_DIGITS.sub(lambda m: m.group().translate(_DIGIT_BY_DIGIT), text)
    try:
        return str(cn2an.transform(text, "cn2an"))
    except (ValueError, KeyError, TypeError):  # cn2an refuses some mixtures: keep the words
        return text


def clean(text: str, *, expect_number: bool = False) -> str:
    joined = join_chinese(text)
    return numbers_to_digits(joined) if expect_number else joined


_HAN = re.compile(_CJK)


def grammar_phrase(phrase: str) -> str:
    """A button's words as a Vosk grammar phrase: Arabic numbers said as Chinese ("8点" → "八点"),
    punctuation and brackets dropped, and every Chinese character a word of its own — single
    characters are in the Chinese model's vocabulary where longer words may not be. Words in other
    scripts stay whole."""
    with contextlib.suppress(ValueError, KeyError, TypeError):
        phrase = str(cn2an.transform(phrase, "an2cn"))
    words = re.findall(rf"{_CJK}|[^\W\d_]+", phrase)
    return " ".join(w for w in words if _HAN.fullmatch(w) or not _HAN.search(w))
