"""Who is signed in to the staff console, and the page templates.

Sessions are kept on the server (StaffSession, bot/services/staff_auth.py): the `linli_staff`
cookie carries only a random id (`__Host-linli_staff` over HTTPS, so no other host can plant one),
HttpOnly, SameSite=strict, Secure over HTTPS, and no expiry of its own: the server ends the session
at sign-out, a password change or reset, deactivation, or SESSION_HOURS after sign-in. The
`linli_device` cookie marks a browser that has signed in before (it shields that browser from
waits a stranger causes). Pages send anyone not signed in to the login page; /api/staff/ answers 401.
"""

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from bot import clock
from bot.api import csrf
from bot.api.deps import SessionDep
from bot.api.limits import client_address
from bot.config import PROJECT_ROOT, get_settings
from bot.models import StaffUser
from bot.services import records, staff_auth
from bot.services.conversations import INTENT_LABELS

TEMPLATES = Jinja2Templates(directory=PROJECT_ROOT / "bot" / "web" / "templates")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _local(moment: datetime | None) -> str:
    return records.as_utc(moment).astimezone(SHANGHAI).strftime("%m-%d %H:%M") if moment else ""


def _local_day(moment: datetime | None) -> str:
    """With the year: for dates months back (when an entry was last checked)."""
    return records.as_utc(moment).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else ""


def _clock(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%H:%M")


TEMPLATES.env.filters["local"] = _local
TEMPLATES.env.filters["local_day"] = _local_day
TEMPLATES.env.filters["clock"] = _clock
TEMPLATES.env.filters["intent"] = lambda name: f"{INTENT_LABELS.get(name, name)}（{name}）" if name else ""


class NotSignedIn(Exception):
    pass


class NotAllowed(Exception):
    pass


class CrossSite(Exception):
    pass


SESSION_COOKIE = "linli_staff"
DEVICE_COOKIE = "linli_device"
DEVICE_YEARS = 1


def https(request: Request) -> bool:
    return request.scope.get("scheme") == "https"


def cookie_name(request: Request, base: str) -> str:
    # __Host-: the browser keeps such a cookie only if it is Secure, for this host alone, path /.
    return f"__Host-{base}" if https(request) else base


def device_id(request: Request) -> str:
    """The browser's device cookie, or a new id for a browser that has none: the one recorded on
    its sign-in attempt and, after a good one, given to it as its cookie."""
    value = request.cookies.get(cookie_name(request, DEVICE_COOKIE), "")
    if 16 <= len(value) <= 64 and value.replace("-", "").replace("_", "").isalnum():
        return value
    if not hasattr(request.state, "new_device"):  # the same new id for the attempt and the cookie
        request.state.new_device = staff_auth.new_device_id()
    return str(request.state.new_device)


def current_staff(request: Request, session: SessionDep) -> StaffUser:
    if request.method in csrf.UNSAFE and not csrf.same_origin(request.scope):
        raise CrossSite()
    raw = request.cookies.get(cookie_name(request, SESSION_COOKIE), "")
    found = staff_auth.session_user(session, raw=raw, now=clock.now()) if raw else None
    if found is None:
        raise NotSignedIn()
    return found[1]


def current_admin(user: Annotated[StaffUser, Depends(current_staff)]) -> StaffUser:
    if user.role != "admin":
        raise NotAllowed()
    return user


StaffDep = Annotated[StaffUser, Depends(current_staff)]
AdminDep = Annotated[StaffUser, Depends(current_admin)]


def sign_in(request: Request, response: Response, session: SessionDep, user: StaffUser, now: datetime) -> Response:
    """A new server session for `user` (never the id the browser had before), its cookie and the
    browser's device cookie on `response`."""
    raw = staff_auth.start_session(
        session, user=user, client=client_address(request), now=now, hours=get_settings().session_hours
    )
    secure = https(request)
    response.set_cookie(
        cookie_name(request, SESSION_COOKIE), raw, path="/", secure=secure, httponly=True, samesite="strict"
    )
    response.set_cookie(
        cookie_name(request, DEVICE_COOKIE), device_id(request),
        max_age=DEVICE_YEARS * 365 * 24 * 3600, path="/", secure=secure, httponly=True, samesite="strict",
    )  # fmt: skip
    return response


def sign_out(request: Request, response: Response, session: SessionDep, now: datetime) -> Response:
    raw = request.cookies.get(cookie_name(request, SESSION_COOKIE), "")
    if raw:
        staff_auth.end_session(session, raw=raw, now=now)
    response.delete_cookie(
        cookie_name(request, SESSION_COOKIE), path="/", secure=https(request), httponly=True, samesite="strict"
    )
    return response


def not_signed_in(request: Request, exc: Exception) -> Response:
    # A cookie that no longer signs in (signed out elsewhere, password changed, expired): the
    # login page says so, and the dead cookie goes.
    ended = cookie_name(request, SESSION_COOKIE) in request.cookies
    if ended:
        request.session["flash"] = ("登录已经失效，请重新登录。", True)
    response: Response
    if request.url.path.startswith("/api/"):
        response = JSONResponse({"detail": "请先登录"}, status_code=401)
    elif request.method in csrf.UNSAFE:  # a form's target cannot be opened again: the start page
        response = RedirectResponse("/staff/login", status_code=303)
    else:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response = RedirectResponse(f"/staff/login?next={quote(target)}", status_code=303)
    if ended:
        response.delete_cookie(
            cookie_name(request, SESSION_COOKIE), path="/", secure=https(request), httponly=True, samesite="strict"
        )
    return response


def not_allowed(request: Request, exc: Exception) -> Response:
    return JSONResponse({"detail": "需要管理员账号"}, status_code=403)


def cross_site(request: Request, exc: Exception) -> Response:
    return csrf.refusal(request.url.path)


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
