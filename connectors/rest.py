"""Rasa's REST channel (`/webhooks/rest/webhook`, name `rest`) that never answers with silence
(see never_silent) and counts each message against the rate limits first (connectors/limits.py:
over them, 429 and the kind sentence, and the bot never sees it); the kiosk and web chat channels
build on it. credentials.yml names this class instead of Rasa's `rest`; the name and the URL
stay Rasa's."""

from rasa.core.channels import rest
from sanic import Blueprint

from connectors.limits import limited
from connectors.never_silent import Handler, never_silent


class RestInput(rest.RestInput):
    def blueprint(self, on_new_message: Handler) -> Blueprint:  # type: ignore[override]
        return limited(super().blueprint(never_silent(on_new_message)))
