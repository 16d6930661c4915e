"""rafka messages in the JSON form of Apache Kafka's generated ``*JsonConverter`` classes.

Used to hand the same message to Kafka's own serializer (through the Java peer) and compare
bytes. Only fields present at the version are written; unknown tagged fields have no JSON form.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from rafka.protocol._message import KafkaStruct


def kafka_uuid(value: uuid.UUID) -> str:
    """Kafka's ``Uuid.toString()``: URL-safe base64 of the 16 bytes, without padding."""
    return base64.urlsafe_b64encode(value.bytes).decode().rstrip("=")


def _value(type_name: str, value: Any, version: int) -> Any:
    if value is None:
        return None
    if type_name.startswith("[]"):
        return [_value(type_name[2:], item, version) for item in value]
    if type_name in ("bytes", "records"):
        return base64.b64encode(bytes(value)).decode()
    if type_name == "uuid":
        return kafka_uuid(value)
    if isinstance(value, KafkaStruct):
        return to_kafka_json(value, version)
    return value


def to_kafka_json(message: KafkaStruct, version: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in message._SCHEMA:
        if f.present_in(version):
            json_name = f.spec_name[:1].lower() + f.spec_name[1:]
            out[json_name] = _value(f.type, getattr(message, f.name), version)
    return out
