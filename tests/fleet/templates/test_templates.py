"""The template agents as real processes against the echo endpoint (also a real process)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler

import httpx
import pytest

from agentdeck.fleet.templates import command
from tests.fleet.templates.conftest import Process, free_port, llm_config
from tests.outbound.support import serving

PROBLEM = "application/problem+json"


def invoke(agent: Process, body: dict[str, object]) -> httpx.Response:
    return httpx.post(agent.url + "/invoke", json=body, timeout=20)


def assert_problem(response: httpx.Response, status: int, kind: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, object] = response.json()
    assert body["type"] == f"/problems/{kind}"
    assert body["status"] == status
    assert body["instance"] == "/invoke"
    return body


# --- the echo endpoint ---------------------------------------------------------------------------


def test_echo_endpoint_repeats_the_last_user_message_and_says_it_is_no_model(
    echo: Process,
) -> None:
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "the second question, twelve words or so long it goes"},
    ]
    response = httpx.post(
        echo.url + "/v1/chat/completions", json={"model": "anything", "messages": messages}
    )
    assert response.status_code == 200
    assert "not a model" in response.headers["x-agentdeck-echo"]
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == body["system_fingerprint"] == "agentdeck-echo"
    choice = body["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": messages[-1]["content"]}
    assert choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["completion_tokens"] == 13  # 52 characters, about four a token
    assert usage["prompt_tokens"] > usage["completion_tokens"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    again = httpx.post(
        echo.url + "/v1/chat/completions", json={"model": "anything", "messages": messages}
    ).json()
    assert (again["id"], again["usage"]) == (body["id"], body["usage"])  # deterministic

    cut = httpx.post(
        echo.url + "/v1/chat/completions",
        json={"model": "m", "messages": messages, "max_tokens": 2},
    ).json()
    assert cut["choices"][0] == {
        "index": 0,
        "message": {"role": "assistant", "content": "the seco"},
        "finish_reason": "length",
        "logprobs": None,
    }

    models = httpx.get(echo.url + "/v1/models")
    assert [m["id"] for m in models.json()["data"]] == ["agentdeck-echo"]
    assert "not a model" in models.headers["x-agentdeck-echo"]

    for bad, param in (
        ({"model": "m", "messages": []}, "messages"),
        ({"model": "m", "messages": messages, "stream": True}, "stream"),
        ({"model": "m", "messages": messages, "max_tokens": 0}, "max_tokens"),
    ):
        refused = httpx.post(echo.url + "/v1/chat/completions", json=bad)
        assert refused.status_code == 400
        assert refused.json()["error"]["param"] == param


# --- the templates against the echo endpoint -----------------------------------------------------


@pytest.fixture(scope="module")
def agents(
    processes: Callable[..., Process], echo: Process, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Process]:
    """The three templates on the echo endpoint, started together. The extractor takes its
    port from PORT and its config from a file, as the supervisor may give them."""
    path = tmp_path_factory.mktemp("config") / "extractor.json"
    path.write_text(llm_config(echo.url, fields=["customer", "total"]))
    started = {
        "llm": processes(
            "run",
            *("--template", "llm", "--name", "writer", "--config", llm_config(echo.url)),
            ready=False,
        ),
        "classifier": processes(
            "run",
            "--template",
            "classifier",
            "--config",
            llm_config(echo.url, labels=["positive", "negative", "neutral"]),
            ready=False,
        ),
        "extractor": processes(
            "run",
            "--template",
            "extractor",
            env={"PORT": str(free_port()), "AGENTDECK_AGENT_CONFIG": str(path)},
            ready=False,
        ),
    }
    for process in started.values():
        process.wait_ready()
    return started


@pytest.fixture
def llm_agent(agents: dict[str, Process]) -> Process:
    return agents["llm"]


@pytest.fixture
def classifier(agents: dict[str, Process]) -> Process:
    return agents["classifier"]


@pytest.fixture
def extractor(agents: dict[str, Process]) -> Process:
    return agents["extractor"]


def test_health_names_the_agent_and_its_template(
    llm_agent: Process, classifier: Process, extractor: Process
) -> None:
    for agent, name, template in (
        (llm_agent, "writer", "llm"),
        (classifier, "classifier", "classifier"),
        (extractor, "extractor", "extractor"),
    ):
        health = httpx.get(agent.url + "/healthz").json()
        assert health == {
            "status": "ok",
            "agent": name,
            "template": template,
            "llm_configured": True,
            "telemetry": False,
        }


def test_llm_answers_a_prompt_or_a_conversation(llm_agent: Process) -> None:
    answer = invoke(llm_agent, {"prompt": "Say hello to the fleet."})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["completion"] == "Say hello to the fleet."
    assert body["model"] == "agentdeck-echo"
    assert body["finish_reason"] == "stop"
    assert body["usage"] == {
        "prompt_tokens": 4 + 6,
        "completion_tokens": 6,
        "total_tokens": 16,
        "estimated": False,
    }

    talk = invoke(
        llm_agent,
        {
            "system": "You are terse.",
            "messages": [
                {"role": "user", "content": "one"},
                {"role": "assistant", "content": "two"},
                {"role": "user", "content": "three"},
            ],
            "max_tokens": 1,
        },
    ).json()
    assert talk["completion"] == "thre"
    assert talk["finish_reason"] == "length"

    both = invoke(llm_agent, {"prompt": "a", "messages": [{"role": "user", "content": "b"}]})
    problem = assert_problem(both, 422, "validation-error")
    assert "exactly one of prompt and messages" in str(problem["detail"])
    typo = assert_problem(invoke(llm_agent, {"promt": "x"}), 422, "validation-error")
    assert {"loc": ["body", "promt"], "message": "Extra inputs are not permitted"}.items() <= (
        typo["errors"][0].items()  # type: ignore[index]
    )


def test_classifier_reads_the_label_from_json_or_from_prose(classifier: Process) -> None:
    prose = invoke(classifier, {"text": "This review is clearly NEGATIVE about the product."})
    assert prose.status_code == 200, prose.text
    assert prose.json()["label"] == "negative"
    assert prose.json()["confidence"] is None

    # The echo answers the text; a model answering in JSON reads the same way.
    as_json = invoke(
        classifier,
        {
            "text": 'Sure! ```json\n{"label": "Spam", "confidence": 0.75}\n```',
            "labels": ["ham", "spam"],
        },
    ).json()
    assert (as_json["label"], as_json["confidence"]) == ("spam", 0.75)

    none = assert_problem(invoke(classifier, {"text": "no opinion here"}), 502, "llm-bad-answer")
    assert "none (or several) of the labels" in str(none["detail"])
    several = invoke(classifier, {"text": "positive and negative"})
    assert_problem(several, 502, "llm-bad-answer")
    one = invoke(classifier, {"text": "a", "labels": ["only"]})
    assert_problem(one, 422, "validation-error")


def test_extractor_returns_the_fields_of_the_json_in_the_answer(extractor: Process) -> None:
    text = 'Order note: {"customer": "Ada", "total": 42, "internal": true} shipped today'
    got = invoke(extractor, {"text": text})
    assert got.status_code == 200, got.text
    assert got.json()["data"] == {"customer": "Ada", "total": 42}

    schema = {
        "type": "object",
        "properties": {"customer": {"type": "string"}, "total": {"type": "number"}},
        "required": ["customer", "total"],
    }
    by_schema = invoke(extractor, {"text": text, "schema": schema}).json()
    assert by_schema["data"] == {"customer": "Ada", "total": 42}

    wrong_type = invoke(extractor, {"text": '{"customer": 7, "total": 1}', "schema": schema})
    problem = assert_problem(wrong_type, 502, "llm-bad-answer")
    assert "'customer' is not of type string" in str(problem["detail"])
    missing = invoke(extractor, {"text": '{"customer": "Bo"}', "schema": schema})
    assert "'total' is missing" in str(assert_problem(missing, 502, "llm-bad-answer")["detail"])
    no_json = invoke(extractor, {"text": "nothing structured"})
    assert_problem(no_json, 502, "llm-bad-answer")
    not_object = invoke(extractor, {"text": "x", "schema": {"type": "array"}})
    assert_problem(not_object, 422, "schema-not-object")


# --- no endpoint, a dead endpoint, a failing endpoint --------------------------------------------


def test_without_an_endpoint_it_serves_and_invoke_answers_503(
    processes: Callable[..., Process],
) -> None:
    agent = processes("run", "--template", "llm", ready=False)
    no_model = processes(
        "run", "--template", "extractor", "--config", '{"llm": {"base_url": "http://x/v1"}}'
    )
    agent.wait_ready()
    health = httpx.get(agent.url + "/healthz").json()
    assert (health["llm_configured"], health["telemetry"]) == (False, False)
    problem = assert_problem(invoke(agent, {"prompt": "hi"}), 503, "llm-not-configured")
    assert str(problem["detail"]).startswith("no LLM endpoint configured: set config.llm.base_url")
    assert problem["title"] == "No LLM endpoint configured"
    assert agent.stop()
    assert "no LLM endpoint configured" in agent.output()

    problem = assert_problem(
        invoke(no_model, {"text": "t", "fields": ["a"]}), 503, "llm-not-configured"
    )
    assert "config.llm.model" in str(problem["detail"])


def test_a_dead_endpoint_is_502_and_a_dead_agentdeck_does_not_stop_serving(
    processes: Callable[..., Process],
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    agent = processes(
        "run",
        "--template",
        "classifier",
        "--config",
        llm_config(dead, labels=["a", "b"]),
        env={"AGENTDECK_URL": f"http://127.0.0.1:{free_port()}", "AGENTDECK_API_KEY": "adk_x"},
    )
    assert httpx.get(agent.url + "/healthz").json()["telemetry"] is True
    problem = assert_problem(invoke(agent, {"text": "t"}), 502, "llm-unavailable")
    assert f"the LLM endpoint {dead}/v1 is unreachable" in str(problem["detail"])
    assert agent.stop()  # gives up flushing to the absent agentdeck within its grace


class Upstream:
    """An endpoint that fails as the last user message asks: 429, 500, slow, garbage."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        release = self.release

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                ask = body["messages"][-1]["content"]
                headers = {"Content-Type": "application/json"}
                if ask == "slow":
                    release.wait(10)
                    status, payload = 200, b"{}"
                elif ask == "429":
                    status, headers["Retry-After"] = 429, "7"
                    payload = json.dumps({"error": {"message": "slow down"}}).encode()
                elif ask == "500":
                    status, payload = 500, b"upstream exploded"
                else:
                    status, payload = 200, b'{"choices": []}'
                with contextlib.suppress(OSError):  # the agent gave up on "slow"
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)

        return Handler


@pytest.fixture
def upstream() -> Iterator[str]:
    fake = Upstream()
    try:
        with serving(fake.handler()) as port:
            yield f"http://127.0.0.1:{port}"
    finally:
        fake.release.set()


def test_endpoint_errors_are_502_and_a_slow_endpoint_504(
    processes: Callable[..., Process], upstream: str
) -> None:
    config = json.dumps({"llm": {"base_url": upstream + "/v1", "model": "m", "timeout": 0.3}})
    agent = processes("run", "--template", "llm", "--config", config)

    limited = invoke(agent, {"prompt": "429"})
    problem = assert_problem(limited, 502, "llm-rate-limited")
    assert limited.headers["retry-after"] == "7"
    assert "slow down" in str(problem["detail"])

    failed = assert_problem(invoke(agent, {"prompt": "500"}), 502, "llm-error")
    assert failed["upstream_status"] == 500
    assert "answered 500: upstream exploded" in str(failed["detail"])

    nonsense = assert_problem(invoke(agent, {"prompt": "?"}), 502, "llm-bad-response")
    assert "did not answer a chat completion" in str(nonsense["detail"])

    slow = assert_problem(invoke(agent, {"prompt": "slow"}), 504, "llm-timeout")
    assert "did not answer within 0.3 s (config.llm.timeout)" in str(slow["detail"])


# --- bad configuration ---------------------------------------------------------------------------


def test_a_bad_config_stops_the_agent_at_once_with_a_clear_message() -> None:
    done = subprocess.run(
        [*command("llm"), "--config", '{"llm": {"modle": "x"}}', "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "error: invalid agent config: config.llm.modle: Extra inputs" in done.stderr


def test_the_command_the_fleet_runs() -> None:
    argv = command("classifier", config={"labels": ["a", "b"]})
    assert argv == [
        sys.executable,
        "-m",
        "agentdeck.cli.main",
        "agent",
        "run",
        "--template",
        "classifier",
        "--config",
        '{"labels":["a","b"]}',
    ]
    with pytest.raises(ValueError, match="unknown template 'custom'"):
        command("custom")
