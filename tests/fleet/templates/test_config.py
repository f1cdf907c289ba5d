"""The template config, the answer parsing and the echo's answers, in process."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from agentdeck.errors import Invalid
from agentdeck.fleet.templates.config import parse_config
from agentdeck.fleet.templates.echo import completion
from agentdeck.fleet.templates.parsing import check_object, json_object, match_label


def test_config_defaults_and_foreign_keys_are_ignored(tmp_path: Path) -> None:
    config = parse_config(None)
    assert config.llm.base_url is None and config.llm.max_tokens == 512
    path = tmp_path / "c.json"
    path.write_text(
        '{"auto_scaling": {"enabled": true}, "source": {"repo": "a/b"},'
        ' "llm": {"base_url": "http://127.0.0.1:11434/v1/", "model": "llama3.2",'
        ' "api_key_env": "OLLAMA_KEY", "input_cost_per_million": 2.5},'
        ' "schema": {"type": "object"}}'
    )
    config = parse_config(str(path))
    assert config.llm.base_url == "http://127.0.0.1:11434/v1"  # the trailing slash goes
    assert config.llm.target == "127.0.0.1:11434"
    assert config.schema_ == {"type": "object"}
    assert math.isclose(config.llm.cost(1_000_000, 0), 2.5)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"llm": {"api_key": "sk-1"}}', "put the key in an environment variable"),
        ('{"llm": {"modle": "x"}}', "config.llm.modle: Extra inputs are not permitted"),
        ('{"llm": {"base_url": "ftp://x"}}', "is not an http(s) URL"),
        ('{"llm": {"api_key_env": "MY-KEY"}}', "is not an environment variable name"),
        ('{"llm": {"timeout": 0}}', "config.llm.timeout: Input should be greater than 0"),
        ('{"labels": "a"}', "config.labels: Input should be a valid list"),
        ('{"telemetry": {"interval_seconds": 0}}', "greater than or equal to 0.1"),
        ("{not json", "config is not valid JSON"),
        ("[1]", "must be a JSON object"),
        ("/no/such/config.json", "config file /no/such/config.json"),
    ],
)
def test_a_bad_config_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_config(text)
    assert message in str(caught.value.detail)


@pytest.mark.parametrize(
    ("answer", "want"),
    [
        ('{"label": "Spam", "confidence": 0.9}', ("spam", 0.9)),
        ('{"category": " ham "}', ("ham", None)),
        ('```json\n{"label": "ham", "confidence": 3}\n```', ("ham", None)),
        ("Ham.", ("ham", None)),
        ("I would say this is spam.", ("spam", None)),
        ("spam or ham, hard to say", (None, None)),
        ("hamster", (None, None)),  # a whole word only
        ('{"label": "eggs"}', (None, None)),
    ],
)
def test_the_label_is_read_from_json_or_prose(
    answer: str, want: tuple[str | None, float | None]
) -> None:
    assert match_label(answer, ["ham", "spam"]) == want


def test_a_json_object_is_found_where_models_put_it() -> None:
    assert json_object('{"a": 1}') == {"a": 1}
    assert json_object('Here it is:\n```json\n{"a": [1, 2]}\n```\nDone.') == {"a": [1, 2]}
    assert json_object('The answer {"a": {"b": null}} is it') == {"a": {"b": None}}
    assert json_object("[1, 2] and {broken") is None


def test_the_schema_check_names_missing_and_mistyped_fields() -> None:
    schema = {
        "type": "object",
        "properties": {
            "n": {"type": "integer"},
            "ok": {"type": "boolean"},
            "tags": {"type": ["array", "null"]},
        },
        "required": ["n"],
    }
    assert check_object({"n": 3.0, "ok": True, "tags": None}, schema) == []
    assert check_object({"n": True, "ok": 1, "tags": "x"}, schema) == [
        "'n' is not of type integer",
        "'ok' is not of type boolean",
        "'tags' is not of type array or null",
    ]
    assert check_object({"n": None}, schema) == ["'n' is missing"]


def test_the_echo_counts_tokens_from_the_text() -> None:
    body = completion(
        {
            "model": "m",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "abcde"}]}],
        }
    )
    assert isinstance(body, dict)
    assert body["choices"][0]["message"]["content"] == "abcde"
    assert body["usage"] == {"prompt_tokens": 6, "completion_tokens": 2, "total_tokens": 8}
