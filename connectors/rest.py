"""Rasa's REST channel (`/webhooks/rest/webhook`, name `rest`) that never answers with silence
(see never_silent); the kiosk and web chat channels build on it."""

from rasa.core.channels import rest
from sanic import Blueprint

from connectors.never_silent import Handler, never_silent


class RestInput(rest.RestInput):
    def blueprint(self, on_new_message: Handler) -> Blueprint:  # type: ignore[override]
        return super().blueprint(never_silent(on_new_message))
