"""Features that survive recognition errors and dialect spelling: TF-IDF over character n-grams
and over toneless pinyin n-grams (a same-sound character keeps its pinyin), both of the sentence
as `nlu.text` normalises it. A sparse sentence feature; the vocabularies are learnt in training."""

import json
from typing import Any

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.sparse_featurizer.sparse_featurizer import SparseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfVectorizer

from nlu.text import normal, syllables


def _vectorizers(config: dict[str, Any]) -> dict[str, TfidfVectorizer]:
    return {
        "chars": TfidfVectorizer(
            analyzer="char", ngram_range=(1, config["char_max_n"]), sublinear_tf=True, min_df=1, dtype=np.float32
        ),
        "pinyin": TfidfVectorizer(
            analyzer=lambda seq: [
                " ".join(seq[i : i + n]) for n in range(1, config["pinyin_max_n"] + 1) for i in range(len(seq) - n + 1)
            ],
            sublinear_tf=True,
            dtype=np.float32,
        ),
    }


def _inputs(kind: str, texts: list[str]) -> list[Any]:
    return [normal(t) for t in texts] if kind == "chars" else [syllables(t) for t in texts]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class CharPinyinFeaturizer(SparseFeaturizer, GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**SparseFeaturizer.get_default_config(), "char_max_n": 3, "pinyin_max_n": 2, "pinyin_weight": 1.0}

    def __init__(
        self, config: dict[str, Any], name: str, model_storage: ModelStorage, resource: Resource,
        fitted: dict[str, TfidfVectorizer] | None = None,
    ) -> None:  # fmt: skip
        super().__init__(name, config)
        self._model_storage, self._resource = model_storage, resource
        self.vectorizers = fitted or {}

    @classmethod
    def create(
        cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
        execution_context: ExecutionContext,
    ) -> "CharPinyinFeaturizer":  # fmt: skip
        return cls(config, execution_context.node_name, model_storage, resource)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        pass

    def train(self, training_data: TrainingData) -> Resource:
        texts = [m.get(TEXT) for m in training_data.training_examples if m.get(TEXT)]
        self.vectorizers = _vectorizers(self._config)
        for kind, vectorizer in self.vectorizers.items():
            vectorizer.fit(_inputs(kind, texts))
        with self._model_storage.write_to(self._resource) as folder:
            saved = {k: {"vocabulary": {t: int(i) for t, i in v.vocabulary_.items()}, "idf": v.idf_.tolist()}
                     for k, v in self.vectorizers.items()}  # fmt: skip
            (folder / "vectorizers.json").write_text(json.dumps(saved, ensure_ascii=False), encoding="utf-8")
        return self._resource

    @classmethod
    def load(
        cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
        execution_context: ExecutionContext, **kwargs: Any,
    ) -> "CharPinyinFeaturizer":  # fmt: skip
        config = {**cls.get_default_config(), **config}
        with model_storage.read_from(resource) as folder:
            saved = json.loads((folder / "vectorizers.json").read_text(encoding="utf-8"))
        fitted = _vectorizers(config)
        for kind, vectorizer in fitted.items():
            vectorizer.vocabulary_ = saved[kind]["vocabulary"]
            vectorizer.idf_ = np.asarray(saved[kind]["idf"], dtype=np.float32)
        return cls(config, execution_context.node_name, model_storage, resource, fitted)

    def features(self, texts: list[str]) -> scipy.sparse.csr_matrix:
        blocks = [self.vectorizers["chars"].transform(_inputs("chars", texts))]
        blocks.append(self.vectorizers["pinyin"].transform(_inputs("pinyin", texts)) * self._config["pinyin_weight"])
        return scipy.sparse.hstack(blocks).tocsr()

    def process(self, messages: list[Message]) -> list[Message]:
        wanted = [m for m in messages if m.get(TEXT)]
        if not wanted or not self.vectorizers:
            return messages
        rows = self.features([m.get(TEXT) for m in wanted])
        for i, message in enumerate(wanted):
            self.add_features_to_message(None, rows[i].tocoo(), TEXT, message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data
