"""The staff console's knowledge base: entries and their ways of asking, 核实, and 没答上的问题 —
residents' questions the bot could not answer (or answered unsure), grouped, each group one click
from a new entry or from another entry's ways of asking. Thin: bot.services.knowledge_admin owns
the rules and the transactions; a saved change answers the next resident, without retraining."""

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import Response

from bot.api.deps import NowDep, SessionDep
from bot.api.staff import StaffDep, page, redirect
from bot.models import KnowledgeEntry, StaffUser
from bot.services import audit, conversations, knowledge_admin
from bot.services.knowledge_admin import KnowledgeError
from bot.services.knowledge_base import DETAILS

router = APIRouter(prefix="/staff", include_in_schema=False)

Text = Annotated[str, Form(max_length=2000)]


def _entry(session: SessionDep, entry_id: int) -> KnowledgeEntry:
    found = knowledge_admin.get_entry(session, entry_id)
    if found is None:
        raise HTTPException(status_code=404, detail="没有这个条目")
    return found


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace("\r", "\n").split("\n") if line.strip()]


def _details(**typed: str) -> dict[str, str]:
    return {key: typed.get(key, "") for key in DETAILS}


# --- the list -----------------------------------------------------------------------------------


@router.get("/knowledge")
def knowledge_list(
    request: Request, user: StaffDep, session: SessionDep, now: NowDep, q: Annotated[str, Query(max_length=100)] = ""
) -> Response:
    return page(
        request, "knowledge.html", user, title="知识库", nav="/staff/knowledge", q=q,
        entries=knowledge_admin.entries(session, words=q), total=knowledge_admin.count_entries(session),
        review=knowledge_admin.needing_review(session, now=now), stale=lambda e: knowledge_admin.is_stale(e, now=now),
        review_days=knowledge_admin.REVIEW_DAYS,
    )  # fmt: skip


# --- one entry ----------------------------------------------------------------------------------


def _form(
    request: Request,
    user: StaffUser,
    session: SessionDep,
    entry: KnowledgeEntry | None,
    *,
    typed: dict[str, Any] | None = None,
    error: str = "",
    asks_error: str = "",
    asks_typed: str = "",
) -> Response:
    """The entry's page (a new one when `entry` is None); after a refused save, with the staff's
    own text back in the boxes and the reason beside them."""
    shown: dict[str, Any] = (
        {"title": entry.title, "spoken": entry.spoken, "source": entry.source, "details": dict(entry.details or {})}
        if entry is not None
        else {"title": "", "spoken": "", "source": "", "details": {}}
    )
    response = page(
        request, "knowledge_entry.html", user, title=entry.title if entry else "新建条目", nav="/staff/knowledge",
        entry=entry, f={**shown, **(typed or {})}, labels=DETAILS, error=error, asks_error=asks_error,
        asks_typed=asks_typed, history=knowledge_admin.entry_history(session, entry=entry) if entry else [],
        spoken_max=knowledge_admin.SPOKEN_MAX,
    )  # fmt: skip
    if error or asks_error:
        response.status_code = 400
    return response


@router.get("/knowledge/new")
def new_entry_page(request: Request, user: StaffDep, session: SessionDep) -> Response:
    return _form(request, user, session, None)


@router.post("/knowledge/new")
def create_entry(
    request: Request,
    user: StaffDep,
    session: SessionDep,
    title: Text = "",
    spoken: Text = "",
    source: Text = "",
    asks: Annotated[str, Form(max_length=20000)] = "",
    who: Text = "",
    bring: Text = "",
    where: Text = "",
    hours: Text = "",
    phone: Text = "",
    cost: Text = "",
) -> Response:
    details = _details(who=who, bring=bring, where=where, hours=hours, phone=phone, cost=cost)
    try:
        entry = knowledge_admin.create_entry(
            session, title=title, spoken=spoken, details=details, source=source, asks=_lines(asks),
            actor=user.username,
        )  # fmt: skip
    except KnowledgeError as exc:
        typed = {"title": title, "spoken": spoken, "source": source, "details": details}
        return _form(request, user, session, None, typed=typed, error=str(exc), asks_typed=asks)
    done = f"条目“{entry.title}”已建好（待核实），居民下一次问就能答上。"
    return redirect(request, f"/staff/knowledge/{entry.id}", done)


@router.get("/knowledge/{entry_id}")
def entry_page(request: Request, entry_id: int, user: StaffDep, session: SessionDep) -> Response:
    return _form(request, user, session, _entry(session, entry_id))


@router.post("/knowledge/{entry_id}")
def update_entry(
    request: Request,
    entry_id: int,
    user: StaffDep,
    session: SessionDep,
    title: Text = "",
    spoken: Text = "",
    source: Text = "",
    who: Text = "",
    bring: Text = "",
    where: Text = "",
    hours: Text = "",
    phone: Text = "",
    cost: Text = "",
) -> Response:
    entry = _entry(session, entry_id)
    details = _details(who=who, bring=bring, where=where, hours=hours, phone=phone, cost=cost)
    try:
        changed = knowledge_admin.update_entry(
            session, entry=entry, title=title, spoken=spoken, details=details, source=source, actor=user.username
        )
    except KnowledgeError as exc:
        typed = {"title": title, "spoken": spoken, "source": source, "details": details}
        return _form(request, user, session, _entry(session, entry_id), typed=typed, error=str(exc))
    done = "已保存，助手下一句就按新的说。" if changed else "没有改动。"
    return redirect(request, f"/staff/knowledge/{entry_id}", done)


@router.post("/knowledge/{entry_id}/asks")
def add_asks(
    request: Request, entry_id: int, user: StaffDep, session: SessionDep, asks: Annotated[str, Form(max_length=20000)]
) -> Response:
    entry = _entry(session, entry_id)
    try:
        added = knowledge_admin.add_asks(session, entry=entry, texts=_lines(asks), actor=user.username)
    except KnowledgeError as exc:
        return _form(request, user, session, _entry(session, entry_id), asks_error=str(exc), asks_typed=asks)
    return redirect(request, f"/staff/knowledge/{entry_id}#asks", f"加了{len(added)}种问法。")


@router.post("/knowledge/{entry_id}/asks/{ask_id}/delete")
def remove_ask(request: Request, entry_id: int, ask_id: int, user: StaffDep, session: SessionDep) -> Response:
    entry = _entry(session, entry_id)
    try:
        text = knowledge_admin.remove_ask(session, entry=entry, ask_id=ask_id, actor=user.username)
    except KnowledgeError as exc:
        return redirect(request, f"/staff/knowledge/{entry_id}#asks", str(exc), error=True)
    return redirect(request, f"/staff/knowledge/{entry_id}#asks", f"已删掉问法“{text}”。")


@router.post("/knowledge/{entry_id}/checked")
def mark_checked(request: Request, entry_id: int, user: StaffDep, session: SessionDep, now: NowDep) -> Response:
    entry = _entry(session, entry_id)
    knowledge_admin.mark_checked(session, entry=entry, actor=user.username, now=now)
    return redirect(request, f"/staff/knowledge/{entry_id}", f"“{entry.title}”已核实。")


# --- 没答上的问题 -----------------------------------------------------------------------------


def _unanswered(
    request: Request,
    user: StaffUser,
    session: SessionDep,
    now: NowDep,
    *,
    failed: int | None = None,
    error: str = "",
    typed: dict[str, str] | None = None,
) -> Response:
    """The knowledge base's open questions in groups, then what else the bot did not understand
    (from the conversation log). After a refused save, the group's own form shows why, with the
    staff's text back in it (`failed`: the group's first question id)."""
    audit.record(session, actor=user.username, action="view", kind="unanswered", object_id="groups")
    session.commit()
    groups = knowledge_admin.unanswered_groups(session, now=now)
    response = page(
        request, "unanswered.html", user, title="没答上的问题", nav="/staff/unanswered", groups=groups,
        error_above=bool(error) and all(min(g.question_ids) != failed for g in groups),
        entries=knowledge_admin.entries(session), others=conversations.unanswered(),
        failed=failed, error=error, typed=typed or {}, low=knowledge_admin.LOW_SCORE,
    )  # fmt: skip
    if error:
        response.status_code = 400
    return response


@router.get("/unanswered")
def unanswered_page(request: Request, user: StaffDep, session: SessionDep, now: NowDep) -> Response:
    return _unanswered(request, user, session, now)


QuestionIds = Annotated[list[int], Form(max_length=500)]


@router.post("/unanswered/new-entry")
def entry_from_questions(
    request: Request,
    user: StaffDep,
    session: SessionDep,
    now: NowDep,
    question: QuestionIds,
    title: Text = "",
    spoken: Text = "",
    asks: Annotated[str, Form(max_length=20000)] = "",
) -> Response:
    try:
        entry = knowledge_admin.entry_from_questions(
            session, question_ids=question, title=title, spoken=spoken, actor=user.username, more_asks=_lines(asks)
        )
    except KnowledgeError as exc:
        typed = {"title": title, "spoken": spoken, "asks": asks}
        return _unanswered(request, user, session, now, failed=min(question), error=str(exc), typed=typed)
    return redirect(
        request,
        f"/staff/knowledge/{entry.id}",
        f"条目“{entry.title}”已建好，居民的{len(entry.asks)}种问法都加上了。请补上细节和来源，核实后点“已核实”。",
    )


@router.post("/unanswered/add-to-entry")
def add_questions_to_entry(
    request: Request,
    user: StaffDep,
    session: SessionDep,
    now: NowDep,
    question: QuestionIds,
    entry_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    if not entry_id.isdigit():
        return _unanswered(request, user, session, now, failed=min(question), error="请先选一个条目。")
    entry = _entry(session, int(entry_id))
    try:
        added = knowledge_admin.add_questions_to_entry(session, question_ids=question, entry=entry, actor=user.username)
    except KnowledgeError as exc:
        return _unanswered(request, user, session, now, failed=min(question), error=str(exc))
    return redirect(request, "/staff/unanswered", f"已加到“{entry.title}”：新问法{len(added)}种。")
