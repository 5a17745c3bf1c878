"""Canonical values of the closed entity sets (facility, policy_topic, request_category,
emergency_type), read from the whole sentence rather than from a span a tagger guessed:

1. the lexicon: every way of naming a value that the training data annotates or lists as a
   synonym, plus the canonical names themselves, found in the sentence as written or by pinyin
   (a recogniser's same-sound character keeps the syllables), the longest first;
2. otherwise, when the intent needs the entity, a whole-sentence classifier (logistic regression
   over the pipeline's sentence features, trained on the annotated examples of that entity),
   trusted only above `min_confidence`.

The values come out as entities of the parse, exactly the contract's strings."""

import json
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.linear_model import LogisticRegression

from nlu.intent_classifier import sentence_matrix
from nlu.text import normal, normal_with_places, syllables

# Which intent needs which entity (the whole-sentence classifier answers only there).
NEEDED_BY = {
    "ask_service_hours": "facility",
    "ask_policy": "policy_topic",
    "file_request": "request_category",
    "check_status": "request_category",  # "我报的漏水修了没" names what was reported
    "emergency": "emergency_type",
}
CLOSED = tuple(dict.fromkeys(NEEDED_BY.values()))
ONLY_WITH_INTENT = {"emergency_type": "emergency"}  # a danger word in a question names no emergency


def lexicon(training_data: TrainingData) -> list[tuple[str, str, str]]:
    """(surface, entity, canonical value), from annotations, synonyms and the values themselves."""
    found: set[tuple[str, str, str]] = set()
    entity_of: dict[str, str] = {}
    for message in training_data.training_examples:
        text = message.get(TEXT) or ""
        for entity in message.get(ENTITIES) or []:
            if entity["entity"] in CLOSED and "start" in entity:  # stories name entities without a span
                value = str(entity.get("value"))
                found.add((normal(text[entity["start"] : entity["end"]]), entity["entity"], value))
                found.add((normal(value), entity["entity"], value))
                entity_of[value] = entity["entity"]
    for surface, value in training_data.entity_synonyms.items():
        if value in entity_of:
            found.add((normal(surface), entity_of[value], value))
    return sorted(item for item in found if item[0])


def _find(sequence: list[str], part: list[str]) -> int:
    for i in range(len(sequence) - len(part) + 1):
        if sequence[i : i + len(part)] == part:
            return i
    return -1


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class CanonicalValueExtractor(GraphComponent, EntityExtractorMixin):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"min_confidence": 0.45, "C": 10.0}

    def __init__(
        self, config: dict[str, Any], name: str, model_storage: ModelStorage, resource: Resource,
        words: list[tuple[str, str, str]] | None = None, classifiers: dict[str, dict[str, np.ndarray]] | None = None,
    ) -> None:  # fmt: skip
        self.component_config = {**self.get_default_config(), **config}
        self._node_name = name
        self._model_storage, self._resource = model_storage, resource
        # longest surface first: "一网通办自助终端" before "一网通办"
        self.words = sorted(words or [], key=lambda w: -len(w[0]))
        self.word_syllables = [syllables(w[0]) for w in self.words]
        self.classifiers = classifiers or {}

    @classmethod
    def create(
        cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
        execution_context: ExecutionContext,
    ) -> "CanonicalValueExtractor":  # fmt: skip
        return cls(config, execution_context.node_name, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        words = lexicon(training_data)
        classifiers: dict[str, dict[str, np.ndarray]] = {}
        for entity in CLOSED:
            intents = {intent for intent, needed in NEEDED_BY.items() if needed == entity}
            labelled = [
                (m, next(str(e["value"]) for e in m.get(ENTITIES) if e["entity"] == entity))
                for m in training_data.intent_examples
                if m.get(INTENT) in intents and any(e["entity"] == entity for e in m.get(ENTITIES) or [])
            ]
            if len({value for _, value in labelled}) < 2:
                continue
            model = LogisticRegression(C=self.component_config["C"], max_iter=2000, random_state=7)
            model.fit(sentence_matrix([m for m, _ in labelled]), [value for _, value in labelled])
            classifiers[entity] = {"coef": model.coef_, "intercept": model.intercept_,
                                   "classes": model.classes_.astype(str)}  # fmt: skip
        with self._model_storage.write_to(self._resource) as folder:
            (folder / "lexicon.json").write_text(json.dumps(words, ensure_ascii=False), encoding="utf-8")
            for entity, weights in classifiers.items():
                np.savez(folder / f"{entity}.npz", **weights)
        self.__init__(self.component_config, self._node_name, self._model_storage, self._resource, words, classifiers)  # type: ignore[misc]
        return self._resource

    @classmethod
    def load(
        cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
        execution_context: ExecutionContext, **kwargs: Any,
    ) -> "CanonicalValueExtractor":  # fmt: skip
        with model_storage.read_from(resource) as folder:
            words = [tuple(w) for w in json.loads((folder / "lexicon.json").read_text(encoding="utf-8"))]
            classifiers = {}
            for path in folder.glob("*.npz"):
                with np.load(path, allow_pickle=False) as saved:
                    classifiers[path.stem] = {k: saved[k] for k in ("coef", "intercept", "classes")}
        return cls(config, execution_context.node_name, model_storage, resource, words, classifiers)  # type: ignore[arg-type]

    def from_lexicon(self, text: str) -> list[dict[str, Any]]:
        said, places = normal_with_places(text)
        sounds = syllables(text)
        found: dict[str, dict[str, Any]] = {}
        for (surface, entity, value), surface_sounds in zip(self.words, self.word_syllables, strict=True):
            if entity in found:
                continue
            at = said.find(surface)
            how = "lexicon"
            if at < 0 and len(surface_sounds) >= 2:
                at, how = _find(sounds, surface_sounds), "pinyin"
            if at < 0:
                continue
            start, end = places[at], places[at + len(surface) - 1] + 1
            found[entity] = {"entity": entity, "value": value, "start": start, "end": end,
                             "confidence_entity": 1.0 if how == "lexicon" else 0.9,
                             "matched_by": how}  # fmt: skip
        return list(found.values())

    def from_sentence(self, message: Message, entity: str) -> dict[str, Any] | None:
        weights = self.classifiers.get(entity)
        if weights is None:
            return None
        scores = np.asarray(sentence_matrix([message]) @ weights["coef"].T + weights["intercept"])[0]
        exp = np.exp(scores - scores.max())
        probabilities = exp / exp.sum()
        best = int(probabilities.argmax())
        if probabilities[best] < self.component_config["min_confidence"]:
            return None
        text = message.get(TEXT)
        value = str(weights["classes"][best])
        return {"entity": entity, "value": value, "start": 0, "end": len(text),
                "confidence_entity": float(probabilities[best]), "matched_by": "sentence"}  # fmt: skip

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            intent = (message.get(INTENT) or {}).get("name")
            entities = [e for e in self.from_lexicon(text) if ONLY_WITH_INTENT.get(e["entity"], intent) == intent]
            needed = NEEDED_BY.get(intent or "")
            if needed and not any(e["entity"] == needed for e in entities):
                guessed = self.from_sentence(message, needed)
                if guessed:
                    entities.append(guessed)
            others = [e for e in message.get(ENTITIES, []) if e.get("entity") not in CLOSED]
            message.set(ENTITIES, others + self.add_extractor_name(entities), add_to_output=True)
        return messages
