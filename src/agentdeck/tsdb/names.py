"""Metric and label names: Prometheus validation rules and OpenTelemetry name translation.

Validation follows Prometheus's classic (non-UTF-8) rules:

* metric names match ``[a-zA-Z_:][a-zA-Z0-9_:]*``;
* label names match ``[a-zA-Z_][a-zA-Z0-9_]*`` and must not start with ``__`` (reserved for
  internal labels such as ``__name__``);
* metric and label names are at most :data:`MAX_NAME_BYTES` bytes (Prometheus has no limit;
  the ingest core takes its limits from ``settings.tsdb``, whose defaults these are);
* a series carries at most :data:`MAX_LABELS` labels (``__name__`` not counted) and every
  label value is at most :data:`MAX_LABEL_VALUE_BYTES` bytes of UTF-8. An empty label value
  means "no such label", as in Prometheus.

Translation of OpenTelemetry names mirrors what Prometheus's OTLP receiver does with its
default settings (``translation_strategy: UnderscoreEscapingWithSuffixes``,
``label_name_underscore_sanitization: true``,
``label_name_preserve_multiple_underscores: true``); ``docs/storage.md`` lists the rules with
examples.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum

MAX_LABELS = 40
MAX_NAME_BYTES = 255
MAX_LABEL_VALUE_BYTES = 2048
METRIC_NAME_LABEL = "__name__"

_METRIC_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


class InvalidName(ValueError):
    """A metric name, label name or label value breaks the Prometheus rules."""


def is_valid_metric_name(name: str) -> bool:
    """Whether ``name`` is a valid Prometheus metric name."""
    return _METRIC_NAME_RE.fullmatch(name) is not None


def is_valid_label_name(name: str) -> bool:
    """Whether ``name`` is a valid user label name (``__``-prefixed names are reserved)."""
    return _LABEL_NAME_RE.fullmatch(name) is not None and not name.startswith("__")


def validate_metric_name(name: str) -> str:
    """Return ``name`` or raise :class:`InvalidName` saying what is wrong with it."""
    if not name:
        raise InvalidName("metric name is empty")
    if len(name) > MAX_NAME_BYTES:
        raise InvalidName(f"metric name is {len(name)} characters; the limit is {MAX_NAME_BYTES}")
    if not is_valid_metric_name(name):
        raise InvalidName(f"metric name {name!r} does not match [a-zA-Z_:][a-zA-Z0-9_:]*")
    return name


def validate_label_name(name: str) -> str:
    """Return ``name`` or raise :class:`InvalidName` saying what is wrong with it."""
    if not name:
        raise InvalidName("label name is empty")
    if len(name) > MAX_NAME_BYTES:
        raise InvalidName(f"label name is {len(name)} characters; the limit is {MAX_NAME_BYTES}")
    if name.startswith("__"):
        raise InvalidName(f"label name {name!r} starts with '__', which is reserved")
    if not is_valid_label_name(name):
        raise InvalidName(f"label name {name!r} does not match [a-zA-Z_][a-zA-Z0-9_]*")
    return name


def validate_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """Validate a label set and return it without empty values (which mean "absent").

    Raises :class:`InvalidName` on the first problem: a bad name, a value that is not a
    string or is longer than :data:`MAX_LABEL_VALUE_BYTES` bytes, or more than
    :data:`MAX_LABELS` labels.
    """
    out: dict[str, str] = {}
    for name, value in labels.items():
        validate_label_name(name)
        if not isinstance(value, str):
            raise InvalidName(f"value of label {name!r} is not a string")
        if not value:
            continue
        size = len(value.encode("utf-8", "surrogatepass"))
        if size > MAX_LABEL_VALUE_BYTES:
            raise InvalidName(
                f"value of label {name!r} is {size} bytes; the limit is {MAX_LABEL_VALUE_BYTES}"
            )
        out[name] = value
    if len(out) > MAX_LABELS:
        raise InvalidName(f"{len(out)} labels; the limit is {MAX_LABELS}")
    return out


# --- OpenTelemetry → Prometheus translation -------------------------------------------------


class OTelMetricType(StrEnum):
    """The OTLP metric kinds that matter for naming."""

    gauge = "gauge"
    monotonic_counter = "monotonic_counter"  # a Sum with is_monotonic = true
    non_monotonic_counter = "non_monotonic_counter"  # a Sum that can go down: no _total
    histogram = "histogram"
    exponential_histogram = "exponential_histogram"
    summary = "summary"


# UCUM units as Prometheus spells them (the "main" part of a unit, before any '/').
_UNITS: dict[str, str] = {
    "d": "days",
    "h": "hours",
    "min": "minutes",
    "s": "seconds",
    "ms": "milliseconds",
    "us": "microseconds",
    "ns": "nanoseconds",
    "By": "bytes",
    "KiBy": "kibibytes",
    "MiBy": "mebibytes",
    "GiBy": "gibibytes",
    "TiBy": "tibibytes",
    "KBy": "kilobytes",
    "MBy": "megabytes",
    "GBy": "gigabytes",
    "TBy": "terabytes",
    "m": "meters",
    "V": "volts",
    "A": "amperes",
    "J": "joules",
    "W": "watts",
    "g": "grams",
    "Cel": "celsius",
    "Hz": "hertz",
    "1": "",
    "%": "percent",
}

# The "per" part of a unit (after '/'), singular: "By/s" → "bytes_per_second".
_PER_UNITS: dict[str, str] = {
    "s": "second",
    "m": "minute",
    "h": "hour",
    "d": "day",
    "w": "week",
    "mo": "month",
    "y": "year",
}

_NOT_METRIC_CHAR = re.compile(r"[^a-zA-Z0-9:]")
_NOT_METRIC_CHARS = re.compile(r"[^a-zA-Z0-9:]+")
_UNDERSCORES = re.compile(r"__+")
_NOT_LABEL_CHAR = re.compile(r"[^a-zA-Z0-9]")


def _unit_parts(unit: str) -> tuple[str, str]:
    """Split a UCUM unit into Prometheus main and ``per_`` suffixes (not yet sanitised).

    Parts that are blank or are curly-brace annotations such as ``{request}`` are dropped.
    """
    main_otel, _, per_otel = unit.partition("/")
    main = ""
    main_otel = main_otel.strip()
    if main_otel and "{" not in main_otel and "}" not in main_otel:
        main = _UNITS.get(main_otel, main_otel)
    per = ""
    per_otel = per_otel.strip()
    if per_otel and "{" not in per_otel and "}" not in per_otel:
        per = _PER_UNITS.get(per_otel, per_otel)
    if per:
        per = "per_" + per
    return main, per


def _clean_unit(unit: str) -> str:
    """Invalid characters to ``_``, runs of ``_`` to one, no leading ``_``."""
    return _UNDERSCORES.sub("_", _NOT_METRIC_CHAR.sub("_", unit)).removeprefix("_")


def otel_unit_suffix(unit: str) -> str:
    """The suffix a UCUM unit adds to a metric name: ``"By/s"`` → ``"bytes_per_second"``."""
    main, per = (_clean_unit(part) for part in _unit_parts(unit))
    joined = f"{main}_{per}" if main and per else main or per
    return joined.strip("_") if joined else ""


def otel_metric_name(
    name: str,
    unit: str = "",
    metric_type: OTelMetricType = OTelMetricType.gauge,
    *,
    add_suffixes: bool = True,
) -> str:
    """Translate an OTel metric name to a Prometheus one, as Prometheus's OTLP receiver does.

    * Characters other than ``[a-zA-Z0-9:]`` separate words; words are joined with ``_`` (so
      dots become ``_``, runs of separators collapse, leading/trailing ones vanish).
    * With ``add_suffixes`` (the default): the unit's Prometheus spelling is appended unless
      already a word of the name (``s`` → ``seconds``, ``By`` → ``bytes``, ``By/s`` →
      ``bytes_per_second``, ``{request}`` and ``1`` add nothing); monotonic counters end in
      ``_total``; gauges with unit ``1`` end in ``_ratio``.
    * A result starting with a digit gets a leading ``_``.

    Histogram and summary series then take the usual ``_bucket``/``_sum``/``_count`` suffixes
    from the caller. Raises :class:`InvalidName` if nothing usable is left.
    """
    if add_suffixes:
        words = [word for word in _NOT_METRIC_CHARS.split(name) if word]
        main, per = (_clean_unit(part) for part in _unit_parts(unit))
        if main in words:
            main = ""
        if per == "per_":
            per = ""
        else:
            per = per.removesuffix("_")
            if per in words:
                per = ""
        if per:
            main = main.removesuffix("_")
        if main:
            words.append(main)
        if per:
            words.append(per)
        if metric_type is OTelMetricType.monotonic_counter:
            words = [word for word in words if word != "total"] + ["total"]
        if unit == "1" and metric_type is OTelMetricType.gauge:
            words = [word for word in words if word != "ratio"] + ["ratio"]
        result = "_".join(words)
    else:
        result = "_".join(word for word in re.split(r"[^a-zA-Z0-9:_]+", name) if word)
    if result[:1].isdigit():
        result = "_" + result
    if not result:
        raise InvalidName(f"translating metric name {name!r} left nothing")
    if result != name and not result.strip("_"):
        raise InvalidName(f"translating metric name {name!r} left only underscores")
    return result


def otel_label_name(name: str) -> str:
    """Translate an OTel attribute key to a Prometheus label name, as Prometheus does.

    Every character other than ``[a-zA-Z0-9]`` becomes ``_`` (one ``_`` per character; runs are
    kept); a name starting with a digit gets the prefix ``key_``, one starting with a single
    ``_`` the prefix ``key``. ``service.name`` → ``service_name``, ``2xx`` → ``key_2xx``,
    ``_tmp`` → ``key_tmp``. Names starting with ``__`` stay as they are and are then refused
    by :func:`validate_label_name`. Raises :class:`InvalidName` for an empty key or one made
    only of underscores.
    """
    if not name:
        raise InvalidName("attribute name is empty")
    result = _NOT_LABEL_CHAR.sub("_", name)
    if result[0].isdigit():
        result = "key_" + result
    elif result.startswith("_") and not result.startswith("__"):
        result = "key" + result
    if not result.strip("_"):
        raise InvalidName(f"translating attribute name {name!r} left only underscores")
    return result
