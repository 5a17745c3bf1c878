"""The figures the NLU is judged by, from (case, prediction) pairs of each evaluation set: used by
bench/nlu_report.py (the side-by-side report) and tests/nlu_eval/test_gates.py (the floors)."""

import collections
from typing import Any

from tests.nlu_eval import sets

# Out-of-domain sentences must never start one of these: a form, a cancellation or an alert.
ACTIONS = {"book_taxi", "book_stair_climber", "file_request", "cancel_booking", "emergency"}
CONFIDENT = 0.9
Prediction = dict[str, Any]  # intent, confidence, values {entity: [values]}


def accuracy(pairs: list[tuple[sets.Case, Prediction]]) -> float:
    return sum(c.intent == p["intent"] for c, p in pairs) / len(pairs) if pairs else float("nan")


def macro_f1(pairs: list[tuple[sets.Case, Prediction]]) -> float:
    labels = sorted({c.intent for c, _ in pairs})
    scores = []
    for label in labels:
        tp = sum(c.intent == label and p["intent"] == label for c, p in pairs)
        fp = sum(c.intent != label and p["intent"] == label for c, p in pairs)
        fn = sum(c.intent == label and p["intent"] != label for c, p in pairs)
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores) if scores else float("nan")


def rate(hits: int, total: int) -> dict[str, float]:
    return {"rate": hits / total if total else float("nan"), "hits": hits, "of": total}


def shown(figure: dict[str, float]) -> str:
    return f"{figure['rate']:.3f} ({figure['hits']:.0f}/{figure['of']:.0f})" if figure["of"] else "n/a"


def figures(by_set: dict[str, list[tuple[sets.Case, Prediction]]]) -> dict[str, Any]:
    out: dict[str, Any] = {"sets": {}}
    for name, pairs in by_set.items():
        out["sets"][name] = {"n": len(pairs), "accuracy": accuracy(pairs), "macro_f1": macro_f1(pairs)}
    clean = by_set["writers"]
    noisy = [pair for name, pairs in by_set.items() if name.startswith("noisy-") for pair in pairs]
    for label, pairs in (("clean", clean), ("noisy", noisy)):
        values = {}
        for entity in sets.CANONICAL_ENTITIES:
            wanted = [(c, p) for c, p in pairs if entity in c.values]
            hits = sum(c.values[entity] in p["values"].get(entity, []) for c, p in wanted)
            values[entity] = rate(hits, len(wanted))
        out[f"canonical_values_{label}"] = values
        emergencies = [(c, p) for c, p in pairs if c.intent == "emergency"]
        caught = [(c, p) for c, p in emergencies if p["intent"] == "emergency"]
        out[f"emergency_recall_{label}"] = rate(len(caught), len(emergencies))
        right_kind = sum(c.values.get("emergency_type") in p["values"].get("emergency_type", []) for c, p in caught)
        out[f"emergency_right_kind_{label}"] = rate(right_kind, len(caught))
        others = [(c, p) for c, p in pairs if c.intent != "emergency"]
        out[f"false_alarms_{label}"] = rate(sum(p["intent"] == "emergency" for _, p in others), len(others))
        hard = collections.defaultdict(list)
        for c, p in pairs:
            if c.not_emergency:
                hard[c.not_emergency].append(p["intent"] == "emergency")
        out[f"false_alarms_hard_{label}"] = {kind: rate(sum(v), len(v)) for kind, v in sorted(hard.items())}
        confident = [(c, p) for c, p in pairs if p["confidence"] >= CONFIDENT]
        wrong = sum(c.intent != p["intent"] for c, p in confident)
        out[f"confident_wrong_{label}"] = rate(wrong, len(confident))
    ood = [(c, p) for name in ("writers", "crosswoz-ood") for c, p in by_set[name] if c.intent == "out_of_scope"]
    out["ood_false_actions"] = rate(sum(p["intent"] in ACTIONS for _, p in ood), len(ood))
    confusions = collections.Counter((c.intent, p["intent"]) for c, p in clean + noisy if c.intent != p["intent"])
    out["top_confusions"] = [f"{g} → {p}: {n}" for (g, p), n in confusions.most_common(10)]
    return out
