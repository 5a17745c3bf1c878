"""The NLU evaluation sets, kept apart from the training data (`nlu_data/`), and their noisy variants.

- `writers`: tests/nlu_eval/writer_*.yml, by independent writers who saw only the contract and
  the seeds (BRIEF.md says who wrote what);
- `noisy(cases, kind)`: each sentence with the errors a Mandarin recogniser makes — `homophone`
  (one or two characters replaced by a common character of the same pinyin), `drop` (a character
  left out), `numerals` (digits said as Chinese numerals, or Chinese numerals written as digits);
- `public`: user turns of CrossWOZ's train split asking for a taxi (`book_taxi`) and, from its
  other domains (hotels, restaurants, sights, metro), out-of-domain requests (`out_of_scope`);
  tests/nlu_eval/public/extract_crosswoz.py made them.

Nothing here is ever trained on; `tests/test_nlu_eval_sets.py` fails when a training example
equals or nearly equals one of these sentences.
"""

import random
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
CANONICAL_ENTITIES = ("facility", "policy_topic", "request_category", "emergency_type")
NOISE_KINDS = ("homophone", "drop", "numerals")


@dataclass(frozen=True)
class Case:
    text: str
    intent: str
    values: dict[str, str] = field(default_factory=dict)  # closed-set entity → canonical value
    not_emergency: str = ""  # prevention / past / lonely / everyday: must raise no alarm
    source: str = ""


def _load(path: Path, source: str) -> list[Case]:
    items = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("examples") or []
    return [
        Case(
            text=str(item["text"]).strip(),
            intent=item["intent"],
            values={k: item[k] for k in CANONICAL_ENTITIES if item.get(k)},
            not_emergency=item.get("not_emergency") or "",
            source=source,
        )
        for item in items
    ]


def writers() -> list[Case]:
    return [case for path in sorted(HERE.glob("writer_*.yml")) for case in _load(path, path.stem)]


def public() -> list[Case]:
    return [case for path in sorted((HERE / "public").glob("*.yml")) for case in _load(path, path.stem)]


def every_sentence() -> list[str]:
    return [case.text for case in writers() + public()]


# --- recognition noise --------------------------------------------------------------------------

DIGITS = "0123456789"
NUMERALS = "零一二三四五六七八九"


def _is_han(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff"


@lru_cache
def _homophones() -> dict[str, list[str]]:
    """Same pinyin (with tone) → the common characters that sound so. "Common" = GB2312 level 1,
    the 3,755 most used characters, which is what a recogniser's vocabulary writes."""
    from pypinyin import Style, pinyin

    by_sound: dict[str, list[str]] = {}
    for first in range(0xB0, 0xD8):
        for second in range(0xA1, 0xFF):
            try:
                char = bytes([first, second]).decode("gb2312")
            except UnicodeDecodeError:
                continue
            sound = pinyin(char, style=Style.TONE3, heteronym=False)[0][0]
            by_sound.setdefault(sound, []).append(char)
    return by_sound


def _sound(char: str) -> str:
    from pypinyin import Style, pinyin

    return str(pinyin(char, style=Style.TONE3, heteronym=False)[0][0])


def _rng(text: str, kind: str) -> random.Random:
    return random.Random(zlib.crc32(f"{kind}:{text}".encode()))


def homophone(text: str) -> str | None:
    """One character (two in a long sentence) replaced by another of the same sound."""
    rng = _rng(text, "homophone")
    table = _homophones()
    places = [i for i, c in enumerate(text) if _is_han(c) and len(table.get(_sound(c), [])) > 1]
    if not places:
        return None
    chars = list(text)
    for i in rng.sample(places, min(len(places), 1 if len(places) < 9 else 2)):
        chars[i] = rng.choice([c for c in table[_sound(chars[i])] if c != chars[i]])
    return "".join(chars)


def drop(text: str) -> str | None:
    """A character the recogniser did not catch (never in a sentence of three or fewer)."""
    places = [i for i, c in enumerate(text) if _is_han(c)]
    if len(places) <= 3:
        return None
    i = _rng(text, "drop").choice(places)
    return text[:i] + text[i + 1 :]


def numerals(text: str) -> str | None:
    """Digits as spoken numerals (138 → 一三八), or a run of spoken numerals as digits."""
    if any(c in DIGITS for c in text):
        return "".join(NUMERALS[int(c)] if c in DIGITS else c for c in text)
    changed, out, run = False, [], ""
    for char in text + "\0":
        if char in NUMERALS or char == "幺":
            run += char
            continue
        if len(run) >= 2:  # a run, not a lone 一 in 一下 / 一个
            out.append("".join(str(NUMERALS.index(c)) if c in NUMERALS else "1" for c in run))
            changed = True
        else:
            out.append(run)
        run = ""
        out.append(char)
    return "".join(out)[:-1] if changed else None


def noisy(cases: Iterable[Case], kind: str) -> list[Case]:
    """The variant of each case that the noise of `kind` changes (cases it cannot change are left out)."""
    make = {"homophone": homophone, "drop": drop, "numerals": numerals}[kind]
    found = []
    for case in cases:
        text = make(case.text)
        if text and text != case.text:
            found.append(replace(case, text=text, source=f"{case.source}+{kind}"))
    return found
