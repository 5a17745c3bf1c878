"""The knowledge base's test questions stay apart from what it is fitted on: no question equals or
nearly equals (edit distance ≤ 2) a seeded way of asking or a question it learns no entry answers
(knowledge_base.negatives(): content/knowledge_negatives.yml and the NLU's out_of_scope examples),
and every question names a real entry."""

from pathlib import Path

import yaml
from rapidfuzz.distance import Levenshtein

from bot.services.knowledge_base import core, negatives
from nlu.text import normal

ROOT = Path(__file__).resolve().parents[1]


def test_no_test_question_is_a_way_of_asking_the_entries_were_fitted_on() -> None:
    entries = yaml.safe_load((ROOT / "content" / "knowledge_entries.yml").read_text(encoding="utf-8"))["entries"]
    questions = yaml.safe_load((ROOT / "tests" / "knowledge_eval" / "questions.yml").read_text(encoding="utf-8"))
    written = yaml.safe_load((ROOT / "content" / "knowledge_negatives.yml").read_text(encoding="utf-8"))
    asks = [normal(a) for e in entries for a in [*e["asks"]]] + [normal(q) for g in written.values() for q in g]
    asked = [q["q"] for q in questions["in_scope"]] + list(questions["out_of_scope"])
    near = [(q, a) for q in asked for a in asks if Levenshtein.distance(normal(q), a) <= 2]
    near += [(q, n) for q in asked for n in negatives() if Levenshtein.distance(core(q), n) <= 2]
    assert near == []
    titles = {e["title"] for e in entries}
    assert {q["title"] for q in questions["in_scope"]} <= titles
    assert len(questions["in_scope"]) >= 300 and len(questions["out_of_scope"]) >= 100
