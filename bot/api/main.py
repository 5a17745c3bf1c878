"""The FastAPI app: JSON API for the actions under /api (service token), /healthz for anyone."""

from fastapi import Depends, FastAPI

from bot.api.deps import require_service_token
from bot.api.routes import conversation, health, knowledge
from bot.api.routes.docs import mount_docs


def create_app() -> FastAPI:
    app = FastAPI(title="邻里助手 API", version="0.1.0", docs_url=None, redoc_url=None)
    mount_docs(app)
    app.include_router(health.router)
    protected = [Depends(require_service_token)]
    app.include_router(knowledge.router, prefix="/api", dependencies=protected)
    app.include_router(conversation.router, prefix="/api", dependencies=protected)
    return app


app = create_app()
