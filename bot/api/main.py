"""The FastAPI app: JSON API for the actions under /api (service token), /healthz for anyone."""

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline

from bot.api.deps import require_service_token
from bot.api.routes import bookings, conversation, forms, health, knowledge


def create_app() -> FastAPI:
    # FastAPIOffline serves /docs and /redoc with Swagger UI and ReDoc files from the installed
    # package: the app runs with no internet, so nothing may come from a CDN.
    app = FastAPIOffline(title="邻里助手 API", version="0.1.0")
    app.include_router(health.router)
    protected = [Depends(require_service_token)]
    app.include_router(knowledge.router, prefix="/api", dependencies=protected)
    app.include_router(conversation.router, prefix="/api", dependencies=protected)
    app.include_router(forms.router, prefix="/api", dependencies=protected)
    app.include_router(bookings.router, prefix="/api", dependencies=protected)
    return app


app = create_app()
