"""A second, high-recall check for emergencies, after the classifier, the canonical values and
the FallbackClassifier (an emergency the classifier was unsure of, but still thought likeliest,
stays an emergency: asking "您是想……吗" first costs time).

- Raise: a danger phrase of a known kind (found as written or by pinyin, so 就命 is 救命) makes the
  message an emergency of that kind, unless the sentence is plainly not about danger now or the
  classifier is sure it is something else; with an urgent word it always does.
- Lower: the classifier's emergency becomes its next guess only when the classifier was unsure
  (below 0.8), the next guess is not itself unsure, the sentence says nothing urgent ("救命",
  "快"…) and it is plainly not about danger now (loneliness never lowers: it only adds `care`).
"Plainly not about danger now": a how-to or what-if question (prevention), a past event, a
feeling of loneliness, or something seen on television. Loneliness is marked as the entity
`care` (value 孤单), for which the dialogue offers a visit or a call from the 居委会. The phrases
are ours, written from what the 居委会 hears, not from any test sentence. What the check did is
in the parse as `emergency_check`."""

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
FALLBACK = "nlu_fallback"
DANGER = {
    "急病受伤": [
        "摔倒", "跌倒", "摔了一跤", "跌了一跤", "掼了一跤", "跌跤", "掼跤", "掼倒", "滑倒", "爬不起来",
        "爬勿起来", "起不来", "起勿来", "晕倒", "昏倒", "昏过去", "晕过去", "昏迷", "不省人事", "叫不醒", "叫勿醒",
        "叫他没反应", "叫伊没反应", "倒在地上", "胸口痛", "心口痛", "心口头痛", "胸闷", "胸口闷", "喘不上气",
        "透不过气", "喘不过气", "一口气上勿来", "呼吸困难", "噎住", "噎牢", "流血", "出血", "血止不住", "止勿牢",
        "中风", "嘴巴歪", "半边身体", "讲话含糊", "心脏病", "骨头断", "腿断", "摔断", "烫伤", "口吐白沫",
        "动不了", "动勿了", "叫救护车", "叫一二零", "打一二零", "拨一二零",
    ],
    "火灾": [
        "着火", "火着了", "起火", "失火", "烧起来", "烧上来", "冒烟", "黑烟", "浓烟", "烟老大", "火苗",
        "火灾", "叫一一九", "打一一九", "拨一一九",
    ],
    "燃气泄漏": [
        "煤气味", "燃气味", "煤气漏", "燃气漏", "漏煤气", "漏燃气", "天然气漏", "煤气泄漏", "燃气泄漏", "燃气泄露",
        "漏气", "煤气冲",
    ],
    "治安": [
        "小偷", "有贼", "进贼", "贼骨头", "撬门", "撬锁", "撬窗", "被人撬", "打人", "被人打", "拿刀", "动刀",
        "拿棍子", "抢劫", "抢包", "抢钱", "闯进", "冲进来", "砸门", "跟牢我", "威胁", "敲诈", "帮我报警",
        "快报警", "叫一一零", "打一一零", "拨一一零",
    ],
    "电梯困人": [
        "关在电梯", "困在电梯", "电梯里出不来", "被困电梯", "电梯关牢", "电梯里关牢", "电梯关人", "电梯困人",
        "电梯卡住", "电梯卡牢", "关牢在电梯", "困在里面出不来",
    ],
    "诈骗": [
        "安全账户", "要我转账", "叫我转账", "让我转账", "要我汇款", "叫我汇钱", "验证码告诉",
        "冻结了要", "骗我转",
    ],
    # danger of no known kind: the general list of numbers
    "": ["救命", "快来人", "来人啊", "快救人", "救救我", "出事体了", "出大事了"],
}  # fmt: skip
# words of urgency, not of time: "现在/刚刚" also open a question or a story
URGENT = re.compile(r"救命|快来|快点|快叫|快打|马上|赶紧|赶快|来人|帮帮我")
NOT_NOW = {
    # "怎么办", "怎么处理" are pleas for help now, not prevention: only preparing and what-ifs count
    "prevention": re.compile(
        r"(怎么|怎样|如何|哪能|哪里|啥地方|什么地方|要做啥|做哪些).{0,8}(装|预防|防范|检查|报名|申请|买|约|评估|报销|学)"
        r"|万一|如果|要是|假如|假使|预防|防止|防范|演练|培训|讲座|知识|注意事项|隐患|担心|提前问"
    ),
    "past": re.compile(
        r"以前|上次|去年|前年|上个月|上礼拜|上星期|上周|前几天|那年|那时候|年轻时|当年|小时候|后来|早就好了"
    ),
    # not 难过 / 难受: in Shanghainese 心脏难过 is a body in trouble, not a sad heart
    "lonely": re.compile(
        r"孤单|孤独|寂寞|伤心|想念|想他|想她|想老伴|想儿子|想女儿|想孙|没人陪|没人说话|没人讲话|没人来看"
        r"|不来看我|勿来看我|闷得慌|冷清|空落落|心里空|不开心|勿开心|想哭|一个人好|一个人在屋|一个人在家|没意思"
    ),
    "media": re.compile(r"电视|新闻|报纸|电视剧|电影|广播|做梦|梦到|是啥意思|什么意思"),
}
# with tones: a recogniser's same-sound character keeps them, a different word mostly does not
_DANGER_SOUNDS = [
    (kind, phrase, syllables(phrase, tones=True)) for kind, phrases in DANGER.items() for phrase in phrases
]


GENERAL = ""
# A classifier this sure of another intent is not overruled by a danger phrase alone ("着火了往哪
# 跑" in a fire-safety question); an urgent word ("快", "救命", "现在") still overrules it.
SURE = 0.8
LOWER_TO = 0.4  # the FallbackClassifier's threshold (config.yml)


_CLAUSE = re.compile(r"[，。！？、,.!?；;：:\n]+")


def danger_kind(text: str) -> str | None:
    """The kind of danger a phrase of DANGER names ("" for danger of no known kind), or None.
    Phrases are looked for within a clause (never across a comma), specific kinds first."""
    found = None
    for clause in _CLAUSE.split(text):
        said, sounds = normal(clause), syllables(clause, tones=True)
        for kind, phrase, phrase_sounds in _DANGER_SOUNDS:
            n = len(phrase_sounds)
            if phrase in said or any(sounds[i : i + n] == phrase_sounds for i in range(len(sounds) - n + 1)):
                if kind != GENERAL:
                    return kind
                found = GENERAL
    return found


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
            danger = kind is not None
            urgent = bool(URGENT.search(normal(text)))
            ranking = message.get(INTENT_RANKING_KEY) or []
            best_guess = next((r for r in ranking if r["name"] != FALLBACK), None)
            if (
                intent.get("name") == FALLBACK and best_guess and best_guess["name"] == EMERGENCY
                and danger and not why_not
            ):  # fmt: skip
                # unsure, but most likely danger: never ask "您是想……吗" first
                intent = dict(best_guess)
                self._set(message, intent)
                message.set("emergency_check", "unsure-but-most-likely", add_to_output=True)
            sure_otherwise = float(intent.get("confidence") or 0) >= SURE and intent.get("name") != FALLBACK
            if intent.get("name") != EMERGENCY and danger and (urgent or (not why_not and not sure_otherwise)):
                self._set(message, {"name": EMERGENCY, "confidence": max(0.95, float(intent.get("confidence") or 0))})
                if kind != GENERAL:
                    self._set_kind(message, kind)
                message.set("emergency_check", f"raised:{kind}", add_to_output=True)
            elif intent.get("name") == EMERGENCY and why_not and why_not != "lonely" and not urgent:
                # a sure emergency is never lowered, nor one whose next guess is itself unsure
                ranking = [r for r in ranking if r["name"] not in (EMERGENCY, FALLBACK)]
                if float(intent.get("confidence") or 0) < SURE and ranking and ranking[0]["confidence"] >= LOWER_TO:
                    self._set(message, dict(ranking[0]))
                    message.set(ENTITIES, [e for e in message.get(ENTITIES, []) if e.get("entity") != "emergency_type"],
                                add_to_output=True)  # fmt: skip
                    message.set("emergency_check", f"lowered:{why_not}", add_to_output=True)
            elif intent.get("name") == EMERGENCY and kind and kind != GENERAL:
                self._set_kind(message, kind, only_if_missing=True)
            if why_not == "lonely" and (message.get(INTENT) or {}).get("name") != EMERGENCY:
                # not an alarm: the dialogue offers a visit or a call from the 居委会 instead
                care = {"entity": "care", "value": "孤单", "start": 0, "end": len(text), "extractor": "EmergencyCheck"}
                message.set(ENTITIES, [*message.get(ENTITIES, []), care], add_to_output=True)
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
