"""How the components see a sentence: without spaces and punctuation, numbers in one form, and as
toneless pinyin, so that a recogniser's same-sound character (就命 for 救命) reads the same."""

import re
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

_NOT_TEXT = re.compile(r"[\s，。！？、,.!?~…：:；;“”\"'（）()【】\[\]《》<>·\-]+")
_DIGITS = str.maketrans("0123456789", "零一二三四五六七八九")


def normal(text: str) -> str:
    """Lower case, no spaces or punctuation, digits as the numerals a recogniser writes (幺 = 一)."""
    return normal_with_places(text)[0]


def normal_with_places(text: str) -> tuple[str, list[int]]:
    """`normal(text)` and, for each of its characters, where it stands in `text` (for entity spans)."""
    kept, places = [], []
    for i, char in enumerate(text.lower()):
        if _NOT_TEXT.fullmatch(char):
            continue
        kept.append("一" if char == "幺" else char.translate(_DIGITS))
        places.append(i)
    return "".join(kept), places


@lru_cache(maxsize=40000)
def _syllable(char: str, tones: bool) -> str:
    if not "\u4e00" <= char <= "\u9fff":
        return char
    return lazy_pinyin(char, style=Style.TONE3 if tones else Style.NORMAL, errors="default")[0]


def syllables(text: str, tones: bool = False) -> list[str]:
    """One syllable per character of `normal(text)`, toneless unless `tones` (other characters
    stand for themselves). With tones, 就明 (jiu4 ming2) is not 救命 (jiu4 ming4); 就命 is."""
    return [_syllable(char, tones) for char in normal(text)]
