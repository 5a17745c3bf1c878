"""Who is signed in to the staff console, and the page templates.

The session is a cookie signed with SESSION_SECRET (Starlette's SessionMiddleware, itsdangerous),
SameSite=strict so other sites cannot post forms with it, and it expires SESSION_HOURS after sign-in.
Pages send anyone not signed in to the login page; /api/staff/ answers 401.
"""

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from bot import clock
from bot.api.deps import SessionDep
from bot.config import PROJECT_ROOT, get_settings
from bot.models import StaffUser
from bot.services import records, staff_auth
from bot.services.conversations import INTENT_LABELS

TEMPLATES = Jinja2Templates(directory=PROJECT_ROOT / "bot" / "web" / "templates")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _local(moment: datetime | None) -> str:
    return records.as_utc(moment).astimezone(SHANGHAI).strftime("%m-%d %H:%M") if moment else ""


def _clock(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%H:%M")


TEMPLATES.env.filters["local"] = _local
TEMPLATES.env.filters["clock"] = _clock
TEMPLATES.env.filters["intent"] = lambda name: f"{INTENT_LABELS.get(name, name)}（{name}）" if name else ""


class NotSignedIn(Exception):
    pass


class NotAllowed(Exception):
    pass


def current_staff(request: Request, session: SessionDep) -> StaffUser:
    user_id = request.session.get("staff_id")
    signed_in_at = float(request.session.get("signed_in_at") or 0)
    if not user_id:
        raise NotSignedIn()
    if clock.timestamp() - signed_in_at > get_settings().session_hours * 3600:
        request.session.clear()
        raise NotSignedIn()
    user = staff_auth.get_user(session, int(user_id))
    if user is None:
        request.session.clear()
        raise NotSignedIn()
    return user


def current_admin(user: Annotated[StaffUser, Depends(current_staff)]) -> StaffUser:
    if user.role != "admin":
        raise NotAllowed()
    return user


StaffDep = Annotated[StaffUser, Depends(current_staff)]
AdminDep = Annotated[StaffUser, Depends(current_admin)]


def sign_in(request: Request, user: StaffUser) -> None:
    request.session.clear()
    request.session.update({"staff_id": user.id, "signed_in_at": clock.timestamp()})


def not_signed_in(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": "请先登录"}, status_code=401)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/staff/login?next={quote(target)}", status_code=303)


def not_allowed(request: Request, exc: Exception) -> Response:
    return JSONResponse({"detail": "需要管理员账号"}, status_code=403)


def page(request: Request, name: str, user: StaffUser | None, **context: Any) -> Response:
    flash = request.session.pop("flash", None) if "session" in request.scope else None
    return TEMPLATES.TemplateResponse(
        request,
        name,
        {
            "user": user,
            "nav": context.pop("nav", ""),
            "flash": flash[0] if flash else "",
            "flash_error": bool(flash and flash[1]),
            **context,
        },
    )


def redirect(request: Request, url: str, message: str = "", error: bool = False) -> Response:
    if message:
        request.session["flash"] = (message, error)
    return RedirectResponse(url, status_code=303)
