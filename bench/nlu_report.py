"""NLU quality, side by side with two classifiers a user might pick instead:

  DIET      our pipeline (config.yml: jieba + count vectors + DIET), intents and entities
  keyword   Rasa's KeywordIntentClassifier alone (an intent when an example's words appear)
  tf-idf    scikit-learn: TF-IDF over character 1–3-grams + logistic regression

For each: intent accuracy and macro-F1 on the held-out set (tests/nlu_test_set.yml, never trained
on), and the same over 5-fold cross-validation of the training data (nlu_data/; the same folds for
all three). For DIET also entity F1 per entity (exact span and type) and the most frequent
confusion pairs. Runs in the Rasa environment (Python 3.10):

    .venvs/rasa/bin/python bench/nlu_report.py [--folds 5] [--skip-cv]

Every model is trained here from scratch (NLU only); with cross-validation this takes about half an
hour on 2 cores.
"""

import argparse
import asyncio
import collections
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

from rasa.core.agent import Agent
from rasa.model_training import train_nlu
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline

ROOT = Path(__file__).resolve().parents[1]
KEYWORD_CONFIG = """\
recipe: default.v1
language: zh
pipeline:
  - name: KeywordIntentClassifier
policies: []
"""
Span = tuple[str, int, int]


def examples(data: TrainingData) -> list[Message]:
    return [m for m in data.intent_examples if m.get("text")]


def gold_spans(message: Message) -> set[Span]:
    return {(e["entity"], e["start"], e["end"]) for e in message.get("entities") or []}


class Scores:
    def __init__(self) -> None:
        self.gold: list[str] = []
        self.predicted: list[str] = []
        self.entity_hits: collections.Counter[str] = collections.Counter()
        self.entity_gold: collections.Counter[str] = collections.Counter()
        self.entity_found: collections.Counter[str] = collections.Counter()

    def add(
        self, gold: str, predicted: str, gold_entities: set[Span] | None = None, found: set[Span] | None = None
    ) -> None:
        gold_entities, found = gold_entities or set(), found or set()
        self.gold.append(gold)
        self.predicted.append(predicted)
        for kind, *_ in gold_entities:
            self.entity_gold[kind] += 1
        for kind, *_ in found:
            self.entity_found[kind] += 1
        for kind, *_ in gold_entities & found:
            self.entity_hits[kind] += 1

    def accuracy(self) -> float:
        return float(accuracy_score(self.gold, self.predicted))

    def macro_f1(self) -> float:
        return float(
            f1_score(self.gold, self.predicted, average="macro", labels=sorted(set(self.gold)), zero_division=0)
        )

    def entity_f1(self) -> dict[str, tuple[float, int]]:
        report = {}
        for kind in sorted(self.entity_gold):
            precision = self.entity_hits[kind] / self.entity_found[kind] if self.entity_found[kind] else 0.0
            recall = self.entity_hits[kind] / self.entity_gold[kind]
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            report[kind] = (f1, self.entity_gold[kind])
        return report

    def confusions(self, top: int = 8) -> list[tuple[tuple[str, str], int]]:
        pairs = collections.Counter((g, p) for g, p in zip(self.gold, self.predicted, strict=True) if g != p)
        return pairs.most_common(top)


def train_rasa(config: str, data: TrainingData, workdir: Path, name: str) -> Path:
    nlu_file = workdir / f"{name}.yml"
    nlu_file.write_text(data.nlu_as_yaml(), encoding="utf-8")
    config_file = workdir / f"{name}-config.yml"
    config_file.write_text(config, encoding="utf-8")
    model = train_nlu(str(config_file), str(nlu_file), str(workdir), fixed_model_name=name)
    if not model:
        raise RuntimeError(f"training {name} failed")
    return Path(model)


def score_rasa(model: Path, tests: list[Message], scores: Scores) -> None:
    agent = Agent.load(str(model))

    async def parse_all() -> list[dict[str, Any]]:
        return [await agent.parse_message(m.get("text")) for m in tests]

    for message, parsed in zip(tests, asyncio.run(parse_all()), strict=True):
        found = {(e["entity"], e["start"], e["end"]) for e in parsed.get("entities") or []}
        scores.add(message.get("intent"), (parsed.get("intent") or {}).get("name") or "", gold_spans(message), found)


def score_tfidf(train: list[Message], tests: list[Message], scores: Scores) -> None:
    classifier = make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True),
        LogisticRegression(max_iter=3000, C=10),
    )
    classifier.fit([m.get("text") for m in train], [m.get("intent") for m in train])
    for message, predicted in zip(tests, classifier.predict([m.get("text") for m in tests]), strict=True):
        scores.add(message.get("intent"), str(predicted))


def without_keyword_clashes(train: list[Message]) -> list[Message]:
    """The keyword classifier drops an example that is part of another intent's example, and
    crashes (KeyError in rasa 3.6) when one is part of several: drop those first, as it would."""
    texts = [(m.get("text"), m.get("intent")) for m in train]
    return [m for m in train if not any(m.get("text") in text and intent != m.get("intent") for text, intent in texts)]


def evaluate(train: list[Message], tests: list[Message], workdir: Path, name: str, results: dict[str, Scores]) -> None:
    diet_config = (ROOT / "config.yml").read_text(encoding="utf-8")
    for label, config in (("DIET", diet_config), ("keyword", KEYWORD_CONFIG)):
        started = time.monotonic()
        examples_used = without_keyword_clashes(train) if label == "keyword" else train
        model = train_rasa(config, TrainingData(training_examples=examples_used), workdir, f"{name}-{label}")
        score_rasa(model, tests, results.setdefault(label, Scores()))
        print(f"  {name}: {label} trained and scored in {time.monotonic() - started:.0f} s", flush=True)
    score_tfidf(train, tests, results.setdefault("tf-idf", Scores()))


def table(title: str, results: dict[str, Scores]) -> None:
    print(f"\n{title}")
    print(f"  {'classifier':<10} {'n':>5} {'accuracy':>9} {'macro-F1':>9}")
    for label, scores in results.items():
        print(f"  {label:<10} {len(scores.gold):>5} {scores.accuracy():>9.3f} {scores.macro_f1():>9.3f}")


def details(title: str, scores: Scores) -> None:
    print(f"\n{title}: entity F1 (exact span and type)")
    for kind, (f1, support) in scores.entity_f1().items():
        print(f"  {kind:<20} F1 {f1:.3f}  (n={support})")
    print(f"{title}: most frequent confusions (gold → predicted)")
    for (gold, predicted), count in scores.confusions():
        print(f"  {gold} → {predicted}: {count}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--skip-cv", action="store_true", help="held-out set only (about 6 minutes)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    train = examples(load_data(str(ROOT / "nlu_data" / "nlu")))
    held_out = examples(load_data(str(ROOT / "tests" / "nlu_test_set.yml")))
    print(f"training sentences: {len(train)}, held-out sentences: {len(held_out)}")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        held = {}
        evaluate(train, held_out, workdir, "held-out", held)
        table("Held-out test set (tests/nlu_test_set.yml)", held)
        details("DIET on the held-out set", held["DIET"])
        if args.skip_cv:
            return
        folds: dict[str, Scores] = {}
        splitter = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=42)
        intents = [m.get("intent") for m in train]
        for fold, (fit, check) in enumerate(splitter.split(train, intents), start=1):
            evaluate([train[i] for i in fit], [train[i] for i in check], workdir, f"fold{fold}", folds)
        table(f"{args.folds}-fold cross-validation on nlu_data/ (same folds for all three)", folds)
        details(f"DIET over the {args.folds} folds", folds["DIET"])


if __name__ == "__main__":
    sys.exit(main())
