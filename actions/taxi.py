"""Taxi rides: the form's validation and the booking, both answered by the app."""

from rasa_sdk import Tracker

from actions import app_client
from actions.forms import AppFormSubmit, AppFormValidation, channel_of, idempotency_key
from actions.touch import touch_only

EXTRA_SLOTS = ("taxi_asap", "taxi_pickup_offer", "taxi_day")


class ValidateTaxiForm(AppFormValidation):
    form = "taxi_form"
    extra_slots = EXTRA_SLOTS


class ActionBookTaxi(AppFormSubmit):
    form = "taxi_form"
    extra_slots = EXTRA_SLOTS
    action_name = "action_book_taxi"
    label = "叫出租车"

    async def submit(self, tracker: Tracker) -> str:
        booked = await app_client.book_taxi(
            idempotency_key=idempotency_key(tracker, self.form),
            touch_only=touch_only(tracker),
            sender_id=tracker.sender_id,
            channel=channel_of(tracker),
            phone=tracker.get_slot("taxi_phone"),
            pickup=tracker.get_slot("taxi_pickup"),
            destination=tracker.get_slot("taxi_destination"),
            pickup_at=tracker.get_slot("taxi_time"),
            asap=bool(tracker.get_slot("taxi_asap")),
            passengers=tracker.get_slot("taxi_passengers"),
            assistance="" if tracker.get_slot("taxi_assistance") == "不需要" else tracker.get_slot("taxi_assistance"),
        )
        return str(booked["text"])
