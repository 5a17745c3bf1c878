"""The staff console's pages, server-rendered in Chinese. Forms post back here and redirect
(post/redirect/get); everything goes through bot.services, like the JSON API."""

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy import select

from bot.api.deps import NowDep, SessionDep
from bot.api.limits import client_address
from bot.api.security_headers import csp_nonce
from bot.api.staff import (
    SHANGHAI,
    AdminDep,
    StaffDep,
    device_id,
    page,
    redirect,
    sign_in,
    sign_out,
)
from bot.models import (
    ClimberBooking,
    ConversationReview,
    Facility,
    KnowledgeEntry,
    ResidentRequest,
    StaffUser,
    TaxiBooking,
)
from bot.services import (
    audit,
    content_admin,
    conversations,
    handoff,
    knowledge,
    records,
    resident_requests,
    spoken,
    staff_auth,
    staff_work,
    stair_climber,
    taxi_places,
)
from bot.services.content import ContentError
from bot.web import charts

router = APIRouter(prefix="/staff", include_in_schema=False)

INTENTS = [
    "greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "help", "repeat", "human_handoff", "emergency",
    "out_of_scope", "ask_service_hours", "ask_policy", "book_taxi", "book_stair_climber", "file_request",
    "check_status", "cancel_booking", "inform",
]  # fmt: skip
FLAGS = {
    "low_confidence": "把握低",
    "fallback": "没听懂",
    "handoff": "转人工",
    "emergency": "紧急",
    "booked": "有预约/诉求",
    "unreviewed": "还没看过",
}


# --- sign in ----------------------------------------------------------------------------------


def _after_login(target: str) -> str:
    return target if target.startswith("/staff/") and not target.startswith("/staff/login") else "/staff/"


def _wait_words(seconds: int) -> str:
    return f"{seconds}秒" if seconds < 60 else f"{-(-seconds // 60)}分钟"


@router.get("/login")
def login_page(request: Request, next: str = "/staff/") -> Response:
    return page(request, "login.html", None, title="登录", next=_after_login(next))


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    now: NowDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=500)] = "/staff/",
) -> Response:
    target = _after_login(next)
    again = "/staff/login" if target == "/staff/" else f"/staff/login?next={quote(target)}"
    try:
        user = staff_auth.authenticate(
            session, username=username, password=password, client=client_address(request),
            device=device_id(request), now=now,
        )  # fmt: skip
    except staff_auth.TryLater as wait:
        return redirect(request, again, f"请稍等{_wait_words(wait.seconds)}再试。", error=True)
    if user is None:
        return redirect(request, again, "用户名或密码不对。", error=True)
    request.session.clear()  # nothing from before the sign-in is carried over
    return sign_in(request, redirect(request, target), session, user, now)


@router.post("/logout")
def logout(request: Request, session: SessionDep, now: NowDep) -> Response:
    request.session.clear()
    return sign_out(request, redirect(request, "/staff/login", "已经退出。"), session, now)


@router.get("/password")
def password_page(request: Request, user: StaffDep) -> Response:
    return page(
        request, "password.html", user, title="改密码", nav="/staff/password", min_length=staff_auth.MIN_PASSWORD
    )


@router.post("/password")
def change_password(
    request: Request,
    user: StaffDep,
    session: SessionDep,
    now: NowDep,
    current: Annotated[str, Form(max_length=200)],
    new: Annotated[str, Form(max_length=200)],
    again: Annotated[str, Form(max_length=200)],
) -> Response:
    if new != again:
        return redirect(request, "/staff/password", "两次输入的新密码不一样。", error=True)
    try:
        staff_auth.change_password(
            session, user=user, current=current, new=new, client=client_address(request), device=device_id(request),
            now=now,
        )  # fmt: skip
    except staff_auth.TryLater as wait:
        return redirect(request, "/staff/password", f"请稍等{_wait_words(wait.seconds)}再试。", error=True)
    except staff_auth.AccountError as exc:
        return redirect(request, "/staff/password", str(exc), error=True)
    # Every session of the account has ended; this browser gets a fresh one.
    done = redirect(request, "/staff/", "密码已改好。在别处登录的都已退出。")
    return sign_in(request, done, session, user, now)


# --- dashboard --------------------------------------------------------------------------------


def _days(now: datetime, count: int = 14) -> list[date]:
    today = now.astimezone(SHANGHAI).date()
    return [today - timedelta(days=n) for n in range(count - 1, -1, -1)]


@router.get("/")
def dashboard(request: Request, user: StaffDep, session: SessionDep, now: NowDep) -> Response:
    stats = conversations.stats(session, tz=SHANGHAI)
    days = _days(now)
    labels = [d.strftime("%m-%d") for d in days]
    booked: dict[str, Counter[date]] = {"叫车": Counter(), "爬楼机": Counter(), "诉求": Counter()}
    for name, model in (("叫车", TaxiBooking), ("爬楼机", ClimberBooking), ("诉求", ResidentRequest)):
        for created in session.scalars(select(model.created_at)):
            booked[name][records.as_utc(created).astimezone(SHANGHAI).date()] += 1
    requests = list(session.scalars(select(ResidentRequest)))
    open_requests = [r for r in requests if r.status not in staff_work.CLOSED]
    nonce = csp_nonce(request)
    chart_list = [
        charts.bars("每天对话数（近两周）", labels, {"对话": [stats.per_day[d] for d in days]}, nonce=nonce),
        charts.pie("对话渠道", dict(stats.per_channel) or {"暂无": 0}, nonce=nonce),
        charts.horizontal(
            "居民最常说的",
            [(conversations.INTENT_LABELS.get(i, i), n) for i, n in stats.top_intents] or [("暂无", 0)],
            nonce=nonce,
        ),
        charts.bars(
            "每天预约和诉求（近两周）", labels, {k: [v[d] for d in days] for k, v in booked.items()}, nonce=nonce
        ),
    ]
    return page(
        request,
        "dashboard.html",
        user,
        title="概况",
        nav="/staff/",
        stats=stats,
        total_conversations=sum(stats.per_day.values()),
        open_requests=len(open_requests),
        overdue_requests=sum(staff_work.is_overdue(r, now=now) for r in open_requests),
        charts=chart_list,
    )


@router.get("/export/requests.csv")
def export_requests(user: StaffDep, session: SessionDep, now: NowDep) -> Response:
    audit.record(session, actor=user.username, action="export", kind="request")
    session.commit()
    return _csv(staff_work.requests_csv(session, now=now), "requests.csv")


@router.get("/export/bookings.csv")
def export_bookings(user: StaffDep, session: SessionDep) -> Response:
    audit.record(session, actor=user.username, action="export", kind="booking")
    session.commit()
    return _csv(staff_work.bookings_csv(session), "bookings.csv")


def _csv(text: str, name: str) -> Response:
    # A byte-order mark so that Excel on the office PC opens the Chinese text correctly.
    return Response(
        "\ufeff" + text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- conversations ----------------------------------------------------------------------------


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/conversations")
def conversation_list(
    request: Request,
    user: StaffDep,
    session: SessionDep,
    channel: str = "",
    since: str = "",
    until: str = "",
    intent: str = "",
    flag: str = "",
) -> Response:
    filters = conversations.Filters(channel, _date(since), _date(until), intent, flag if flag in FLAGS else "")
    rows = [s for s in conversations.summaries(session) if filters.keep(s, SHANGHAI)]
    return page(
        request, "conversations.html", user, title="对话", nav="/staff/conversations", rows=rows, f=filters,
        channels=conversations.CHANNELS, intents=INTENTS, flags=FLAGS,
    )  # fmt: skip


@router.get("/conversations/{sender_id}")
def conversation_page(request: Request, sender_id: str, user: StaffDep, session: SessionDep) -> Response:
    messages = conversations.transcript(session, sender_id=sender_id)
    if not messages:
        raise HTTPException(status_code=404, detail="没有这段对话")
    audit.record(session, actor=user.username, action="view", kind="conversation", object_id=sender_id)
    session.commit()
    return page(
        request, "conversation.html", user, title="对话", nav="/staff/conversations", sender_id=sender_id,
        messages=messages, review=session.get(ConversationReview, sender_id),
        all_intents=INTENTS, low=conversations.LOW_CONFIDENCE,
    )  # fmt: skip


@router.post("/conversations/{sender_id}/review")
def review_conversation(
    request: Request,
    sender_id: str,
    user: StaffDep,
    session: SessionDep,
    now: NowDep,
    reviewed: Annotated[str, Form()] = "",
    tags: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    conversations.review(
        session, sender_id=sender_id, actor=user.username, reviewed=bool(reviewed),
        tags=tags.replace("，", ",").split(","), now=now,
    )  # fmt: skip
    return redirect(request, f"/staff/conversations/{quote(sender_id)}", "已保存。")


@router.post("/conversations/{sender_id}/correct")
def correct_intent(
    request: Request,
    sender_id: str,
    user: StaffDep,
    session: SessionDep,
    event_id: Annotated[int, Form()],
    intent: Annotated[str, Form()],
) -> Response:
    if intent not in INTENTS:
        return redirect(request, f"/staff/conversations/{quote(sender_id)}", "没有这个意图。", error=True)
    try:
        conversations.correct_intent(
            session, sender_id=sender_id, event_id=event_id, intent=intent, actor=user.username
        )
    except LookupError:
        raise HTTPException(status_code=404, detail="没有这句话") from None
    return redirect(request, f"/staff/conversations/{quote(sender_id)}#m{event_id}", f"已改为 {intent}。")


@router.get("/corrections.yml")
def corrections_export(user: StaffDep, session: SessionDep) -> Response:
    audit.record(session, actor=user.username, action="export", kind="correction")  # residents' sentences
    session.commit()
    return PlainTextResponse(
        conversations.corrections_yaml(session),
        media_type="application/x-yaml; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="corrections.yml"'},
    )


# --- requests ---------------------------------------------------------------------------------


def _request_helpers(now: datetime) -> dict[str, object]:
    return {"due": staff_work.due_at, "overdue": lambda r: staff_work.is_overdue(r, now=now)}


@router.get("/requests")
def request_queue(
    request: Request,
    user: StaffDep,
    session: SessionDep,
    now: NowDep,
    status: str = "",
    category: str = "",
    urgent: Annotated[bool, Query()] = False,
    overdue: Annotated[bool, Query()] = False,
) -> Response:
    filters = staff_work.RequestFilter(status, category, urgent, overdue)
    return page(
        request, "requests.html", user, title="诉求", nav="/staff/requests",
        rows=staff_work.request_queue(session, filters=filters, now=now), f=filters,
        statuses=["已受理", "已派单", "处理中", "已办结", "已回访", "已撤销"],
        categories=resident_requests.CATEGORIES, **_request_helpers(now),
    )  # fmt: skip


def _find_request(session: SessionDep, number: str) -> ResidentRequest:
    found = staff_work.find_request(session, number)
    if found is None:
        raise HTTPException(status_code=404, detail="没有这个诉求")
    return found


@router.get("/requests/{number}")
def request_page(request: Request, number: str, user: StaffDep, session: SessionDep, now: NowDep) -> Response:
    found = _find_request(session, number)
    audit.record(session, actor=user.username, action="view", kind="request", object_id=number)
    session.commit()
    return page(
        request, "request.html", user, title=f"诉求 {number}", nav="/staff/requests", r=found,
        history=records.history(session, found), departments=staff_work.DEPARTMENTS,
        # 已回访 is recorded with the follow-up form (satisfaction and what was said), not here.
        next_statuses=[s for s in records.TRANSITIONS["request"].get(found.status, ()) if s != "已回访"],
        satisfaction=staff_work.SATISFACTION,
        **_request_helpers(now),
    )  # fmt: skip


@router.post("/requests/{number}/assign")
def assign_request(
    request: Request,
    number: str,
    user: StaffDep,
    session: SessionDep,
    department: Annotated[str, Form()],
    assignee: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    try:
        staff_work.assign(
            session, _find_request(session, number), department=department, assignee=assignee, actor=user.username
        )
    except ValueError as exc:
        return redirect(request, f"/staff/requests/{number}", str(exc), error=True)
    return redirect(request, f"/staff/requests/{number}", "已派给" + department)


@router.post("/requests/{number}/status")
def move_request(
    request: Request,
    number: str,
    user: StaffDep,
    session: SessionDep,
    status: Annotated[str, Form()],
    note: Annotated[str, Form(max_length=1000)],
) -> Response:
    try:
        staff_work.move(session, _find_request(session, number), status=status, note=note, actor=user.username)
    except records.StatusError:
        return redirect(request, f"/staff/requests/{number}", "现在不能改成这个状态。", error=True)
    return redirect(request, f"/staff/requests/{number}", f"已改为{status}。")


@router.post("/requests/{number}/follow-up")
def follow_up(
    request: Request,
    number: str,
    user: StaffDep,
    session: SessionDep,
    satisfaction: Annotated[str, Form()],
    note: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    try:
        staff_work.follow_up(
            session, _find_request(session, number), satisfaction=satisfaction, note=note, actor=user.username
        )
    except (ValueError, records.StatusError) as exc:
        return redirect(request, f"/staff/requests/{number}", str(exc), error=True)
    return redirect(request, f"/staff/requests/{number}", "回访已记下。")


# --- find a record by its number (a resident reads it out at the desk or on the phone) ---------


@router.get("/find")
def find_record(
    request: Request, user: StaffDep, session: SessionDep, number: Annotated[str, Query(max_length=40)] = ""
) -> Response:
    """Any booking or request by its number as it is read out: "3051 2743", "3051-2743", or a
    six-digit one issued before. A request opens its own page; a ride or a stair-climber booking
    is shown here with its history. Staff are signed in: no lookup limit here."""
    found, problem = None, ""
    if number.strip():
        try:
            wanted = records.check_number(number)
        except records.NumberError as wrong:
            problem = wrong.message.replace("请对照登记时给您的编号，再说一遍", "请居民对照单子再读一遍")
        else:
            found = records.by_number(session, wanted)
            problem = "" if found else f"没有编号为 {spoken.record_number(wanted)} 的叫车、爬楼机预约或诉求。"
    if isinstance(found, ResidentRequest):
        return redirect(request, f"/staff/requests/{found.number}")
    if found is not None:
        audit.record(session, actor=user.username, action="view", kind=records.kind_of(found), object_id=found.number)
        session.commit()
    return page(
        request, "find.html", user, title="查编号", nav="/staff/find", number=number, found=found, problem=problem,
        kind=records.kind_of(found) if found is not None else "", shown=spoken.record_number,
        history=records.history(session, found) if found is not None else [],
        day=records.as_utc(found.slot_start).astimezone(SHANGHAI).date() if isinstance(found, ClimberBooking) else None,
    )  # fmt: skip


# --- callbacks (转人工, and bookings the bot could not save) -----------------------------------


@router.get("/callbacks")
def callbacks_page(request: Request, user: StaffDep, session: SessionDep, now: NowDep) -> Response:
    audit.record(session, actor=user.username, action="view", kind="callback", object_id="queue")
    session.commit()
    rows = handoff.callback_queue(session, now=now)
    return page(request, "callbacks.html", user, title="回电", nav="/staff/callbacks", rows=rows)


@router.post("/callbacks/{callback_id}/called")
def callback_called(request: Request, callback_id: int, user: StaffDep, session: SessionDep) -> Response:
    if handoff.mark_called(session, callback_id, actor=user.username) is None:
        raise HTTPException(status_code=404, detail="没有这个回电")
    return redirect(request, "/staff/callbacks", "已记下：回过电话了。")


# --- bookings ---------------------------------------------------------------------------------


@router.get("/taxi")
def taxi_board(request: Request, user: StaffDep, session: SessionDep, now: NowDep) -> Response:
    audit.record(session, actor=user.username, action="view", kind="taxi", object_id="board")
    session.commit()
    return page(
        request, "taxi.html", user, title="叫车", nav="/staff/taxi", rows=staff_work.taxi_board(session, now=now)
    )


def _eta(value: str, now: datetime) -> datetime | None:
    """ "14:35" today (or tomorrow if that time has passed) in Shanghai."""
    if not value:
        return None
    hour, minute = (int(p) for p in value.split(":")[:2])
    local_now = now.astimezone(SHANGHAI)
    eta = local_now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return eta if eta >= local_now - timedelta(hours=1) else eta + timedelta(days=1)


@router.post("/taxi/{number}/dispatch")
def dispatch_taxi(
    request: Request,
    number: str,
    user: StaffDep,
    session: SessionDep,
    now: NowDep,
    plate: Annotated[str, Form(min_length=2, max_length=16)],
    car: Annotated[str, Form(max_length=64)] = "",
    eta: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    booking = staff_work.find_taxi(session, number)
    if booking is None:
        raise HTTPException(status_code=404, detail="没有这个叫车")
    try:
        staff_work.dispatch(
            session, booking, plate=plate.strip().upper(), car=car.strip(), eta_at=_eta(eta, now), actor=user.username
        )
    except (records.StatusError, ValueError):
        return redirect(request, "/staff/taxi", "这部车现在不能派。", error=True)
    return redirect(request, "/staff/taxi", f"{number} 已派车：{plate}")


@router.post("/taxi/{number}/status")
def taxi_status(
    request: Request, number: str, user: StaffDep, session: SessionDep, status: Annotated[str, Form()]
) -> Response:
    booking = staff_work.find_taxi(session, number)
    if booking is None:
        raise HTTPException(status_code=404, detail="没有这个叫车")
    try:
        staff_work.move(session, booking, status=status, note="", actor=user.username)
    except records.StatusError:
        return redirect(request, "/staff/taxi", "现在不能改成这个状态。", error=True)
    return redirect(request, "/staff/taxi", f"{number} {status}")


@router.get("/climber")
def climber_day(request: Request, user: StaffDep, session: SessionDep, now: NowDep, day: str = "") -> Response:
    chosen = _date(day) or now.astimezone(SHANGHAI).date()
    audit.record(session, actor=user.username, action="view", kind="climber", object_id=chosen.isoformat())
    session.commit()
    return page(
        request, "climber.html", user, title="爬楼机", nav="/staff/climber", day=chosen,
        columns=staff_work.climber_day(session, day=chosen),
    )  # fmt: skip


def _find_climber(session: SessionDep, number: str) -> ClimberBooking:
    found = staff_work.find_climber(session, number)
    if found is None:
        raise HTTPException(status_code=404, detail="没有这个预约")
    return found


@router.post("/climber/{number}/cancel")
def climber_cancel(request: Request, number: str, user: StaffDep, session: SessionDep) -> Response:
    booking = _find_climber(session, number)
    day = records.as_utc(booking.slot_start).astimezone(SHANGHAI).date()
    try:
        staff_work.move(session, booking, status="已取消", note="工作人员取消", actor=user.username)
    except records.StatusError:
        return redirect(request, f"/staff/climber?day={day}", "这个预约已经不能取消。", error=True)
    return redirect(request, f"/staff/climber?day={day}", f"{number} 已取消，时段空出来了。")


@router.post("/climber/{number}/reschedule")
def climber_reschedule(
    request: Request, number: str, user: StaffDep, session: SessionDep, now: NowDep, slot_start: Annotated[str, Form()]
) -> Response:
    booking = _find_climber(session, number)
    try:
        wanted = datetime.fromisoformat(slot_start).replace(tzinfo=SHANGHAI)
        staff_work.reschedule(session, booking, slot_start=wanted, actor=user.username, now=now)
    except (ValueError, stair_climber.SlotTaken):
        return redirect(request, "/staff/climber", "这个时间不能约（不是服务时段的开头，或者已经约满）。", error=True)
    return redirect(
        request, f"/staff/climber?day={wanted.date()}", f"{number} 已改到 {spoken.clock(wanted.strftime('%H:%M'))}"
    )


# --- content ----------------------------------------------------------------------------------


def _content_page(
    request: Request, user: StaffDep, session: SessionDep, *, typed: dict[str, str] | None = None, error: str = ""
) -> Response:
    """The content page; after a refused save, with the staff's own text back in the boxes."""
    shown = {kind: "\n".join(taxi_places.places(session, kind=kind)) for kind in taxi_places.KINDS}
    response = page(
        request, "content.html", user, title="内容", nav="/staff/content",
        facilities=list(session.scalars(select(Facility).order_by(Facility.id))),
        policies=list(session.scalars(
            select(KnowledgeEntry).where(KnowledgeEntry.topic.is_not(None)).order_by(KnowledgeEntry.id)
        )),
        places={**shown, **(typed or {})},
        history=content_admin.history(session), places_error=error,
        places_notice="" if error else request.session.pop("places_notice", ""),
    )  # fmt: skip
    if error:
        response.status_code = 400
    return response


@router.get("/content")
def content_page(request: Request, user: StaffDep, session: SessionDep) -> Response:
    return _content_page(request, user, session)


@router.post("/content/taxi-places")
def taxi_places_save(
    request: Request,
    user: StaffDep,
    session: SessionDep,
    pickup: Annotated[str, Form(max_length=4000)] = "",
    destination: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    # both boxes are always sent (FastAPI reads an emptied one as missing): an empty list is refused
    typed = {taxi_places.PICKUP: pickup, taxi_places.DESTINATION: destination}
    try:
        changed = taxi_places.set_place_lists(
            session, lists={kind: taxi_places.lines(text) for kind, text in typed.items()}, actor=user.username
        )
    except ContentError as exc:
        return _content_page(request, user, session, typed=typed, error=str(exc))
    saved = "叫车常用地点已保存，居民下次叫车就能点到。" if changed else "没有改动。"
    request.session["places_notice"] = saved  # shown beside the boxes, where the page opens
    return redirect(request, "/staff/content#taxi-places")


def _facility(session: SessionDep, name: str) -> Facility:
    found = content_admin.get_facility(session, name)
    if found is None:
        raise HTTPException(status_code=404, detail="没有这个地方")
    return found


@router.get("/content/facility/{name}")
def facility_page(request: Request, name: str, user: StaffDep, session: SessionDep) -> Response:
    facility = _facility(session, name)
    weekly = content_admin.facility_snapshot(facility)["weekly"]
    return page(
        request, "facility.html", user, title=name, nav="/staff/content", f=facility, weekdays=spoken.WEEKDAYS,
        weekly=[", ".join(f"{o}-{c}" for o, c in periods) for periods in weekly.values()],
    )  # fmt: skip


@router.post("/content/facility/{name}/weekly")
async def facility_weekly(request: Request, name: str, user: StaffDep, session: SessionDep) -> Response:
    form = await request.form()
    weekly = {n: str(form.get(f"day{n}", "")) for n in range(7)}
    try:
        content_admin.set_weekly(session, _facility(session, name), weekly=weekly, actor=user.username)
    except ContentError as exc:
        return redirect(request, f"/staff/content/facility/{quote(name)}", str(exc), error=True)
    return redirect(request, f"/staff/content/facility/{quote(name)}", "每周时间已保存，助手下一句就按新的说。")


@router.post("/content/facility/{name}/exceptions")
def facility_exception(
    request: Request,
    name: str,
    user: StaffDep,
    session: SessionDep,
    day: Annotated[date, Form()],
    periods: Annotated[str, Form(max_length=200)] = "",
    note: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    try:
        content_admin.set_exception(
            session, _facility(session, name), day=day, periods=periods, note=note, actor=user.username
        )
    except ContentError as exc:
        return redirect(request, f"/staff/content/facility/{quote(name)}", str(exc), error=True)
    return redirect(request, f"/staff/content/facility/{quote(name)}", f"{day} 已保存。")


@router.post("/content/facility/{name}/exceptions/{day}/delete")
def facility_exception_delete(request: Request, name: str, day: date, user: StaffDep, session: SessionDep) -> Response:
    content_admin.remove_exception(session, _facility(session, name), day=day, actor=user.username)
    return redirect(request, f"/staff/content/facility/{quote(name)}", f"{day} 已删掉。")


def _policy(session: SessionDep, topic: str) -> KnowledgeEntry:
    found = knowledge.get_policy(session, topic=topic)
    if found is None:
        raise HTTPException(status_code=404, detail="没有这个话题")
    return found


@router.get("/content/policy/{topic}")
def policy_page(request: Request, topic: str, user: StaffDep, session: SessionDep) -> Response:
    return page(request, "policy.html", user, title=topic, nav="/staff/content", p=_policy(session, topic))


@router.post("/content/policy/{topic}")
def policy_save(
    request: Request, topic: str, user: StaffDep, session: SessionDep, answer: Annotated[str, Form(max_length=2000)]
) -> Response:
    try:
        content_admin.set_policy(session, _policy(session, topic), answer=answer, actor=user.username)
    except ContentError as exc:
        return redirect(request, f"/staff/content/policy/{quote(topic)}", str(exc), error=True)
    return redirect(request, "/staff/content", f"“{topic}”的答案已保存。")


# --- accounts (admin) -------------------------------------------------------------------------


@router.get("/users")
def users_page(request: Request, user: AdminDep, session: SessionDep) -> Response:
    return page(
        request, "users.html", user, title="账号", nav="/staff/users",
        users=list(session.scalars(select(StaffUser).order_by(StaffUser.id))), min_length=staff_auth.MIN_PASSWORD,
    )  # fmt: skip


@router.post("/users")
def create_user(
    request: Request,
    user: AdminDep,
    session: SessionDep,
    username: Annotated[str, Form(min_length=2, max_length=64)],
    password: Annotated[str, Form(max_length=200)],
    role: Annotated[str, Form()] = "staff",
    display_name: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    try:
        staff_auth.create_user(session, username=username, password=password, role=role, display_name=display_name)
    except staff_auth.AccountError as exc:
        return redirect(request, "/staff/users", str(exc), error=True)
    audit.record(session, actor=user.username, action="create", kind="staff_user", object_id=username)
    session.commit()
    return redirect(request, "/staff/users", f"账号 {username} 已建好。")


def _account(session: SessionDep, user_id: int) -> StaffUser:
    found = session.get(StaffUser, user_id)
    if found is None:
        raise HTTPException(status_code=404, detail="没有这个账号")
    return found


@router.post("/users/{user_id}/password")
def reset_password(
    request: Request,
    user_id: int,
    user: AdminDep,
    session: SessionDep,
    now: NowDep,
    password: Annotated[str, Form(max_length=200)],
) -> Response:
    target = _account(session, user_id)
    if target.id == user.id:
        return redirect(request, "/staff/users", "自己的密码请在“改密码”里改。", error=True)
    try:
        staff_auth.reset_password(session, user=target, new=password, actor=user.username, now=now)
    except staff_auth.AccountError as exc:
        return redirect(request, "/staff/users", str(exc), error=True)
    return redirect(request, "/staff/users", f"{target.username} 的密码已重设，在各处的登录都已退出。")


@router.post("/users/{user_id}/active")
def set_active(
    request: Request,
    user_id: int,
    user: AdminDep,
    session: SessionDep,
    now: NowDep,
    active: Annotated[bool, Form()],
) -> Response:
    target = _account(session, user_id)
    if target.id == user.id:
        return redirect(request, "/staff/users", "不能停用自己的账号。", error=True)
    staff_auth.set_active(session, user=target, active=active, actor=user.username, now=now)
    done = "已启用" if active else "已停用，在各处的登录都已退出"
    return redirect(request, "/staff/users", f"{target.username} {done}。")
