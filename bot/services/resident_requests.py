"""Residents' requests (诉求/报修): filed from a conversation, dispatched and followed up by staff.

Statuses: 已受理 → 已派单 → 处理中 → 已办结 → 已回访, or 已撤销. Safety problems are urgent and
raise an alert for staff the moment they are filed.
"""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.models import ResidentRequest
from bot.services import alerts, records, spoken

CATEGORIES = (
    "房屋报修",
    "楼道堆物",
    "飞线充电",
    "乱停车",
    "噪音扰民",
    "电梯故障",
    "物业投诉",
    "环境卫生",
    "公共设施损坏",
    "其他",
)

# What residents most often report in each category: tiles for those who answer by touch (any
# other description can be said or typed). None names a danger (_DANGER below): those are alerts.
COMMON_DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "房屋报修": ("屋顶漏水", "水管漏水", "下水道堵了", "墙皮掉了", "门窗坏了"),
    "楼道堆物": ("楼道里堆了杂物", "楼道里堆了纸箱", "楼道里放了旧家具"),
    "飞线充电": ("楼上拉电线给电瓶车充电", "电瓶车推进楼道里充电"),
    "乱停车": ("车停在消防通道上", "车挡住了楼门口", "自行车电瓶车乱停"),
    "噪音扰民": ("晚上装修太吵", "广场舞声音太大", "楼上太吵"),
    "电梯故障": ("电梯坏了不能用", "电梯按钮不灵", "电梯有怪声音"),
    "物业投诉": ("报修了物业没人来", "保洁没有打扫", "门卫不管事"),
    "环境卫生": ("垃圾没人清", "有老鼠蟑螂", "绿化没人管"),
    "公共设施损坏": ("路灯不亮", "楼道灯不亮", "单元门坏了", "健身器材坏了"),
    "其他": (),
}
# The description kept when a resident touches 其他 and says nothing more: staff will call.
UNDESCRIBED = "没有细说，请工作人员打电话问一下"

# When the resident names no category, these words decide it (the NLU entity is tried first).
_CATEGORY_WORDS = (
    ("飞线充电", r"飞线|拉电线|拖线|电线.*充电|充电.*电线"),
    ("电梯故障", r"电梯|电提"),
    ("楼道堆物", r"堆物|堆东西|堆了|杂物|纸板|堆满"),
    ("乱停车", r"停车|乱停|消防通道|堵"),
    ("噪音扰民", r"吵|噪音|噪声|响"),
    ("物业投诉", r"物业|保安"),
    ("环境卫生", r"垃圾|老鼠|臭|脏|卫生|狗屎"),
    ("公共设施损坏", r"路灯|楼道.*灯|灯.*楼道|声控灯|扶手|健身|椅子|单元门|门禁|设施"),
    ("房屋报修", r"漏水|渗水|漏|水管|天花板|墙|窗|报修|修"),
)

# Danger in what was said: someone trapped in a lift, gas, smoke or fire.
_DANGER = (
    ("电梯困人", r"(电梯|电提).*(关|困|卡|有人|出不来|出勿来)|(关|困)在电梯"),
    ("燃气泄漏", r"煤气|燃气|天然气|气味|漏气"),
    ("火灾", r"冒烟|烟味|着火|起火|火"),
)
URGENT_CATEGORIES = ("飞线充电",)


def category_from_words(text: str) -> str | None:
    return next((category for category, words in _CATEGORY_WORDS if re.search(words, text)), None)


def danger_in(text: str) -> str | None:
    """The emergency kind (as in alerts.EMERGENCY_KINDS) that the words describe, if any."""
    return next((kind for kind, words in _DANGER if re.search(words, text)), None)


def is_urgent(category: str, text: str) -> bool:
    return category in URGENT_CATEGORIES or danger_in(text) is not None


def file_request(
    session: Session,
    *,
    idempotency_key: str,
    sender_id: str,
    channel: str,
    phone: str,
    category: str,
    description: str,
    location: str,
) -> tuple[ResidentRequest, bool]:
    if category not in CATEGORIES:
        raise ValueError(f"category must be one of {', '.join(CATEGORIES)}")
    urgent = is_urgent(category, description)
    row = ResidentRequest(
        idempotency_key=idempotency_key,
        sender_id=sender_id,
        channel=channel,
        phone=phone,
        category=category,
        description=description,
        location=location,
        urgent=urgent,
    )
    request, created = records.insert_record(session, row)
    assert isinstance(request, ResidentRequest)
    if created and urgent:
        alerts.raise_alert(
            session,
            kind=category,
            source="request",
            sender_id=sender_id,
            channel=channel,
            message=f"{request.number} {location} {description}"[:2000],
            message_id=f"request:{request.number}",
        )
    return request, created


def withdraw(session: Session, request: ResidentRequest, *, actor: str) -> ResidentRequest:
    records.change_status(session, request, status="已撤销", actor=actor)
    return request


_STATUS_WORDS = {
    "已受理": "已经受理，正在安排人处理",
    "已派单": "已经派给相关部门，会有人联系您",
    "处理中": "正在处理",
    "已办结": "已经办好了",
    "已回访": "已经办好，也回访过了",
    "已撤销": "已经撤销了",
}


def describe(request: ResidentRequest, *, now: datetime) -> str:
    filed = records.as_utc(request.created_at).astimezone(ZoneInfo("Asia/Shanghai")).date()
    when = spoken.day_name(filed, today=now.date())
    where = f"{request.location}的" if request.location else ""
    status = _STATUS_WORDS.get(request.status, request.status)
    return f"您{when}反映的{where}{request.category}（编号{spoken.record_number(request.number)}）{status}。"
