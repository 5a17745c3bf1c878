"""The resident chat page's channel: Rasa's REST protocol under its own name, `webchat`, so the
staff console can tell web chat from other channels. The page reaches it through the app
(POST /chat/send), which keeps the page and the engine on one origin."""

from rasa.core.channels.rest import RestInput


class WebChatInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "webchat"
