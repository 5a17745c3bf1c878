"""Stair-climber bookings: the form's validation and the booking, both answered by the app."""

from rasa_sdk import Tracker

from actions import app_client
from actions.forms import AppFormSubmit, AppFormValidation, channel_of, idempotency_key

EXTRA_SLOTS = ("climber_room", "climber_offer")


class ValidateStairClimberForm(AppFormValidation):
    form = "stair_climber_form"
    extra_slots = EXTRA_SLOTS


class ActionBookStairClimber(AppFormSubmit):
    form = "stair_climber_form"
    extra_slots = EXTRA_SLOTS
    action_name = "action_book_stair_climber"
    label = "预约爬楼机"

    async def submit(self, tracker: Tracker) -> str:
        booked = await app_client.book_stair_climber(
            idempotency_key=idempotency_key(tracker, self.form),
            sender_id=tracker.sender_id,
            channel=channel_of(tracker),
            phone=tracker.get_slot("climber_phone"),
            slot_start=tracker.get_slot("climber_time"),
            building=tracker.get_slot("climber_building"),
            floor=tracker.get_slot("climber_floor"),
            room=tracker.get_slot("climber_room") or "",
            direction=tracker.get_slot("climber_direction"),
            purpose=tracker.get_slot("climber_purpose") or "",
        )
        return str(booked["text"])
