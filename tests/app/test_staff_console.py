"""The staff console through HTTP: sign-in, refusals on every staff route, rate limit, expiry,
the request queue, the taxi board, the stair-climber day, content edits with history, alerts,
exports and the audit log. Conversations are tested against a real engine in tests/integration."""

import re
from datetime import timedelta
from typing import Any

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.api.routes import staff_api, staff_knowledge, staff_pages
from bot.models import AuditEntry, ContentChange, ResidentRequest, StatusChange
from bot.services import staff_auth
from tests.app.conftest import sign_in
from tests.app.test_bookings import climber_body, request_body, taxi_body


def sample_path(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: "2026-11-23" if "day" in m.group() else "1", path)


def staff_routes() -> list[tuple[str, str]]:
    """(method, path) of every staff page and staff API route, as mounted by the app."""
    found = []
    for prefix, router in (("", staff_pages.router), ("", staff_knowledge.router), ("/api", staff_api.router)):
        for route in router.routes:
            assert isinstance(route, APIRoute)
            found += [(method, prefix + route.path) for method in sorted(route.methods)]
    return found


def test_every_staff_route_refuses_anyone_not_signed_in(client: TestClient) -> None:
    routes = [(m, p) for m, p in staff_routes() if p != "/staff/login"]
    assert len(routes) > 30
    for method, path in routes:
        response = client.request(method, sample_path(path), follow_redirects=False)
        if path.startswith("/api/"):
            assert response.status_code == 401, (method, path)
            assert response.json() == {"detail": "请先登录"}
        else:
            assert response.status_code == 303, (method, path)
            assert response.headers["location"].startswith("/staff/login")


def test_sign_in_out_and_wrong_password(client: TestClient, accounts: sessionmaker[Session]) -> None:
    wrong = sign_in(client, password="not-the-password")
    assert wrong.status_code == 303 and wrong.headers["location"] == "/staff/login"
    assert "用户名或密码不对" in client.get("/staff/login").text
    assert client.get("/staff/", follow_redirects=False).status_code == 303
    assert sign_in(client).status_code == 303
    home = client.get("/staff/")
    assert home.status_code == 200 and "王主任" in home.text and "<svg" in home.text
    client.post("/staff/logout")
    assert client.get("/api/staff/alerts").status_code == 401


def test_login_slows_down_after_a_few_failures_and_then_lets_the_right_password_in(
    client: TestClient, accounts: sessionmaker[Session], clock: dict[str, Any]
) -> None:
    for _ in range(staff_auth.FREE_TRIES):
        sign_in(client, password="guess-guess")
    sign_in(client)  # the right password, but within the wait: not even looked at
    assert client.get("/api/staff/alerts").status_code == 401
    assert "请稍等1秒再试" in client.get("/staff/login").text
    clock["now"] += timedelta(seconds=1)
    assert sign_in(client).status_code == 303
    assert client.get("/api/staff/alerts").status_code == 200


def test_sessions_expire(staff: TestClient, clock: dict[str, Any]) -> None:
    clock["now"] += timedelta(hours=7, minutes=59)
    assert staff.get("/api/staff/alerts").status_code == 200
    clock["now"] += timedelta(minutes=2)
    assert staff.get("/api/staff/alerts").status_code == 401


def test_staff_cannot_manage_accounts_but_admin_can(client: TestClient, accounts: sessionmaker[Session]) -> None:
    sign_in(client, "xiaoli")
    assert client.get("/staff/users").status_code == 403
    client.post("/staff/logout")
    sign_in(client, "admin")
    made = client.post("/staff/users", data={"username": "zhang", "password": "long-enough-1", "role": "staff"})
    assert made.status_code == 200 and "zhang" in made.text


def test_request_moves_through_the_queue_with_notes_and_follow_up(
    staff: TestClient, accounts: sessionmaker[Session]
) -> None:
    number = staff.post("/api/requests", json=request_body("staff-rq-1", category="房屋报修")).json()["number"]
    queue = staff.get("/staff/requests", params={"status": "已受理"})
    assert number in queue.text and "13812345678" not in queue.text  # the queue shows no phone
    page = staff.get(f"/staff/requests/{number}")
    assert "13812345678" in page.text  # signed-in staff see it on the request itself
    staff.post(f"/staff/requests/{number}/assign", data={"department": "物业", "assignee": "陈师傅"})
    for status in ("已派单", "处理中", "已办结"):
        staff.post(f"/staff/requests/{number}/status", data={"status": status, "note": f"备注{status}"})
    staff.post(f"/staff/requests/{number}/follow-up", data={"satisfaction": "满意", "note": "修好了"})
    with accounts() as session:
        request = session.scalars(select(ResidentRequest).where(ResidentRequest.number == number)).one()
        assert (request.status, request.department, request.assignee, request.satisfaction) == (
            "已回访", "物业", "陈师傅", "满意",
        )  # fmt: skip
        notes = [c.note for c in session.scalars(select(StatusChange).order_by(StatusChange.id)) if c.note]
        assert notes[:3] == ["备注已派单", "备注处理中", "备注已办结"]
        actions = [(a.actor, a.action) for a in session.scalars(select(AuditEntry))]
        assert ("admin", "view") in actions and ("admin", "assign") in actions and ("admin", "status") in actions
    csv_text = staff.get("/staff/export/requests.csv").text
    assert number in csv_text and "已回访" in csv_text


def test_overdue_requests_are_marked(staff: TestClient, clock: dict[str, Any]) -> None:
    number = staff.post("/api/requests", json=request_body("staff-rq-2", category="飞线充电")).json()["number"]
    clock["now"] += timedelta(days=3)
    assert sign_in(staff).status_code == 303  # three days on, the morning's sign-in has expired
    overdue = staff.get("/staff/requests", params={"overdue": "true"})
    assert number in overdue.text and "超期" in overdue.text


def test_taxi_board_dispatch_is_heard_by_the_resident(staff: TestClient) -> None:
    urgent = staff.post(
        "/api/taxi-bookings", json=taxi_body("staff-taxi-1", asap=True, pickup_at="2026-11-21T10:00:00+08:00")
    ).json()
    later = staff.post("/api/taxi-bookings", json=taxi_body("staff-taxi-2")).json()
    board = staff.get("/staff/taxi").text
    assert board.index(urgent["number"]) < board.index(later["number"])  # urgent first
    staff.post(f"/staff/taxi/{later['number']}/dispatch", data={"plate": "沪a12345", "car": "白色大众", "eta": "08:50"})
    heard = staff.post("/api/records/status", json={"sender_id": "resident-1", "number": later["number"]}).json()
    assert "沪A12345" in heard["texts"][0] and "白色大众" in heard["texts"][0]
    alerts = staff.get("/api/staff/alerts").json()
    assert [a["source"] for a in alerts] == ["taxi"] and urgent["number"] in alerts[0]["message"]
    staff.post(f"/api/staff/alerts/{alerts[0]['id']}/ack")
    assert staff.get("/api/staff/alerts").json() == []


def test_callbacks_wait_in_their_queue_until_called_back(staff: TestClient, accounts: sessionmaker[Session]) -> None:
    kept = "【系统故障没能保存，请回电办理】叫出租车：明天上午9点，从五号楼门口到六院，1位，电话13812345678。"
    for sender, phone, message in (("cb-1", "13900001111", "转人工"), ("cb-2", "13812345678", kept)):
        body = {"sender_id": sender, "channel": "kiosk", "phone": phone, "message": message, "message_id": "m1"}
        assert staff.post("/api/handoffs", json=body).status_code == 201
    queue = staff.get("/staff/callbacks").text
    assert queue.index("13900001111") < queue.index("13812345678")  # the longest waiting first
    assert "五号楼门口到六院" in queue and queue.count(">已回电</button>") == 2
    first = re.search(r"/staff/callbacks/(\d+)/called", queue)
    assert first is not None
    done = staff.post(f"/staff/callbacks/{first.group(1)}/called")
    assert "回过电话了" in done.text and done.text.count(">已回电</button>") == 1
    assert staff.post("/staff/callbacks/999999/called").status_code == 404
    with accounts() as session:
        logged = session.scalars(select(AuditEntry).where(AuditEntry.object_kind == "callback")).all()
        assert [(e.action, e.object_id) for e in logged] == [
            ("view", "queue"),
            ("change", first.group(1)),
            ("view", "queue"),
        ]


def test_climber_day_view_cancel_and_reschedule(staff: TestClient) -> None:
    booked = staff.post("/api/stair-climber/bookings", json=climber_body("staff-climber-1", "a")).json()
    day = staff.get("/staff/climber", params={"day": "2026-11-23"}).text
    assert booked["number"] in day and "一号爬楼机" in day
    staff.post(f"/staff/climber/{booked['number']}/reschedule", data={"slot_start": "2026-11-23T13:00"})
    moved = staff.get("/staff/climber", params={"day": "2026-11-23"}).text
    assert moved.index(booked["number"]) > moved.index("13:00")
    staff.post(f"/staff/climber/{booked['number']}/cancel")
    assert booked["number"] not in staff.get("/staff/climber", params={"day": "2026-11-23"}).text


def test_content_edits_change_the_next_answer_and_are_kept(staff: TestClient, accounts: sessionmaker[Session]) -> None:
    before = staff.get("/api/facilities/居委会/hours", params={"when": "礼拜一"}).json()["text"]
    weekly = {f"day{n}": "08:00-12:00" for n in range(7)}
    weekly["day6"] = ""
    staff.post("/staff/content/facility/居委会/weekly", data=weekly)
    after = staff.get("/api/facilities/居委会/hours", params={"when": "礼拜一"}).json()["text"]
    assert after != before and "8点" in after and "12点" in after
    bad = staff.post("/staff/content/facility/居委会/weekly", data={**weekly, "day0": "8点到12点"})
    assert "时段" in bad.text  # a clear message, and nothing changed
    staff.post("/staff/content/facility/居委会/exceptions", data={"day": "2026-11-23", "periods": "", "note": "停电"})
    closed = staff.get("/api/facilities/居委会/hours", params={"when": "2026年11月23日"}).json()["text"]
    assert "不开" in closed or "停电" in closed
    staff.post("/staff/content/policy/垃圾分类", data={"answer": "湿垃圾早上七点到九点投放。"})
    assert staff.get("/api/policies/垃圾分类").json()["answer"] == "湿垃圾早上七点到九点投放。"
    with accounts() as session:
        changes = list(session.scalars(select(ContentChange).order_by(ContentChange.id)))
        assert [(c.kind, c.name, c.actor) for c in changes] == [
            ("facility", "居委会", "admin"), ("facility", "居委会", "admin"), ("policy", "垃圾分类", "admin"),
        ]  # fmt: skip
        assert changes[0].after["weekly"]["mon"] == [["08:00", "12:00"]]


def test_staff_api_routes_answer_and_refuse_clearly(staff: TestClient, accounts: sessionmaker[Session]) -> None:
    number = staff.post("/api/requests", json=request_body("staff-api-1", category="环境卫生")).json()["number"]
    assigned = staff.post(f"/api/staff/requests/{number}/assign", json={"department": "物业", "assignee": "小王"})
    assert assigned.status_code == 200
    assert staff.post(f"/api/staff/requests/{number}/assign", json={"department": "外星"}).status_code == 422
    assert staff.post("/api/staff/requests/899999/assign", json={"department": "物业"}).status_code == 404
    too_early = staff.post(f"/api/staff/requests/{number}/follow-up", json={"satisfaction": "满意"})
    assert too_early.status_code == 409  # only after 已办结
    assert staff.post(f"/api/staff/records/{number}/status", json={"status": "已派单"}).status_code == 200
    skipped = staff.post(f"/api/staff/records/{number}/status", json={"status": "已办结"})
    assert skipped.status_code == 409  # 已派单 → 已办结 skips 处理中
    staff.post(f"/api/staff/records/{number}/status", json={"status": "处理中"})
    staff.post(f"/api/staff/records/{number}/status", json={"status": "已办结"})
    followed = staff.post(f"/api/staff/requests/{number}/follow-up", json={"satisfaction": "基本满意", "note": "还行"})
    assert followed.status_code == 200 and followed.json()["status"] == "已回访"
    assert staff.post("/api/staff/records/123/status", json={"status": "已完成"}).status_code == 404
    weekly = {str(n): "09:00-11:00" for n in range(7)}
    assert staff.put("/api/staff/facilities/长者食堂/weekly", json={"weekly": weekly}).status_code == 204
    assert "9点" in staff.get("/api/facilities/长者食堂/hours").json()["text"]
    assert staff.put("/api/staff/facilities/长者食堂/weekly", json={"weekly": {"0": "九点"}}).status_code == 422
    assert staff.put("/api/staff/facilities/火星站/weekly", json={"weekly": weekly}).status_code == 404
    assert staff.put("/api/staff/policies/反诈骗", json={"answer": "不转账。"}).status_code == 204
    assert staff.put("/api/staff/policies/不存在", json={"answer": "x"}).status_code == 404
    assert staff.put("/api/staff/policies/反诈骗", json={"answer": ""}).status_code == 422
    assert staff.get("/api/staff/conversations/nobody-here").status_code == 404
    assert staff.post("/api/staff/alerts/999/ack").status_code == 404
    assert staff.post("/api/staff/taxi/399999/dispatch", json={"plate": "沪A1"}).status_code == 404


def test_taxi_status_exceptions_and_policy_pages(staff: TestClient) -> None:
    number = staff.post("/api/taxi-bookings", json=taxi_body("staff-taxi-9")).json()["number"]
    assert "已取消" in staff.post(f"/staff/taxi/{number}/status", data={"status": "已取消"}).text
    assert number not in staff.get("/staff/taxi").text  # the board shows rides still to drive
    staff.post("/staff/content/facility/社区卫生站/exceptions", data={"day": "2027-01-01", "note": "元旦休息"})
    page = staff.get("/staff/content/facility/社区卫生站").text
    assert "元旦休息" in page
    staff.post("/staff/content/facility/社区卫生站/exceptions/2027-01-01/delete")
    assert "元旦休息" not in staff.get("/staff/content/facility/社区卫生站").text
    policy = staff.get("/staff/content/policy/一网通办")
    assert policy.status_code == 200 and "<textarea" in policy.text
    assert staff.get("/staff/content/policy/不存在").status_code == 404
    exported = staff.get("/staff/export/bookings.csv")
    assert exported.headers["content-type"].startswith("text/csv") and number in exported.text
