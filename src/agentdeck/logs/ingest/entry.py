"""What a decoder hands to normalisation: raw entries, and per-entry errors by index."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar


@dataclass(slots=True)
class RawEntry:
    """One log line as a wire format delivered it (not validated yet).

    ``timestamp`` is None (now), an int or float (Unix time in s, ms, µs or ns, told apart by
    magnitude) or an RFC 3339 string. ``severity`` is a name, an alias or an OpenTelemetry
    severity number. ``labels`` are stream labels (they count against the tenant's stream cap);
    ``fields`` are per-line labels (OpenTelemetry log attributes, Loki structured metadata),
    stored beside them but not counted as streams.
    """

    timestamp: object = None
    severity: object = None
    service: object = None
    message: object = None
    labels: Mapping[str, object] | None = None
    trace_id: object = None
    span_id: object = None
    agent: object = None
    fields: Mapping[str, str] | None = None
    #: Decoders that know the service has a default (OTel, Loki) say so here.
    default_service: ClassVar[str] = ""


@dataclass(slots=True)
class DefaultedEntry(RawEntry):
    """An entry whose missing service is ``unknown_service`` (OpenTelemetry's convention)."""

    default_service: ClassVar[str] = "unknown_service"


@dataclass(frozen=True, slots=True)
class EntryError:
    """Why the entry at ``index`` was refused: the field at fault, a message, a reason
    (the label of ``agentdeck_log_lines_rejected_total``)."""

    index: int
    field: str
    message: str
    reason: str


@dataclass(slots=True)
class Decoded:
    """A decoded request: its entries in order, and the entries refused while decoding
    (their indexes count in the same sequence)."""

    entries: list[RawEntry | None] = field(default_factory=list)
    errors: list[EntryError] = field(default_factory=list)
