"""The FastAPI app: the JSON API for the actions under /api (service token), the staff console
under /staff and /api/staff (signed-in staff), static files, /healthz for anyone."""

from fastapi import Depends, FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.middleware.sessions import SessionMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from bot.api.body_limit import BodyLimit
from bot.api.clients import lifespan
from bot.api.csrf import SameOriginOnly
from bot.api.deps import require_service_token
from bot.api.errors import validation_failed
from bot.api.limits import ResidentLimits
from bot.api.nul_guard import NulGuard
from bot.api.routes import (
    bookings,
    chat,
    conversation,
    forms,
    health,
    kiosk,
    knowledge,
    staff_api,
    staff_knowledge,
    staff_pages,
)
from bot.api.security_headers import SecurityHeaders
from bot.api.staff import CrossSite, NotAllowed, NotSignedIn, cross_site, not_allowed, not_signed_in
from bot.config import PROJECT_ROOT, get_settings
from bot.installation_secrets import require


def create_app() -> FastAPI:
    # FastAPIOffline serves /docs and /redoc with Swagger UI and ReDoc files from the installed
    # package: the app runs with no internet, so nothing may come from a CDN.
    app = FastAPIOffline(title="邻里助手 API", version="0.2.0", lifespan=lifespan)
    settings = get_settings()
    require({"SERVICE_TOKEN": settings.service_token, "SESSION_SECRET": settings.session_secret})
    # Only the one-time notices the pages show after a redirect ("已保存。") live in this signed
    # cookie; who is signed in is kept on the server (bot/api/staff.py).
    app.state.resident_limits = ResidentLimits.from_settings(settings)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret,
        session_cookie="linli_flash",
        max_age=None,
        same_site="strict",
    )
    app.add_middleware(NulGuard)
    app.add_middleware(SameOriginOnly)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)  # outside NulGuard, which reads the body
    app.add_middleware(SecurityHeaders)  # on every answer, a 413 included
    # Outermost, so everything inside sees the real client address and scheme: X-Forwarded-For
    # and X-Forwarded-Proto are believed only from TRUSTED_PROXIES (none by default).
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list())
    app.add_exception_handler(RequestValidationError, validation_failed)
    app.add_exception_handler(NotSignedIn, not_signed_in)
    app.add_exception_handler(NotAllowed, not_allowed)
    app.add_exception_handler(CrossSite, cross_site)
    app.mount("/static", StaticFiles(directory=PROJECT_ROOT / "bot" / "web" / "static"), name="static")
    app.include_router(health.router)
    protected = [Depends(require_service_token)]
    app.include_router(knowledge.router, prefix="/api", dependencies=protected)
    app.include_router(conversation.router, prefix="/api", dependencies=protected)
    app.include_router(forms.router, prefix="/api", dependencies=protected)
    app.include_router(bookings.router, prefix="/api", dependencies=protected)
    app.include_router(staff_api.router, prefix="/api")
    app.include_router(staff_pages.router)
    app.include_router(staff_knowledge.router)
    app.include_router(chat.router)
    app.include_router(kiosk.router)
    return app
