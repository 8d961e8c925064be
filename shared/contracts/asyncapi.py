"""The AsyncAPI 3 document: a channel per topic, a message per event type, operations per service."""

import inspect
from typing import Any

from pydantic import BaseModel

from shared.contracts.asyncapi_text import CHANNELS, DESCRIPTION, DLQ_HEADERS, FLOWS, KEYS, SERVICES
from shared.contracts.clients import ApiClientRecord
from shared.contracts.envelope import envelope_schema
from shared.contracts.events import EventData
from shared.contracts.examples import documented_examples
from shared.contracts.inbound import InboundConcern
from shared.contracts.reference import ReferenceDirectory
from shared.contracts.registry import EVENT_MODELS, TOPIC_EVENTS
from shared.contracts.topics import API_CLIENTS, CONCERN_INBOUND, EVENT_TOPICS, REFERENCE_DATA, dlq

CONTRACTS_VERSION = "1.0.0"
KAFKA_BINDING = "0.5.0"
REF = "#/components/schemas/{model}"
PLAIN_MESSAGES: dict[str, tuple[str, type[BaseModel]]] = {
    CONCERN_INBOUND: ("inbound-concern", InboundConcern),
    API_CLIENTS: ("api-client-record", ApiClientRecord),
    REFERENCE_DATA: ("reference-directory", ReferenceDirectory),
}
"""The messages that are not CloudEvents: topic -> (message name, model)."""


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of every topic, message and service, as plain data."""
    examples = documented_examples()
    schemas: dict[str, Any] = {"cloudevent-headers": _cloudevent_headers(), "dead-letter-headers": _dlq_headers()}
    messages: dict[str, Any] = {"dead-letter": _dead_letter_message()}
    for model in EVENT_MODELS:
        _add_schema(schemas, model.event_type, envelope_schema(model, ref_template=REF))
        messages[model.event_type] = _event_message(model, examples[model.event_type])
    for topic, (name, model) in PLAIN_MESSAGES.items():
        _add_schema(schemas, name, model.model_json_schema(ref_template=REF))
        messages[name] = _plain_message(topic, name, model, examples[name])
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Concern-referral platform: events",
            "version": CONTRACTS_VERSION,
            "description": DESCRIPTION,
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "The single KRaft broker of the local stack.",
            }
        },
        "channels": _channels(),
        "operations": _operations(),
        "components": {"schemas": schemas, "messages": messages},
    }


def _message_names(topic: str) -> list[str]:
    if topic in PLAIN_MESSAGES:
        return [PLAIN_MESSAGES[topic][0]]
    if topic.endswith(".dlq"):
        return ["dead-letter"]
    return [model.event_type for model in TOPIC_EVENTS[topic]]


def _channels() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    for topic, description in CHANNELS.items():
        channels[topic] = _channel(topic, description)
    for topic in EVENT_TOPICS:
        description = (
            f"Dead letters of `{topic}`: the original key and bytes of a message a consumer could not "
            "decode or apply, with the original headers plus the `dlq-*` headers. Inspect and replay "
            "with the `crp` CLI. A replay appends a marker on the letter's partition: a record without a value "
            "whose `dlq-replay-of` header names the letter (`partition:offset`) and `dlq-replayed-at` says when "
            "(ISO 8601, UTC); it is no dead letter."
        )
        channels[dlq(topic)] = _channel(dlq(topic), description)
    for compacted in (API_CLIENTS, REFERENCE_DATA):
        channels[compacted]["bindings"]["kafka"]["topicConfiguration"] = {"cleanup.policy": ["compact"]}
    return channels


def _channel(topic: str, description: str) -> dict[str, Any]:
    return {
        "address": topic,
        "title": topic,
        "description": description,
        "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in _message_names(topic)},
        "bindings": {"kafka": {"topic": topic, "bindingVersion": KAFKA_BINDING}},
    }


def _operations() -> dict[str, Any]:
    flows = list(FLOWS)
    for service, action, topic in FLOWS:
        if action == "receive" and topic in EVENT_TOPICS and service in SERVICES:
            flows.append((service, "send", dlq(topic)))
    flows += [("ops", "receive", dlq(topic)) for topic in EVENT_TOPICS]
    operations: dict[str, Any] = {}
    for service, action, topic in flows:
        operation: dict[str, Any] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{topic}"},
            "summary": f"{service} {'publishes to' if action == 'send' else 'consumes'} {topic}.",
            "messages": [{"$ref": f"#/channels/{topic}/messages/{name}"} for name in _message_names(topic)],
        }
        if action == "receive" and service in SERVICES and topic in EVENT_TOPICS:
            group = {"type": "string", "enum": [f"{service}-service"]}
            operation["bindings"] = {"kafka": {"groupId": group, "bindingVersion": KAFKA_BINDING}}
        operations[f"{service}.{action}.{topic}"] = operation
    return operations


def _add_schema(schemas: dict[str, Any], name: str, schema: dict[str, Any]) -> None:
    for def_name, definition in schema.pop("$defs", {}).items():
        if schemas.setdefault(def_name, definition) != definition:
            raise ValueError(f"two different schemas are called {def_name}")
    schemas[name] = schema


def _summary(model: type[BaseModel]) -> tuple[str, str]:
    text = inspect.cleandoc(model.__doc__ or "")
    return text.split("\n", 1)[0], text


def _event_message(model: type[EventData], example: dict[str, Any]) -> dict[str, Any]:
    summary, description = _summary(model)
    return {
        "name": model.event_type,
        "title": model.__name__,
        "summary": summary,
        "description": description,
        "contentType": "application/cloudevents+json",
        "headers": {"$ref": "#/components/schemas/cloudevent-headers"},
        "payload": {"$ref": f"#/components/schemas/{model.event_type}"},
        "bindings": {
            "kafka": {"key": {"type": "string", "description": KEYS[model.topic]}, "bindingVersion": KAFKA_BINDING}
        },
        "examples": [
            {
                "name": "example",
                "summary": "A fictional example.",
                "headers": {"ce_type": example["type"], "ce_id": example["id"]},
                "payload": example,
            }
        ],
    }


def _plain_message(topic: str, name: str, model: type[BaseModel], example: dict[str, Any]) -> dict[str, Any]:
    summary, description = _summary(model)
    return {
        "name": name,
        "title": model.__name__,
        "summary": summary,
        "description": description,
        "contentType": "application/json",
        "payload": {"$ref": f"#/components/schemas/{name}"},
        "bindings": {"kafka": {"key": {"type": "string", "description": KEYS[topic]}, "bindingVersion": KAFKA_BINDING}},
        "examples": [{"name": "example", "summary": "A fictional example.", "payload": example}],
    }


def _dead_letter_message() -> dict[str, Any]:
    return {
        "name": "dead-letter",
        "title": "Dead letter",
        "summary": "A message a consumer refused, parked with the reason so the consumer can carry on.",
        "contentType": "application/octet-stream",
        "headers": {"$ref": "#/components/schemas/dead-letter-headers"},
        "payload": {
            "type": "string",
            "format": "binary",
            "description": "The original message bytes, unchanged (they may be malformed).",
        },
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "The original message's key, unchanged."},
                "bindingVersion": KAFKA_BINDING,
            }
        },
    }


def _cloudevent_headers() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "Kafka headers producers add, so tools can filter without parsing the body.",
        "properties": {
            "ce_type": {"type": "string", "description": "Copy of the CloudEvents `type`."},
            "ce_id": {"type": "string", "description": "Copy of the CloudEvents `id`."},
        },
    }


def _dlq_headers() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "Kafka headers of a dead letter: the original message's headers plus these (UTF-8 text).",
        "properties": {name: {"type": "string", "description": text} for name, text in DLQ_HEADERS.items()},
        "required": list(DLQ_HEADERS),
    }
