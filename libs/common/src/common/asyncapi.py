"""The AsyncAPI 3.0 document of every event (CONTRACT §3), generated from the pydantic models in `common.events`.

The document is committed as `docs/asyncapi.json` (regenerate with `uv run connector asyncapi
--write`; a test fails when it is stale) and served by the gateway at `/api/v1/asyncapi.json`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, Literal

from pydantic.json_schema import JsonSchemaMode, models_json_schema

from common.amqp import ORDER_DESPATCHED_QUEUE, REJECTION_REASON_HEADER
from common.events import (
    ChannelActivated,
    ChannelConnected,
    ChannelDisconnected,
    Event,
    OrderChanged,
    OrderDespatched,
    OrderDownloaded,
)

EXCHANGE = "clickdrop.events"  # AMQP_EXCHANGE's default; a deployment may name another
AMQP_BINDING_VERSION = "0.3.0"
_SCHEMA_REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class EventDoc:
    """One event as the document describes it."""

    model: type[Event]
    action: Literal["send", "receive"]  # from the connector's side
    by: str
    summary: str


EVENTS = (
    EventDoc(
        OrderDownloaded,
        "send",
        "order poller",
        "An order in a downloaded status with a physical item, published once per store and order.",
    ),
    EventDoc(
        OrderChanged,
        "send",
        "order poller",
        "An order already downloaded changed in BigCommerce before its label was printed: once per "
        "distinct change (cancelled, status, address, items), with the order as it is now, found within "
        "one poll interval (10-15 minutes). Nothing is sent for a touch (only date_modified moved) or "
        "for the connector's own write-back. At least once: deduplicate on event_id (a change found "
        "twice has one event_id); of two events of one order the later order.date_modified is current.",
    ),
    EventDoc(
        ChannelConnected,
        "send",
        "auth gateway",
        "The app was installed (or reinstalled, or reauthorized) for a store.",
    ),
    EventDoc(
        ChannelActivated,
        "send",
        "auth gateway",
        "The merchant clicked Update and activate: downloads start.",
    ),
    EventDoc(
        ChannelDisconnected,
        "send",
        "auth gateway",
        "Uninstalled, or Disconnect Store: no request carries the store's token any more.",
    ),
    EventDoc(
        OrderDespatched,
        "receive",
        "status writer",
        f"Click & Drop despatched (part of) an order; consumed from the quorum queue "
        f"{ORDER_DESPATCHED_QUEUE} and written back to the store on the next flush.",
    ),
)


def _name(model: type[Event]) -> str:
    return model.__name__


def _channel_id(model: type[Event]) -> str:
    name = _name(model)
    return name[0].lower() + name[1:]


def _schemas() -> dict[str, Any]:
    # what the connector publishes is described as serialised; what it consumes as it is validated
    models: list[tuple[type[Event], JsonSchemaMode]] = [
        (doc.model, "serialization" if doc.action == "send" else "validation") for doc in EVENTS
    ]
    _, definitions = models_json_schema(models, ref_template=_SCHEMA_REF)
    schemas: dict[str, Any] = definitions["$defs"]
    missing = {_name(doc.model) for doc in EVENTS} - set(schemas)
    if missing:  # a model described in two modes would be renamed (-Input/-Output)
        raise RuntimeError(f"events without a schema of their own name: {sorted(missing)}")
    return dict(sorted(schemas.items()))


def _exchange_binding() -> dict[str, Any]:
    return {
        "amqp": {
            "is": "routingKey",
            "exchange": {
                "name": EXCHANGE,
                "type": "topic",
                "durable": True,
                "autoDelete": False,
                "vhost": "/",
            },
            "bindingVersion": AMQP_BINDING_VERSION,
        }
    }


def _message(doc: EventDoc, *, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    name = _name(doc.model)
    message: dict[str, Any] = {
        "name": name,
        "title": name,
        "summary": doc.summary,
        "contentType": "application/json",
        "payload": {"$ref": _SCHEMA_REF.format(model=name)},
        "correlationId": {
            "description": "The AMQP message_id is the event_id; consumers deduplicate on it.",
            "location": "$message.payload#/event_id",
        },
        "bindings": {
            "amqp": {"contentEncoding": "utf-8", "messageType": name, "bindingVersion": AMQP_BINDING_VERSION}
        },
    }
    if headers is not None:
        message["headers"] = headers
    return message


_DEAD_LETTER_HEADERS = {
    "type": "object",
    "properties": {
        REJECTION_REASON_HEADER: {
            "type": "string",
            "description": "Why the status writer can never accept the message (never quoting its body).",
        },
        "x-death": {
            "type": "array",
            "description": "Set by the broker when it dead-lettered the message after its delivery limit.",
        },
    },
}


def build_asyncapi() -> dict[str, Any]:
    """The AsyncAPI 3.0 document: a channel per routing key, an operation per event, schemas from the models."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for doc in EVENTS:
        name, channel = _name(doc.model), _channel_id(doc.model)
        messages[name] = _message(doc)
        channels[channel] = {
            "address": doc.model.ROUTING_KEY,
            "title": f"{doc.model.ROUTING_KEY} on {EXCHANGE}",
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            "bindings": _exchange_binding(),
        }
        verb = "publish" if doc.action == "send" else "consume"
        operations[f"{verb}{name}"] = {
            "action": doc.action,
            "title": f"{doc.by.capitalize()} {verb}s {name}",
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": [{"$ref": f"#/channels/{channel}/messages/{name}"}],
            "bindings": {
                "amqp": (
                    {"deliveryMode": 2, "mandatory": True, "bindingVersion": AMQP_BINDING_VERSION}
                    if doc.action == "send"
                    else {"ack": True, "bindingVersion": AMQP_BINDING_VERSION}
                )
            },
        }
    dead_letter = EventDoc(
        OrderDespatched, "receive", "operators", "An OrderDespatched the status writer could not accept."
    )
    messages["DeadLetteredOrderDespatched"] = {
        **_message(dead_letter, headers=_DEAD_LETTER_HEADERS),
        "name": "DeadLetteredOrderDespatched",
        "description": "The body as it arrived, which may not match the schema; `connector dlq` lists and redrives these.",
    }
    channels["orderDespatchedDeadLetters"] = {
        "address": f"{ORDER_DESPATCHED_QUEUE}.dlq",
        "title": "The status writer's dead letters",
        "messages": {
            "DeadLetteredOrderDespatched": {"$ref": "#/components/messages/DeadLetteredOrderDespatched"}
        },
        "bindings": {
            "amqp": {
                "is": "queue",
                "queue": {
                    "name": f"{ORDER_DESPATCHED_QUEUE}.dlq",
                    "durable": True,
                    "exclusive": False,
                    "autoDelete": False,
                    "vhost": "/",
                },
                "bindingVersion": AMQP_BINDING_VERSION,
            }
        },
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Click & Drop BigCommerce connector events",
            "version": version("common"),
            "description": (
                f"Events on the topic exchange `{EXCHANGE}` (AMQP_EXCHANGE). Every message is JSON UTF-8, "
                "persistent, with message_id = event_id and type = event_type; money is a decimal string "
                "and times are ISO-8601 UTC with Z. Publishers use confirms; delivery is at least once, "
                "so every consumer deduplicates on event_id."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "rabbitmq": {
                "host": "{host}",
                "protocol": "amqp",
                "protocolVersion": "0-9-1",
                "description": "Click & Drop's RabbitMQ (AMQP_URL).",
                "variables": {"host": {"default": "127.0.0.1:5672"}},
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": _schemas()},
    }


def render_asyncapi() -> str:
    """The document as committed (keys in reading order, not sorted)."""
    return json.dumps(build_asyncapi(), indent=2, ensure_ascii=False) + "\n"
