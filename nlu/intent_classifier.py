"""A linear intent classifier over every sentence feature of the pipeline (the encoder's dense
vector, the character and pinyin n-grams): multinomial logistic regression. It trains in seconds
and its probabilities are what the FallbackClassifier after it reads, so unsure means ask."""

from typing import Any

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.linear_model import LogisticRegression


def sentence_matrix(messages: list[Message]) -> scipy.sparse.csr_matrix:
    """One row per message: its sparse and dense sentence features side by side."""
    rows = []
    for message in messages:
        sparse = message.get_sparse_features(TEXT)[1]
        dense = message.get_dense_features(TEXT)[1]
        parts = [scipy.sparse.csr_matrix(f.features) for f in (sparse, dense) if f is not None]
        rows.append(scipy.sparse.hstack(parts).tocsr())
    return scipy.sparse.vstack(rows).tocsr()


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(GraphComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"C": 10.0, "max_iter": 2000, "ranking_length": 10}

    def __init__(
        self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
        weights: dict[str, np.ndarray] | None = None,
    ) -> None:  # fmt: skip
        self.config = {**self.get_default_config(), **config}
        self._model_storage, self._resource = model_storage, resource
        self.weights = weights

    @classmethod
    def create(
        cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
        execution_context: ExecutionContext,
    ) -> "LinearIntentClassifier":  # fmt: skip
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT) and m.get(INTENT)]
        model = LogisticRegression(C=self.config["C"], max_iter=self.config["max_iter"], random_state=7)
        model.fit(sentence_matrix(examples), [m.get(INTENT) for m in examples])
        self.weights = {"coef": model.coef_, "intercept": model.intercept_, "classes": model.classes_.astype(str)}
        with self._model_storage.write_to(self._resource) as folder:
            np.savez(folder / "weights.npz", **self.weights)  # arrays only: nothing is unpickled on load
        return self._resource

    @classmethod
    def load(
        cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
        execution_context: ExecutionContext, **kwargs: Any,
    ) -> "LinearIntentClassifier":  # fmt: skip
        with model_storage.read_from(resource) as folder, np.load(folder / "weights.npz", allow_pickle=False) as saved:
            weights = {k: saved[k] for k in ("coef", "intercept", "classes")}
        return cls(config, model_storage, resource, weights)

    def probabilities(self, messages: list[Message]) -> np.ndarray:
        assert self.weights is not None
        scores = sentence_matrix(messages) @ self.weights["coef"].T + self.weights["intercept"]
        scores = np.asarray(scores)
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            if not (message.get(TEXT) or "").strip():  # nothing said: no intent (the fallback asks)
                message.set(INTENT, {"name": None, "confidence": 0.0}, add_to_output=True)
                message.set("intent_ranking", [], add_to_output=True)
        wanted = [m for m in messages if (m.get(TEXT) or "").strip()]
        if not wanted or self.weights is None:
            return messages
        classes = [str(c) for c in self.weights["classes"]]
        for message, row in zip(wanted, self.probabilities(wanted), strict=True):
            ranking = sorted(({"name": c, "confidence": float(p)} for c, p in zip(classes, row, strict=True)),
                             key=lambda r: -r["confidence"])  # fmt: skip
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set("intent_ranking", ranking[: self.config["ranking_length"]], add_to_output=True)
        return messages
