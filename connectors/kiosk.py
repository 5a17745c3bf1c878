"""The voice kiosk's channel: Rasa's REST protocol under the name `kiosk` (metadata carries the
kiosk's id and location), so the staff console can tell kiosk conversations apart. Never silent,
as every channel (connectors.never_silent)."""

from connectors.rest import RestInput


class KioskInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "kiosk"
