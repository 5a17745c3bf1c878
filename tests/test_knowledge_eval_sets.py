"""The knowledge base's test questions stay apart from what it is fitted on: no question equals or
nearly equals (edit distance ≤ 2) a seeded way of asking or a question it learns no entry answers
(content/knowledge_negatives.yml), and every question names a real entry."""

from pathlib import Path

import yaml
from rapidfuzz.distance import Levenshtein

from nlu.text import normal

ROOT = Path(__file__).resolve().parents[1]


def test_no_test_question_is_a_way_of_asking_the_entries_were_fitted_on() -> None:
    entries = yaml.safe_load((ROOT / "content" / "knowledge_entries.yml").read_text(encoding="utf-8"))["entries"]
    questions = yaml.safe_load((ROOT / "tests" / "knowledge_eval" / "questions.yml").read_text(encoding="utf-8"))
    negatives = yaml.safe_load((ROOT / "content" / "knowledge_negatives.yml").read_text(encoding="utf-8"))
    asks = [normal(a) for e in entries for a in [*e["asks"]]] + [normal(q) for g in negatives.values() for q in g]
    asked = [q["q"] for q in questions["in_scope"]] + list(questions["out_of_scope"])
    near = [(q, a) for q in asked for a in asks if Levenshtein.distance(normal(q), a) <= 2]
    assert near == []
    titles = {e["title"] for e in entries}
    assert {q["title"] for q in questions["in_scope"]} <= titles
    assert len(questions["in_scope"]) >= 300 and len(questions["out_of_scope"]) >= 100
