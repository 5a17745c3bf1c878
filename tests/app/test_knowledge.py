from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.models import Facility, HoursException, KnowledgeEntry
from tests.app.conftest import SHANGHAI

CANONICAL_FACILITIES = {
    "居委会", "党群服务站", "社区卫生站", "睦邻活动室",
    "一网通办自助终端", "长者食堂", "物业服务中心", "社区事务受理服务中心",
}  # fmt: skip
CANONICAL_TOPICS = {
    "加装电梯", "电梯更新改造", "适老化改造", "电动自行车充电", "一网通办", "房屋维修资金",
    "停车管理", "垃圾分类", "独居老人关爱", "爬楼机服务", "反诈骗",
}  # fmt: skip


def test_content_covers_every_facility_and_topic_of_the_contract(client: TestClient) -> None:
    assert set(client.get("/api/facilities").json()) == CANONICAL_FACILITIES
    assert set(client.get("/api/policies").json()) == CANONICAL_TOPICS


def test_hours_today_follow_the_weekday_schedule(client: TestClient, seeded: sessionmaker[Session]) -> None:
    with seeded() as session:
        facility = session.scalars(select(Facility).where(Facility.name == "居委会")).one()
        saturday = sorted((p.opens, p.closes) for p in facility.periods if p.weekday == 5)
    body = client.get("/api/facilities/居委会/hours").json()
    assert body["date"] == "2026-11-21"
    assert body["weekday"] == 5
    assert [tuple(p) for p in body["periods"]] == saturday
    assert "星期六" in body["text"] and "今天" in body["text"]


def test_a_day_in_the_residents_words_is_resolved(client: TestClient) -> None:
    monday = client.get("/api/facilities/居委会/hours", params={"when": "下礼拜一开门伐"}).json()
    assert monday["date"] == "2026-11-23"
    tomorrow = client.get("/api/facilities/居委会/hours", params={"when": "明朝开伐"}).json()
    assert tomorrow["date"] == "2026-11-22"


def test_closed_day_says_so_and_when_it_opens_next(client: TestClient, seeded: sessionmaker[Session]) -> None:
    with seeded() as session:
        facility = session.scalars(select(Facility).where(Facility.name == "居委会")).one()
        sunday_periods = [p for p in facility.periods if p.weekday == 6]
    assert sunday_periods == []  # the seeded schedule this test relies on
    body = client.get("/api/facilities/居委会/hours", params={"when": "礼拜天"}).json()
    assert body["periods"] == []
    assert "不开放" in body["text"] and "下次开放" in body["text"]


def test_dated_exception_wins_over_the_weekly_schedule(client: TestClient, seeded: sessionmaker[Session]) -> None:
    from datetime import date

    with seeded() as session:
        facility = session.scalars(select(Facility).where(Facility.name == "社区卫生站")).one()
        session.add(HoursException(facility_id=facility.id, day=date(2026, 11, 23), periods=[], note="设备检修"))
        session.commit()
    body = client.get("/api/facilities/社区卫生站/hours", params={"when": "下礼拜一"}).json()
    assert body["exception"] is True
    assert body["periods"] == []
    assert "设备检修" in body["text"]


def test_open_now_depends_on_the_clock(client: TestClient, clock: dict[str, datetime]) -> None:
    assert client.get("/api/facilities/居委会/hours").json()["open_now"] is True
    clock["now"] = datetime(2026, 11, 21, 20, 0, tzinfo=SHANGHAI)
    late = client.get("/api/facilities/居委会/hours").json()
    assert late["open_now"] is False
    assert "已经关门" in late["text"]


def test_24_hour_terminal(client: TestClient) -> None:
    body = client.get("/api/facilities/一网通办自助终端/hours", params={"when": "晚上"}).json()
    assert body["periods"] == [["00:00", "24:00"]]
    assert "24小时" in body["text"]


def test_unknown_facility_is_404_with_the_known_list(client: TestClient) -> None:
    response = client.get("/api/facilities/派出所/hours")
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert "派出所" in detail["message"]
    assert set(detail["known"]) == CANONICAL_FACILITIES


def test_policy_answer_comes_from_the_database_and_follows_staff_edits(
    client: TestClient, seeded: sessionmaker[Session]
) -> None:
    first = client.get("/api/policies/电梯更新改造").json()
    assert "30%" in first["answer"] or "三成" in first["answer"]
    with seeded() as session:
        policy = session.scalars(select(KnowledgeEntry).where(KnowledgeEntry.topic == "电梯更新改造")).one()
        policy.spoken = "新的答案：请到居委会咨询。"
        session.commit()
    assert client.get("/api/policies/电梯更新改造").json()["answer"] == "新的答案：请到居委会咨询。"


def test_unknown_policy_is_404_with_the_known_topics(client: TestClient) -> None:
    response = client.get("/api/policies/养宠物")
    assert response.status_code == 404
    assert set(response.json()["detail"]["known"]) == CANONICAL_TOPICS
