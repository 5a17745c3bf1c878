"""The forms the dialogue runs, by the name the Rasa domain gives them."""

from bot.services.forms.base import Form, Reply, Say, Turn
from bot.services.forms.lookup import CancelForm, StatusForm
from bot.services.forms.resident_request import RequestForm
from bot.services.forms.stair_climber import StairClimberForm
from bot.services.forms.taxi import TaxiForm

FORMS: dict[str, Form] = {
    form.name: form for form in (TaxiForm(), StairClimberForm(), RequestForm(), StatusForm(), CancelForm())
}

__all__ = ["FORMS", "Form", "Reply", "Say", "Turn"]
