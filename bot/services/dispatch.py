"""Who sends the car. Two dispatchers share one small interface:

- StaffDispatcher (default): the booking waits as 待派车; staff call 申程出行 and record plate/ETA.
- HttpDispatcher: a real dispatch API, configured by URL and key (TAXI_DISPATCH_URL / _KEY).
  If the provider fails, the booking simply stays with staff: nothing is lost.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import httpx

from bot.config import get_settings
from bot.models import TaxiBooking

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Dispatched:
    provider_ref: str
    plate: str | None = None
    car: str | None = None
    eta_at: datetime | None = None


class Dispatcher(Protocol):
    name: str

    def submit(self, booking: TaxiBooking) -> Dispatched | None:
        """Pass the ride on; None means staff must dispatch it by hand."""

    def cancel(self, booking: TaxiBooking) -> None: ...


class StaffDispatcher:
    name = "staff"

    def submit(self, booking: TaxiBooking) -> Dispatched | None:
        return None

    def cancel(self, booking: TaxiBooking) -> None:
        return None


class HttpDispatcher:
    """POST {url}/rides with the ride as JSON and `Authorization: Bearer <key>`; the provider
    answers {"id": ..., "plate"?: ..., "car"?: ..., "eta"?: ISO time}. Cancel: POST {url}/rides/{id}/cancel."""

    name = "http"

    def __init__(self, url: str, key: str, timeout: float = 3.0, http: httpx.Client | None = None) -> None:
        self.url = url.rstrip("/")
        self.key = key
        self.timeout = timeout
        self.http = http  # the app's one client (bot/api/clients.py); None: a client per call

    def _post(self, path: str, payload: dict[str, object]) -> dict[str, object]:
        post = httpx.post if self.http is None else self.http.post
        response = post(
            f"{self.url}{path}",
            json=payload,
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=self.timeout,
        )
        response.raise_for_status()
        body = response.json()
        return body if isinstance(body, dict) else {}

    def submit(self, booking: TaxiBooking) -> Dispatched | None:
        payload: dict[str, object] = {
            "reference": booking.number,
            "pickup": booking.pickup,
            "destination": booking.destination,
            "pickup_at": booking.pickup_at.isoformat(),
            "asap": booking.asap,
            "passengers": booking.passengers,
            "assistance": booking.assistance,
            "phone": booking.phone,
        }
        try:
            body = self._post("/rides", payload)
        except (httpx.HTTPError, ValueError) as exc:
            logger.warning("taxi provider refused booking %s: %s; staff will dispatch", booking.number, exc)
            return None
        eta = body.get("eta")
        return Dispatched(
            provider_ref=str(body.get("id", "")),
            plate=str(body["plate"]) if body.get("plate") else None,
            car=str(body["car"]) if body.get("car") else None,
            eta_at=datetime.fromisoformat(eta) if isinstance(eta, str) else None,
        )

    def cancel(self, booking: TaxiBooking) -> None:
        if not booking.provider_ref:
            return
        try:
            self._post(f"/rides/{booking.provider_ref}/cancel", {"reference": booking.number})
        except (httpx.HTTPError, ValueError) as exc:
            logger.warning("taxi provider did not confirm cancelling %s: %s", booking.number, exc)


def get_dispatcher(http: httpx.Client | None = None) -> Dispatcher:
    settings = get_settings()
    if settings.taxi_dispatch_url:
        return HttpDispatcher(settings.taxi_dispatch_url, settings.taxi_dispatch_key, http=http)
    return StaffDispatcher()
