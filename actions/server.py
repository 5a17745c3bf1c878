"""The action server: rasa-sdk's, opened only to the engine.

    python -m actions.server --port 5055

rasa-sdk's own server (`python -m rasa_sdk`) answers anyone on 0.0.0.0 and, on an error, sends the
request body back (a resident's phone and address). This one runs the same actions on
ACTION_SERVER_HOST (default 127.0.0.1), answers `/health` to anyone and everything else only with
`Authorization: Bearer <ACTION_SERVER_TOKEN>` (endpoints.yml makes the engine send it), and says
nothing of the request when an action fails. It refuses to start with a weak token, or without the
token it needs to reach the app (LINLI_SERVICE_TOKEN).
"""

import argparse
import hmac
import logging
import os
import sys

from rasa_sdk import utils
from rasa_sdk.endpoint import create_app
from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, json

from bot.installation_secrets import WeakSecret, require

logger = logging.getLogger(__name__)
OPEN_PATHS = {"/health"}


def authorised(request: Request, token: str) -> bool:
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def build(token: str) -> Sanic:
    # No CORS: no browser ever calls the action server.
    app = create_app("actions", cors_origins=None)

    @app.middleware("request")
    async def only_the_engine(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS or authorised(request, token):
            return None
        return json({"error": "unauthorised"}, status=401)

    @app.exception(Exception)
    async def failed(request: Request, exception: Exception) -> HTTPResponse:
        logger.error("action call failed", exc_info=exception)
        return json({"error": "action failed"}, status=500)

    return app


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m actions.server")
    parser.add_argument("--port", type=int, default=5055)
    args = parser.parse_args()
    token = os.environ.get("ACTION_SERVER_TOKEN", "")
    try:
        require({"ACTION_SERVER_TOKEN": token, "LINLI_SERVICE_TOKEN": os.environ.get("LINLI_SERVICE_TOKEN", "")})
    except WeakSecret as exc:
        print(f"the action server does not start: {exc}", file=sys.stderr)
        return 2
    utils.configure_colored_logging(os.environ.get("LOG_LEVEL", "INFO"))
    host = os.environ.get("ACTION_SERVER_HOST", "127.0.0.1")
    logger.info("action server on http://%s:%d", host, args.port)
    build(token).run(host, args.port, workers=utils.number_of_sanic_workers())
    return 0


if __name__ == "__main__":
    sys.exit(main())
