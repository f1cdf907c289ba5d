"""Pieces of route documentation shared by routers that read their bodies by hand (ingest):
the request schema inlined into ``openapi_extra``, and the OTLP/HTTP export route's shape."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

BINARY: dict[str, Any] = {"schema": {"type": "string", "format": "binary"}}
OTLP_PROTOBUF = "application/x-protobuf"
OTLP_JSON = "application/json"


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of ``model`` with its definitions inlined (for ``openapi_extra``)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


def otlp_export_docs(
    *, response_model: type[BaseModel], request: str, problems: dict[int | str, dict[str, Any]]
) -> dict[str, Any]:
    """``responses`` and ``openapi_extra`` of an OTLP/HTTP export route (protobuf or JSON in,
    the same out, with partial success), for ``router.post(..., **otlp_export_docs(...))``."""
    return {
        "responses": {
            200: {
                "description": "Accepted, possibly partly (see partialSuccess).",
                "content": {
                    OTLP_PROTOBUF: BINARY,
                    OTLP_JSON: {
                        "schema": {"$ref": f"#/components/schemas/{response_model.__name__}"}
                    },
                },
                "model": response_model,
            },
            **problems,
        },
        "openapi_extra": {
            "requestBody": {
                "required": True,
                "description": request,
                "content": {OTLP_PROTOBUF: BINARY, OTLP_JSON: {"schema": {"type": "object"}}},
            }
        },
    }
