"""Comma-separated list settings shared by several groups."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator
from pydantic_settings import NoDecode


def split_csv(value: Any) -> Any:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``; anything but a string passes through."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def check_outbound_entries(value: list[str]) -> list[str]:
    """Every entry must be a CIDR or a host name (``*.`` wildcards) of the outbound policy."""
    from agentdeck.outbound.policy import parse_entry

    for entry in value:
        parse_entry(entry)  # ValueError: neither a CIDR nor a host name
    return value


#: A list given as comma-separated text in the environment (or as a list).
CsvList = Annotated[list[str], NoDecode, BeforeValidator(split_csv)]
#: A comma-separated list of outbound policy entries (CIDRs and host names).
OutboundEntries = Annotated[CsvList, AfterValidator(check_outbound_entries)]
