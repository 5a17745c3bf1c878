"""Rasa's REST channel (`/webhooks/rest/webhook`, name `rest`) that never answers with silence
(see never_silent), counts each message against the rate limits first (connectors/limits.py:
over them, 429 and the kind sentence, and the bot never sees it) and says where each message came
from; the kiosk and web chat channels build on it. credentials.yml names this class instead of
Rasa's `rest`; the name and the URL stay Rasa's.

Where from: the message's metadata always carries `client`, the sender's address, which the app
counts wrong record lookups by (bot/services/lookup_limit.py). Anyone can post to these webhooks
and write any metadata, so a `client` in the body is believed only from the app (the chat page and
the kiosk socket relay residents' messages and know their addresses), which proves itself with
the service token in the RELAY_HEADER; any other caller gets the address its request came from.
"""

import os
import secrets
from typing import Any

from rasa.core.channels import rest
from sanic import Blueprint
from sanic.request import Request

from connectors.limits import limited
from connectors.never_silent import Handler, never_silent

RELAY_HEADER = "X-Linli-Relay"
# The longest message handed to the bot, as the chat page allows: the NLU's time and memory grow
# with the length (one 3 MB message held an engine at 17 GB), and no resident says more at once.
MAX_MESSAGE = 1000


def relayed_by_the_app(request: Request) -> bool:
    expected = os.environ.get("LINLI_SERVICE_TOKEN", "")
    given = request.headers.get(RELAY_HEADER, "")
    return bool(expected) and secrets.compare_digest(given.encode(), expected.encode())


def caller_address(request: Request) -> str:
    """The address the request came from (a proxy's forwarded address if Sanic is configured to
    trust one, else the peer's)."""
    return (request.remote_addr or request.ip or "").strip("[]")


class RestInput(rest.RestInput):
    def blueprint(self, on_new_message: Handler) -> Blueprint:  # type: ignore[override]
        return limited(super().blueprint(never_silent(on_new_message)))

    def _extract_message(self, req: Request) -> str | None:
        text = super()._extract_message(req)
        return text[:MAX_MESSAGE] if isinstance(text, str) else text

    def get_metadata(self, request: Request) -> dict[str, Any]:
        given = (request.json or {}).get("metadata")
        metadata = dict(given) if isinstance(given, dict) else {}
        told = metadata.pop("client", None)
        relayed = isinstance(told, str) and told and relayed_by_the_app(request)
        metadata["client"] = (told if relayed else caller_address(request))[:64]
        return metadata
