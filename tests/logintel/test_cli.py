"""``agentdeck logs templates``: one JSON object per input line, in order, with final templates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from agentdeck.cli.main import app

LINES = [
    "Invalid user admin from 10.0.0.1",
    "Receiving block blk_1 src: /10.0.0.1:1 dest: /10.0.0.2:2",
    "Invalid user oracle from 10.0.0.2",
    "",
    "Invalid user guest from 10.0.0.3",
    "Receiving block blk_-2 src: /10.0.0.3:3 dest: /10.0.0.4:4",
    "Invalid user webmaster from 10.0.0.4",
    "Invalid user test from 10.0.0.5",
    "ünïcode line 7 ✓",
]


def records(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines()]


def test_one_object_per_line_in_order_with_the_final_template() -> None:
    result = CliRunner().invoke(app, ["logs", "templates"], input="\n".join(LINES) + "\n")
    assert result.exit_code == 0, result.output
    out = records(result.stdout)
    assert len(out) == len(LINES)
    assert all(set(r) == {"cluster", "template"} for r in out)
    users = [out[i] for i in (0, 2, 4, 6, 7)]
    # the first lines were read before "user" looked variable: they show the final template
    assert {r["template"] for r in users} == {"Invalid user <*> from <*>"}
    assert len({r["cluster"] for r in users}) == 1
    assert out[1] == out[5] and out[1]["template"] == "Receiving block <*> src: <*> dest: <*>"
    assert out[3]["template"] == ""
    assert out[8]["template"] == "ünïcode line <*> ✓"
    assert len({r["cluster"] for r in out}) == 4


def test_a_file_argument_and_crlf_lines(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(b"job 1 done\r\njob 2 done\r\nbad \xff byte 3\r\njob 3 done")
    result = CliRunner().invoke(app, ["logs", "templates", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    out = records(result.stdout)
    assert [r["template"] for r in out] == ["job <*> done"] * 2 + ["bad \ufffd byte <*>"] + [
        "job <*> done"
    ]


def test_the_table_lists_templates_by_count() -> None:
    result = CliRunner().invoke(
        app, ["logs", "templates", "-", "--format", "table"], input="\n".join(LINES)
    )
    assert result.exit_code == 0, result.output
    rows = result.stdout.splitlines()
    assert rows[0].split() == ["count", "id", "template"]
    assert rows[1].split(maxsplit=2)[0] == "5" and rows[1].endswith("Invalid user <*> from <*>")
    assert rows[2].split(maxsplit=2)[0] == "2"
    assert len(rows) == 1 + 4


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["logs", "templates", str(tmp_path / "nope.log")])
    assert result.exit_code == 2
    assert "cannot read" in result.output


def test_a_fresh_process_per_file(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text("\n".join(f"request {i} took {i * 3} ms" for i in range(50)) + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "agentdeck.cli.main", "logs", "templates", str(path)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    out = records(done.stdout.decode())
    assert len(out) == 50
    assert {(r["cluster"], r["template"]) for r in out} == {(1, "request <*> took <*> ms")}
