"""NLU quality on sets we did not write, side by side for several pipelines and two plain baselines.

Pipelines (Rasa configs, each trained here from scratch on nlu_data/ alone):
  before    bench/nlu_configs/diet_before_issue13.yml (Jieba + count vectors + DIET)
  current   config.yml
  keyword   Rasa's KeywordIntentClassifier alone
  tf-idf    scikit-learn: TF-IDF over character 1–3-grams + logistic regression (intents only)

Sets (tests/nlu_eval/, never trained on; tests/test_nlu_eval_sets.py keeps them apart):
  writers          four independent writers (tests/nlu_eval/BRIEF.md)
  noisy-*          the writers' sentences with recognition errors: homophone, drop, numerals
  crosswoz-taxi    CrossWOZ train-split user turns asking for a taxi (all should be book_taxi)
  crosswoz-ood     CrossWOZ hotel/restaurant/sight/metro turns (all out_of_scope)
  held-out (old)   tests/nlu_test_set.yml, written by the project's own developers

Figures: intent accuracy and macro-F1 per set; canonical-value accuracy per closed entity (the
parse has the entity with exactly the gold value); emergency recall (clean, noisy), the right
kind of emergency among those caught, false alarms (any non-emergency, and the hard ones:
prevention, past, lonely, everyday); out-of-domain false actions (an out_of_scope sentence taken
for a booking, a request, a cancellation or an emergency); calibration (how often a prediction
with confidence ≥ 0.9 is wrong); NLU training time, model load time, RSS after loading, parse
latency. Runs in the Rasa environment (Python 3.10), about 10 minutes:

    .venvs/rasa/bin/python bench/nlu_report.py [--only before,current] [--json results/nlu_report.json]
"""

import argparse
import asyncio
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)  # configs name nlu_data/jieba relative to the project

from tests.nlu_eval import sets  # noqa: E402
from tests.nlu_eval.scores import Prediction, figures, shown  # noqa: E402

KEYWORD_CONFIG = """\
recipe: default.v1
language: zh
pipeline:
  - name: KeywordIntentClassifier
policies: []
"""
PIPELINES = {
    "before": ROOT / "bench" / "nlu_configs" / "diet_before_issue13.yml",
    "current": ROOT / "config.yml",
    "keyword": None,
    "tf-idf": None,
}


def evaluation_sets() -> dict[str, list[sets.Case]]:
    writers = sets.writers()
    public = sets.public()
    found = {"writers": writers}
    for kind in sets.NOISE_KINDS:
        found[f"noisy-{kind}"] = sets.noisy(writers, kind)
    found["crosswoz-taxi"] = [c for c in public if c.intent == "book_taxi"]
    found["crosswoz-ood"] = [c for c in public if c.intent == "out_of_scope"]
    found["held-out (old)"] = old_held_out()
    return found


def old_held_out() -> list[sets.Case]:
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(ROOT / "tests" / "nlu_test_set.yml"))
    return [sets.Case(text=m.get("text"), intent=m.get("intent"), source="held-out") for m in data.intent_examples]


def training_examples() -> list[Any]:
    from rasa.shared.nlu.training_data.loading import load_data

    return [m for m in load_data(str(ROOT / "nlu_data" / "nlu")).intent_examples if m.get("text")]


# --- Rasa pipelines: trained here, scored in a fresh process (load time and memory are its own) ---


def train_rasa(config_text: str, workdir: Path, name: str) -> tuple[Path, float]:
    from rasa.model_training import train_nlu
    from rasa.shared.nlu.training_data.training_data import TrainingData

    examples = training_examples()
    if name == "keyword":
        examples = without_keyword_clashes(examples)
    nlu_file = workdir / f"{name}.yml"
    nlu_file.write_text(TrainingData(training_examples=examples).nlu_as_yaml(), encoding="utf-8")
    config_file = workdir / f"{name}-config.yml"
    config_file.write_text(config_text, encoding="utf-8")
    started = time.monotonic()
    model = train_nlu(str(config_file), str(nlu_file), str(workdir), fixed_model_name=name)
    if not model:
        raise RuntimeError(f"training {name} failed")
    return Path(model), time.monotonic() - started


def without_keyword_clashes(train: list[Any]) -> list[Any]:
    """The keyword classifier crashes (KeyError in rasa 3.6) when an example is part of another
    intent's example: drop those first, as it would."""
    texts = [(m.get("text"), m.get("intent")) for m in train]
    return [m for m in train if not any(m.get("text") in text and intent != m.get("intent") for text, intent in texts)]


def score_in_fresh_process(model: Path, texts: list[str], workdir: Path) -> dict[str, Any]:
    inputs, outputs = workdir / "texts.json", workdir / "parsed.json"
    inputs.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    subprocess.run(
        [sys.executable, __file__, "--score", str(model), str(inputs), str(outputs)],
        check=True,
        stdout=subprocess.DEVNULL,  # Rasa's per-message debug lines; the figures come back in the file
    )
    return dict(json.loads(outputs.read_text(encoding="utf-8")))


def score(model: str, inputs: str, outputs: str) -> None:
    """In its own process: load the model, parse every text, note load time, latency and memory."""
    logging.disable(logging.WARNING)
    started = time.monotonic()
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    load_seconds = time.monotonic() - started
    texts = json.loads(Path(inputs).read_text(encoding="utf-8"))

    async def parse_all() -> tuple[list[Prediction], list[float]]:
        found, latencies = [], []
        for text in texts:
            began = time.perf_counter()
            parsed = await agent.parse_message(text)
            latencies.append(time.perf_counter() - began)
            values: dict[str, list[str]] = {}
            for entity in parsed.get("entities") or []:
                values.setdefault(entity["entity"], []).append(str(entity.get("value")))
            intent = parsed.get("intent") or {}
            found.append({"intent": intent.get("name") or "", "confidence": intent.get("confidence") or 0.0,
                          "values": values})  # fmt: skip
        return found, latencies

    predictions, latencies = asyncio.run(parse_all())
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    Path(outputs).write_text(
        json.dumps(
            {"predictions": predictions, "latencies": latencies, "load_seconds": load_seconds, "rss_mb": rss_mb},
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )


def score_tfidf(texts: list[str]) -> dict[str, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    train = training_examples()
    started = time.monotonic()
    classifier = make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True),
        LogisticRegression(max_iter=3000, C=10),
    )
    classifier.fit([m.get("text") for m in train], [m.get("intent") for m in train])
    trained = time.monotonic() - started
    probabilities = classifier.predict_proba(texts)
    labels = classifier.classes_
    predictions = [
        {"intent": str(labels[row.argmax()]), "confidence": float(row.max()), "values": {}} for row in probabilities
    ]
    return {"predictions": predictions, "train_seconds": trained}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def print_table(results: dict[str, dict[str, Any]]) -> None:
    names = list(results)
    width = 24

    def row(label: str, cells: list[str]) -> None:
        print(f"{label:<34}" + "".join(f"{cell:>{width}}" for cell in cells))

    row("", names)
    for set_name in results[names[0]]["sets"]:
        n = results[names[0]]["sets"][set_name]["n"]
        row(f"{set_name} (n={n}) acc / F1", [
            f"{r['sets'][set_name]['accuracy']:.3f} / {r['sets'][set_name]['macro_f1']:.3f}" for r in results.values()
        ])  # fmt: skip
    for key in ("emergency_recall_clean", "emergency_recall_noisy", "emergency_right_kind_clean",
                "emergency_right_kind_noisy", "false_alarms_clean", "false_alarms_noisy", "ood_false_actions",
                "confident_wrong_clean", "confident_wrong_noisy"):  # fmt: skip
        row(key, [shown(r[key]) for r in results.values()])
    for label in ("clean", "noisy"):
        for entity in sets.CANONICAL_ENTITIES:
            row(f"{entity} ({label})", [shown(r[f"canonical_values_{label}"][entity]) for r in results.values()])
        for kind in results[names[0]][f"false_alarms_hard_{label}"]:
            row(
                f"false alarms: {kind} ({label})",
                [shown(r[f"false_alarms_hard_{label}"][kind]) for r in results.values()],
            )
    for key, unit in (("train_seconds", "s"), ("load_seconds", "s"), ("rss_mb", "MB"), ("parse_p50_ms", "ms"),
                      ("parse_p95_ms", "ms")):  # fmt: skip
        row(f"{key} ({unit})", [f"{r[key]:.1f}" if key in r else "-" for r in results.values()])
    for name, r in results.items():
        print(f"\n{name}: most frequent confusions (writers, clean and noisy): " + "; ".join(r["top_confusions"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(PIPELINES), help="comma-separated pipeline names")
    parser.add_argument("--json", type=Path, default=ROOT / "results" / "nlu_report.json")
    parser.add_argument("--score", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.score:
        score(*args.score)
        return
    logging.disable(logging.WARNING)
    by_name = evaluation_sets()
    cases = [case for pairs in by_name.values() for case in pairs]
    texts = [case.text for case in cases]
    print("sets: " + ", ".join(f"{name} {len(c)}" for name, c in by_name.items()), flush=True)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only.split(","):
            if name == "tf-idf":
                scored = score_tfidf(texts)
                train_seconds = scored["train_seconds"]
            else:
                config = PIPELINES[name]
                config_text = config.read_text(encoding="utf-8") if config else KEYWORD_CONFIG
                model, train_seconds = train_rasa(config_text, Path(tmp), name)
                scored = score_in_fresh_process(model, texts, Path(tmp))
            predictions = iter(scored["predictions"])
            by_set = {set_name: [(c, next(predictions)) for c in set_cases] for set_name, set_cases in by_name.items()}
            result = figures(by_set)
            result["train_seconds"] = train_seconds
            if "latencies" in scored:
                result["load_seconds"] = scored["load_seconds"]
                result["rss_mb"] = scored["rss_mb"]
                result["parse_p50_ms"] = percentile(scored["latencies"], 0.5) * 1000
                result["parse_p95_ms"] = percentile(scored["latencies"], 0.95) * 1000
            results[name] = result
            print(f"  {name}: done (trained in {train_seconds:.0f} s)", flush=True)
    print()
    print_table(results)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"\nfigures also in {args.json}")


if __name__ == "__main__":
    sys.exit(main())
