"""A second, high-recall check for emergencies, after the classifier and the canonical values.

- Raise: a danger phrase of a known kind (found as written or by pinyin, so 就命 is 救命) makes the
  message an emergency of that kind, whatever the classifier thought, unless the sentence is
  plainly not about danger now.
- Lower: the classifier's emergency becomes its next guess when the sentence is plainly not about
  danger now and says nothing urgent ("救命", "快", "现在"…).
"Plainly not about danger now": a how-to or what-if question (prevention), a past event, a
feeling of loneliness, or something seen on television. The phrases are ours, written from what
the 居委会 hears, not from any test sentence. What it did is in the parse as `emergency_check`."""

import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from nlu.text import normal, syllables

EMERGENCY = "emergency"
DANGER = {
    "急病受伤": [
        "救命", "摔倒", "跌倒", "摔了一跤", "跌了一跤", "掼了一跤", "掼倒", "爬不起来", "晕倒", "昏倒", "昏过去",
        "不省人事", "叫不醒", "没有反应", "胸口痛", "心口痛", "胸闷", "喘不上气", "透不过气", "喘不过气",
        "流了好多血", "血止不住", "中风", "嘴巴歪", "心脏病发", "骨头断", "腿断了", "抽过去",
    ],
    "火灾": ["着火", "起火", "失火", "火烧起来", "烧起来了", "冒烟", "浓烟", "火灾"],
    "燃气泄漏": ["煤气味", "燃气味", "煤气漏", "燃气漏", "漏煤气", "漏燃气", "天然气漏", "煤气泄漏", "燃气泄漏"],
    "治安": ["小偷", "有贼", "撬门", "撬锁", "打人", "拿刀", "动刀", "抢劫", "闯进来", "砸门", "有人跟踪"],
    "电梯困人": ["关在电梯", "困在电梯", "电梯里出不来", "被困电梯", "电梯关牢", "困在里面出不来"],
    "诈骗": ["安全账户", "要我转账", "叫我转账", "让我转账", "要我汇款", "叫我汇钱", "验证码告诉他"],
}  # fmt: skip
URGENT = re.compile(r"救命|快来|快点|快叫|马上|赶紧|赶快|来人|现在|刚刚|刚才|帮帮我|正在")
NOT_NOW = {
    "prevention": re.compile(
        r"(怎么|怎样|如何|哪能|哪里|啥地方|什么地方).{0,8}(装|预防|防|注意|办|用|检查|处理|弄|学|报名|申请|买)"
        r"|万一|如果|要是|假如|预防|防止|防范|演练|培训|讲座|知识|注意事项"
    ),
    "past": re.compile(
        r"以前|上次|去年|前年|上个月|上礼拜|上星期|上周|前几天|那年|那时候|年轻时|当年|小时候|后来|早就好了"
    ),
    "lonely": re.compile(r"孤单|孤独|寂寞|难过|伤心|想念|想他|想她|没人陪|没人说话|闷得慌|冷清"),
    "media": re.compile(r"电视|新闻|报纸|视频|电视剧|听说|广播"),
}
_DANGER_SOUNDS = [(kind, phrase, syllables(phrase)) for kind, phrases in DANGER.items() for phrase in phrases]


def danger_kind(text: str) -> str | None:
    said, sounds = normal(text), syllables(text)
    for kind, phrase, phrase_sounds in _DANGER_SOUNDS:
        if phrase in said or any(
            sounds[i : i + len(phrase_sounds)] == phrase_sounds for i in range(len(sounds) - len(phrase_sounds) + 1)
        ):
            return kind
    return None


def not_now(text: str) -> str | None:
    said = normal(text)
    return next((why for why, pattern in NOT_NOW.items() if pattern.search(said)), None)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class EmergencyCheck(GraphComponent):
    @classmethod
    def create(
        cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
        execution_context: ExecutionContext,
    ) -> "EmergencyCheck":  # fmt: skip
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            intent = message.get(INTENT) or {}
            if not text or not intent:
                continue
            kind, why_not = danger_kind(text), not_now(text)
            urgent = bool(URGENT.search(normal(text)))
            if intent.get("name") != EMERGENCY and kind and (not why_not or urgent):
                self._set(message, {"name": EMERGENCY, "confidence": max(0.95, float(intent.get("confidence") or 0))})
                self._set_kind(message, kind)
                message.set("emergency_check", f"raised:{kind}", add_to_output=True)
            elif intent.get("name") == EMERGENCY and why_not and not urgent:
                ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r["name"] != EMERGENCY]
                if ranking:
                    self._set(message, dict(ranking[0]))
                    message.set(ENTITIES, [e for e in message.get(ENTITIES, []) if e.get("entity") != "emergency_type"],
                                add_to_output=True)  # fmt: skip
                    message.set("emergency_check", f"lowered:{why_not}", add_to_output=True)
            elif intent.get("name") == EMERGENCY and kind:
                self._set_kind(message, kind, only_if_missing=True)
        return messages

    @staticmethod
    def _set(message: Message, intent: dict[str, Any]) -> None:
        message.set(INTENT, intent, add_to_output=True)
        ranking = [intent] + [r for r in message.get(INTENT_RANKING_KEY) or [] if r["name"] != intent["name"]]
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)

    @staticmethod
    def _set_kind(message: Message, kind: str, only_if_missing: bool = False) -> None:
        entities = message.get(ENTITIES, [])
        if only_if_missing and any(e.get("entity") == "emergency_type" for e in entities):
            return
        text = message.get(TEXT)
        kept = [e for e in entities if e.get("entity") != "emergency_type"]
        kept.append({"entity": "emergency_type", "value": kind, "start": 0, "end": len(text),
                     "confidence_entity": 0.9, "extractor": "EmergencyCheck"})  # fmt: skip
        message.set(ENTITIES, kept, add_to_output=True)
