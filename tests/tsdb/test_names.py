"""Prometheus name rules and the OpenTelemetry → Prometheus name translation."""

from __future__ import annotations

import pytest

from agentdeck.tsdb.names import (
    MAX_LABEL_VALUE_BYTES,
    MAX_LABELS,
    InvalidName,
    OTelMetricType,
    is_valid_label_name,
    is_valid_metric_name,
    otel_label_name,
    otel_metric_name,
    otel_unit_suffix,
    validate_label_name,
    validate_labels,
    validate_metric_name,
)

G = OTelMetricType.gauge
C = OTelMetricType.monotonic_counter
UPDOWN = OTelMetricType.non_monotonic_counter
H = OTelMetricType.histogram
S = OTelMetricType.summary


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("up", True),
        ("http_requests_total", True),
        ("job:rate5m:sum", True),
        (":leading_colon", True),
        ("_underscore", True),
        ("A1", True),
        ("1abc", False),
        ("with.dot", False),
        ("with-dash", False),
        ("", False),
        ("ünïcode", False),
        ("space here", False),
    ],
)
def test_metric_names(name: str, valid: bool) -> None:
    assert is_valid_metric_name(name) is valid
    if valid:
        assert validate_metric_name(name) == name
    else:
        with pytest.raises(InvalidName):
            validate_metric_name(name)


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("agent", True),
        ("_private", True),
        ("le", True),
        ("a1_b2", True),
        ("__name__", False),  # reserved
        ("__tenant__", False),
        ("__x", False),
        ("job:colon", False),  # colons only in metric names
        ("1st", False),
        ("service.name", False),
        ("", False),
    ],
)
def test_label_names(name: str, valid: bool) -> None:
    assert is_valid_label_name(name) is valid
    if valid:
        assert validate_label_name(name) == name
    else:
        with pytest.raises(InvalidName):
            validate_label_name(name)


def test_names_longer_than_255_characters_are_refused() -> None:
    assert validate_metric_name("m" * 255) == "m" * 255
    assert validate_label_name("l" * 255) == "l" * 255
    with pytest.raises(InvalidName, match="metric name is 256 characters; the limit is 255"):
        validate_metric_name("m" * 256)
    with pytest.raises(InvalidName, match="label name is 256 characters; the limit is 255"):
        validate_label_name("l" * 256)


def test_reserved_label_message_names_the_rule() -> None:
    with pytest.raises(InvalidName, match="reserved"):
        validate_label_name("__tenant__")


def test_validate_labels_drops_empty_values_and_enforces_limits() -> None:
    assert validate_labels({"a": "1", "b": ""}) == {"a": "1"}
    at_limit = {f"l{i}": "v" for i in range(MAX_LABELS)}
    assert validate_labels(at_limit) == at_limit
    with pytest.raises(InvalidName, match="41 labels; the limit is 40"):
        validate_labels({**at_limit, "one_more": "v"})
    # Empty values do not count toward the limit: they are not labels.
    assert len(validate_labels({**at_limit, "empty": ""})) == MAX_LABELS

    longest = "é" * (MAX_LABEL_VALUE_BYTES // 2)  # 2 bytes each in UTF-8
    assert validate_labels({"v": longest}) == {"v": longest}
    with pytest.raises(InvalidName, match="2049 bytes; the limit is 2048"):
        validate_labels({"v": longest + "x"})
    with pytest.raises(InvalidName):
        validate_labels({"bad.name": "x"})
    with pytest.raises(InvalidName, match="not a string"):
        validate_labels({"n": 3})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("name", "unit", "kind", "expected"),
    [
        # dots and other characters become word separators
        ("http.server.request.duration", "s", H, "http_server_request_duration_seconds"),
        ("gen_ai.client.operation.duration", "s", H, "gen_ai_client_operation_duration_seconds"),
        ("gen_ai.client.token.usage", "{token}", H, "gen_ai_client_token_usage"),
        ("(lambda).function.executions(#)", "", G, "lambda_function_executions"),
        ("foo__bar..baz", "", G, "foo_bar_baz"),
        ("job:rate.5m", "", G, "job:rate_5m"),
        ("2xx.responses", "", G, "_2xx_responses"),
        # units
        ("memory.usage", "By", G, "memory_usage_bytes"),
        ("latency", "ms", G, "latency_milliseconds"),
        ("network.io", "By/s", G, "network_io_bytes_per_second"),
        ("speed", "m/h", G, "speed_meters_per_hour"),
        ("throughput", "/s", G, "throughput_per_second"),
        ("temperature", "Cel", G, "temperature_celsius"),
        ("cpu.usage", "%", G, "cpu_usage_percent"),
        ("system.network.dropped", "packets", G, "system_network_dropped_packets"),
        ("system.network.dropped", "{packets}", C, "system_network_dropped_total"),
        ("queue.size", "{message}/s", G, "queue_size_per_second"),
        ("queue.depth", "{message}", G, "queue_depth"),
        ("request.duration_seconds", "s", G, "request_duration_seconds"),  # unit already there
        ("mem", "KiBy", G, "mem_kibibytes"),
        # type suffixes
        ("requests.count", "1", C, "requests_count_total"),
        ("http.requests", "", C, "http_requests_total"),
        ("http.requests.total", "", C, "http_requests_total"),
        ("total.requests", "", C, "requests_total"),
        ("cpu.time", "s", C, "cpu_time_seconds_total"),
        ("active.requests", "", UPDOWN, "active_requests"),  # can go down: no _total
        ("system.memory.utilization", "1", G, "system_memory_utilization_ratio"),
        ("cache.hit.ratio", "1", G, "cache_hit_ratio"),
        ("ratio.of.hits", "1", G, "of_hits_ratio"),
        ("rpc.duration", "ms", S, "rpc_duration_milliseconds"),
    ],
)
def test_otel_metric_names(name: str, unit: str, kind: OTelMetricType, expected: str) -> None:
    translated = otel_metric_name(name, unit, kind)
    assert translated == expected
    assert is_valid_metric_name(translated)


def test_otel_metric_names_without_suffixes() -> None:
    assert otel_metric_name("http.server.duration", "s", H, add_suffixes=False) == (
        "http_server_duration"
    )
    # Without suffixes, existing underscores are kept as they are.
    assert otel_metric_name("foo__bar.baz", "", C, add_suffixes=False) == "foo__bar_baz"
    assert otel_metric_name("9lives", add_suffixes=False) == "_9lives"


@pytest.mark.parametrize("name", ["", "...", "(#)"])
def test_otel_metric_names_that_leave_nothing_are_refused(name: str) -> None:
    with pytest.raises(InvalidName):
        otel_metric_name(name)


@pytest.mark.parametrize(
    ("unit", "suffix"),
    [
        ("s", "seconds"),
        ("By/s", "bytes_per_second"),
        ("1", ""),
        ("{request}", ""),
        ("{request}/s", "per_second"),
        ("widgets", "widgets"),
        ("1/s", "per_second"),
    ],
)
def test_otel_unit_suffix(unit: str, suffix: str) -> None:
    assert otel_unit_suffix(unit) == suffix


@pytest.mark.parametrize(
    ("attribute", "label"),
    [
        ("service.name", "service_name"),
        ("gen_ai.request.model", "gen_ai_request_model"),
        ("http.response.status_code", "http_response_status_code"),
        ("a..b", "a__b"),  # runs of underscores are kept (Prometheus's default)
        ("2xx", "key_2xx"),
        ("_tmp", "key_tmp"),
        ("ünï", "key_n_"),
        ("k8s.pod-name", "k8s_pod_name"),
        ("__reserved__", "__reserved__"),
        ("_", "key_"),
    ],
)
def test_otel_label_names(attribute: str, label: str) -> None:
    assert otel_label_name(attribute) == label


def test_translated_reserved_attribute_is_still_refused_as_a_label() -> None:
    with pytest.raises(InvalidName):
        validate_label_name(otel_label_name("__reserved__"))


@pytest.mark.parametrize("attribute", ["", "...", "__"])
def test_otel_label_names_that_leave_only_underscores_are_refused(attribute: str) -> None:
    with pytest.raises(InvalidName):
        otel_label_name(attribute)
