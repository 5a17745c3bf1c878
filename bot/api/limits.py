"""Rate limits on what residents send to the bot: the chat page's /chat/send and the kiosk
socket's turns, per sender and per source (bot/ratelimit.py; the numbers are settings, see
bot/config.py). Over the limit, the chat answers HTTP 429 and the kiosk a `busy` frame, both with
the same kind sentence; the pages show it as a pause, not as an error.

Counted in this app process: with several app processes each counts its own share."""

from dataclasses import dataclass, field

from starlette.requests import HTTPConnection

from bot import clock
from bot.config import Settings
from bot.ratelimit import Limiter, Limits, Rate, source_of

BUSY = "说得太快了，请稍等一下再说。"


def client_address(connection: HTTPConnection) -> str:
    """The address of the client that sent this request or opened this socket: the one place the
    app decides it (rate limits, record lookups, sign-in waits). The connection's peer, or the
    address a proxy forwards when that proxy is in TRUSTED_PROXIES (ProxyHeadersMiddleware,
    bot/api/main.py)."""
    return connection.client.host if connection.client else ""


# New emergency alerts per client address (a kiosk is one): twenty at once, then one a minute. A
# real emergency is one or two alerts (touches again within a minute are the same one, 请工作人员过来
# is the second); a script opening socket after socket must not bury real alerts under hundreds of
# false ones. The kiosk's numbers stay on screen whatever this says.
SOS_RATE = Rate(per_minute=1, burst=20)


@dataclass
class ResidentLimits:
    chat: Limits
    kiosk: Limits
    sos: Limiter = field(default_factory=lambda: Limiter(SOS_RATE))

    @classmethod
    def from_settings(cls, settings: Settings) -> "ResidentLimits":
        return cls(
            chat=Limits(
                sender=Rate(settings.chat_sender_per_minute, settings.chat_sender_burst),
                source=Rate(settings.chat_source_per_minute, settings.chat_source_burst),
            ),
            kiosk=Limits(
                sender=Rate(settings.kiosk_sender_per_minute, settings.kiosk_sender_burst),
                source=Rate(settings.kiosk_source_per_minute, settings.kiosk_source_burst),
            ),
        )


def resident_limits(connection: HTTPConnection) -> ResidentLimits:
    limits: ResidentLimits = connection.app.state.resident_limits
    return limits


def wait(limits: Limits, *, sender: str, connection: HTTPConnection) -> float:
    """Seconds this sender (from this connection's address) must wait; 0 means go ahead, counted."""
    return limits.wait(sender=sender, source=client_address(connection), now=clock.timestamp())


def sos_refused(connection: HTTPConnection, now: float) -> bool:
    """Whether one more new emergency alert from this connection's address is one too many."""
    return resident_limits(connection).sos.take(source_of(client_address(connection)), now) > 0


def retry_after(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, round(seconds)))}
