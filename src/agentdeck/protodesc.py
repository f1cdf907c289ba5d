"""Building protobuf message types at runtime (no protoc step): the remote-write messages, the
OTLP shadow messages whose data points stay raw bytes, and Loki's push messages."""

from __future__ import annotations

from google.protobuf import descriptor_pb2

FieldSpec = descriptor_pb2.FieldDescriptorProto


def field_spec(
    name: str,
    number: int,
    kind: int,
    type_name: str = "",
    *,
    repeated: bool = False,
    oneof: int = -1,
) -> FieldSpec:
    """One field of a message descriptor (``kind`` is a ``FieldDescriptorProto.TYPE_*``)."""
    spec = FieldSpec(
        name=name,
        number=number,
        type=kind,  # type: ignore[arg-type]
        label=FieldSpec.LABEL_REPEATED if repeated else FieldSpec.LABEL_OPTIONAL,
    )
    if type_name:
        spec.type_name = type_name
    if oneof >= 0:
        spec.oneof_index = oneof
    return spec
