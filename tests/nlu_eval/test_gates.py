"""Floors on the NLU of the trained model (models/linli.tar.gz, which `make test` trains first),
judged on the sets we did not write (tests/nlu_eval/). The floors sit a little below what the
model reached when they were set (docs/benchmarks.md); a change that loses understanding fails
here. Runs in the engine's environment."""

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.nlu_eval import sets
from tests.nlu_eval.scores import Prediction, figures

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "linli.tar.gz"


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(MODEL))
    writers = sets.writers()
    by_set: dict[str, list[sets.Case]] = {"writers": writers}
    for kind in sets.NOISE_KINDS:
        by_set[f"noisy-{kind}"] = sets.noisy(writers, kind)
    public = sets.public()
    by_set["crosswoz-taxi"] = [c for c in public if c.intent == "book_taxi"]
    by_set["crosswoz-ood"] = [c for c in public if c.intent == "out_of_scope"]

    async def parse(case: sets.Case) -> Prediction:
        parsed = await agent.parse_message(case.text)
        values: dict[str, list[str]] = {}
        for entity in parsed.get("entities") or []:
            values.setdefault(entity["entity"], []).append(str(entity.get("value")))
        intent = parsed.get("intent") or {}
        return {"intent": intent.get("name") or "", "confidence": intent.get("confidence") or 0.0, "values": values}

    async def parse_all() -> dict[str, list[tuple[sets.Case, Prediction]]]:
        parsed: dict[str, list[tuple[sets.Case, Prediction]]] = {}
        for name, cases in by_set.items():
            parsed[name] = [(case, await parse(case)) for case in cases]
        return parsed

    return figures(asyncio.run(parse_all()))


def test_intents_of_independent_writers(report: dict[str, Any]) -> None:
    assert report["sets"]["writers"]["accuracy"] >= 0.88
    noisy = [report["sets"][f"noisy-{kind}"]["accuracy"] for kind in ("homophone", "drop")]
    assert min(noisy) >= 0.85


def test_taxi_requests_of_a_public_corpus(report: dict[str, Any]) -> None:
    assert report["sets"]["crosswoz-taxi"]["accuracy"] >= 0.86


def test_canonical_values(report: dict[str, Any]) -> None:
    found = {entity: figure["rate"] for entity, figure in report["canonical_values_clean"].items()}
    assert min(found.values()) >= 0.74, found  # request_category is the weakest (0.79)
    assert found["facility"] >= 0.95 and found["emergency_type"] >= 0.95, found


def test_emergencies_are_caught_with_the_right_advice(report: dict[str, Any]) -> None:
    assert report["emergency_recall_clean"]["rate"] >= 0.97
    assert report["emergency_recall_noisy"]["rate"] >= 0.96
    assert report["emergency_right_kind_clean"]["rate"] >= 0.95


def test_no_alarm_for_what_is_not_an_emergency(report: dict[str, Any]) -> None:
    assert report["false_alarms_clean"]["rate"] <= 0.025
    assert report["false_alarms_noisy"]["rate"] <= 0.03


def test_out_of_domain_starts_nothing(report: dict[str, Any]) -> None:
    assert report["ood_false_actions"]["rate"] <= 0.025
