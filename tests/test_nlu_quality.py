"""The NLU on the held-out test set (run by `make test` with `rasa test nlu` before pytest). That
it stays apart from the training data is checked with the other sets, by one rule, in
tests/test_nlu_eval_sets.py."""

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "results" / "nlu" / "intent_report.json"
CONTRACT_INTENTS = {
    "greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "help", "repeat", "human_handoff",
    "emergency", "out_of_scope", "ask_service_hours", "ask_policy", "book_taxi", "book_stair_climber",
    "file_request", "check_status", "cancel_booking", "inform",
}  # fmt: skip
ANNOTATION = re.compile(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\})")


def examples(path: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
        if "intent" in block:
            lines = [line[2:].strip() for line in block["examples"].splitlines() if line.startswith("- ")]
            found.setdefault(block["intent"], []).extend(ANNOTATION.sub(r"\1", line) for line in lines)
    return found


def test_test_set_covers_every_intent_with_at_least_8_examples() -> None:
    test_set = examples(ROOT / "tests" / "nlu_test_set.yml")
    assert set(test_set) == CONTRACT_INTENTS
    assert min(len(v) for v in test_set.values()) >= 8


def test_training_data_has_25_examples_for_each_intent() -> None:
    counts: dict[str, int] = {}
    for f in (ROOT / "nlu_data" / "nlu").glob("*.yml"):
        for intent, texts in examples(f).items():
            counts[intent] = counts.get(intent, 0) + len(texts)
    assert set(counts) == CONTRACT_INTENTS
    assert min(counts.values()) >= 25


def test_intent_accuracy_on_the_held_out_set_is_at_least_095() -> None:
    report = json.loads(REPORT.read_text(encoding="utf-8"))
    assert report["accuracy"] >= 0.95, f"accuracy {report['accuracy']:.3f}; see {REPORT.parent}"
