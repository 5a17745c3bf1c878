from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from bot.api.deps import SessionDep
from bot.config import get_settings
from bot.services import knowledge_base

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=None)
def healthz(session: SessionDep) -> dict[str, str] | JSONResponse:
    """200 once the app can answer: the database reached and, when it is built at start, the
    knowledge base's index ready (a resident's first question would otherwise wait for it, longer
    than the action server waits). 503 until then, so the launcher and load balancers wait."""
    session.execute(text("SELECT 1"))
    if get_settings().knowledge_warm_up and not knowledge_base.warmed.is_set():
        return JSONResponse({"status": "starting"}, status_code=503)
    return {"status": "ok"}
