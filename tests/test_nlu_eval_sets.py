"""The evaluation sets (and the older held-out set, tests/nlu_test_set.yml) stay apart from the
training data: no training example equals or nearly equals a test sentence (after dropping spaces
and punctuation: edit distance ≤ 2 for sentences of 8 characters or more, ≤ 1 for 5–7, equal for
3–4). Answers of one or two characters (对, 不是, 你好, 早) are the language itself, not a sentence
anyone wrote: both sides may have them.
Runs in the app environment."""

import re
from pathlib import Path

from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cdist

from tests.nlu_eval import sets
from tests.test_nlu_quality import examples

ROOT = Path(__file__).resolve().parents[1]
NOT_TEXT = re.compile(r"[\s，。！？、,.!?~…：:；;“”\"'（）()]+")


def normal(text: str) -> str:
    return NOT_TEXT.sub("", text)


def allowed_distance(text: str) -> int:
    return 2 if len(text) >= 8 else 1 if len(text) >= 5 else 0 if len(text) >= 3 else -1


def training_sentences() -> list[str]:
    return [t for f in sorted((ROOT / "nlu_data" / "nlu").glob("*.yml")) for v in examples(f).values() for t in v]


def held_out_sentences() -> list[str]:
    return [t for v in examples(ROOT / "tests" / "nlu_test_set.yml").values() for t in v]


def test_no_training_example_is_a_test_sentence_or_nearly_one() -> None:
    tests = sorted({normal(t) for t in [*sets.every_sentence(), *held_out_sentences()]})
    training = sorted({normal(t) for t in training_sentences()})
    distances = cdist(tests, training, scorer=Levenshtein.distance, score_cutoff=2, workers=1)
    near = [
        (test, training[j])
        for i, test in enumerate(tests)
        for j in (distances[i] <= 2).nonzero()[0]
        if distances[i][j] <= min(allowed_distance(test), allowed_distance(training[j]))
    ]
    assert not near, f"{len(near)} training examples are (nearly) test sentences, e.g. {near[:10]}"


def test_the_sets_cover_what_the_evaluation_needs() -> None:
    cases = sets.writers()
    count = lambda **want: sum(all(getattr(c, k) == v for k, v in want.items()) for c in cases)  # noqa: E731
    for intent in ("ask_service_hours", "ask_policy", "book_taxi", "book_stair_climber", "file_request",
                   "check_status", "cancel_booking"):  # fmt: skip
        assert count(intent=intent, not_emergency="") >= 40, intent
    for intent in ("greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "help", "repeat",
                   "human_handoff", "inform"):  # fmt: skip
        assert count(intent=intent) >= 15, intent
    assert count(intent="out_of_scope", not_emergency="") >= 200
    assert count(intent="emergency") >= 80
    assert sum(bool(c.not_emergency) for c in cases) >= 80
    kinds = {c.values.get("emergency_type") for c in cases if c.intent == "emergency"}
    assert kinds == {"急病受伤", "火灾", "燃气泄漏", "治安", "电梯困人", "诈骗"}
    assert len([c for c in sets.public() if c.intent == "book_taxi"]) >= 300
