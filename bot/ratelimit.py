"""How often one key (a sender, a client address) may do something: a rate and a burst.

The generic cell rate algorithm (GCRA, the token bucket written as one number per key): each key
keeps the moment at which it will have used up its allowance; a request is allowed while that
moment is less than `burst` intervals ahead of now. So a key may do `burst` things at once, then
one every `60 / per_minute` seconds, and a key that pauses long enough is as good as new.

Standard library only, and the caller passes the time: the app (its clock, `bot.clock`) and the
engine's channels (connectors/limits.py, Python 3.10 without the app's packages) share this one
module. Memory is bounded: a key whose allowance is whole again is forgotten, and at most
`max_keys` keys are kept (the least recently seen go first), so a flood of new sender ids cannot
grow the table without end.
"""

import ipaddress
from collections import OrderedDict
from dataclasses import dataclass

MAX_KEYS = 50_000  # about 8 MB at most; far more residents than one community has


@dataclass(frozen=True)
class Rate:
    per_minute: float
    burst: int

    @property
    def interval(self) -> float:
        return 60.0 / self.per_minute


class Limiter:
    def __init__(self, rate: Rate, *, max_keys: int = MAX_KEYS) -> None:
        if rate.per_minute <= 0 or rate.burst < 1:
            raise ValueError("a rate needs per_minute > 0 and burst >= 1")
        self.rate = rate
        self.max_keys = max_keys
        self._full_at: OrderedDict[str, float] = OrderedDict()  # key → when its allowance is used up

    def __len__(self) -> int:
        return len(self._full_at)

    def peek(self, key: str, now: float) -> float:
        """0 when `key` may go ahead now, else the seconds until it may; nothing is counted."""
        self._forget(now)
        interval = self.rate.interval
        full_at = max(self._full_at.get(key, now), now) + interval
        return max(0.0, full_at - now - interval * self.rate.burst)

    def take(self, key: str, now: float) -> float:
        """Like `peek`, and when it is 0 the go-ahead is counted against `key`."""
        wait = self.peek(key, now)
        if wait > 0:
            return wait
        self._full_at[key] = max(self._full_at.get(key, now), now) + self.rate.interval
        self._full_at.move_to_end(key)
        while len(self._full_at) > self.max_keys:
            self._full_at.popitem(last=False)
        return 0.0

    def _forget(self, now: float) -> None:
        # Least recently counted first: a key counted long ago has its whole allowance back, and
        # is then no different from a key never seen.
        while self._full_at:
            key, full_at = next(iter(self._full_at.items()))
            if full_at > now:
                return
            del self._full_at[key]


def source_of(address: str) -> str:
    """The source a client address stands for, for every per-source count: IPv4 as it is, IPv6 by
    its /64 (one household or phone may use any address in it), and the whole loopback (127/8, ::1)
    as one — a process on this machine could otherwise pick a fresh 127.x.y.z for every try."""
    try:
        parsed = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return address.strip()[:64]
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped  # ::ffff:1.2.3.4 is the IPv4 client 1.2.3.4
    if parsed.is_loopback:
        return "127.0.0.1"
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


class Limits:
    """A per-sender and a per-source limit together: a message goes ahead only if both allow it,
    and is counted against both only then (a refused message does not use up the allowance of
    the resident's address for the others behind it)."""

    def __init__(self, *, sender: Rate, source: Rate) -> None:
        self.sender = Limiter(sender)
        self.source = Limiter(source)

    def wait(self, *, sender: str, source: str, now: float) -> float:
        """0 to go ahead; else seconds to wait. An empty sender or source is not limited by that key."""
        source = source_of(source) if source else ""
        for limiter, key in ((self.sender, sender), (self.source, source)):
            if key and (wait := limiter.peek(key, now)) > 0:
                return wait
        for limiter, key in ((self.sender, sender), (self.source, source)):
            if key:
                limiter.take(key, now)
        return 0.0
