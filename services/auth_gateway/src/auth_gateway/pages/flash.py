"""What a settings page shows once after a form: a confirmation, or a refusal with the values typed."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# The form's fields as the merchant reads them (the guide's labels).
FIELD_LABELS = {
    "trading_name": "Trading name",
    "store_name": "Store name",
    "mark_orders_as_despatched": "Mark orders as despatched",
}


class TypedValues(BaseModel):
    """The form as the merchant filled it in, shown again after a refusal."""

    model_config = ConfigDict(frozen=True)

    trading_name: str
    store_name: str
    mark_orders_as_despatched: bool


class Flash(BaseModel):
    """Carried in the session from a form's redirect to the next page, shown there once."""

    model_config = ConfigDict(frozen=True)

    notice: str = ""
    # a refusal about the channel rather than one field
    problem: str = ""
    # form field name -> the sentence shown beside it (it names the field)
    field_errors: dict[str, str] = Field(default_factory=dict)
    typed: TypedValues | None = None

    @property
    def refused(self) -> bool:
        return bool(self.problem or self.field_errors)
