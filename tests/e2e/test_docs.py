"""Every shell block of README.md and docs/quickstart.md runs against a real
`agentdeck serve --demo`, so the documented commands cannot go stale.

A fenced block whose language is ``sh``, ``bash`` or ``shell`` is a shell block. A block that
cannot run here (``make run`` itself, one that needs a password nobody knows) is marked by an
HTML comment right above its fence: ``<!-- not-run: why -->``. The unmarked blocks of one
document run in order in one bash (``set -euo pipefail``), so a variable set by one block is
seen by the next, as in the reader's terminal. Only the addresses change: the documented
``http://127.0.0.1:8000`` becomes the test server's URL, the webhook listener's port 9000 a
free one, and ``.venv/bin/`` this interpreter's directory; the commands run in a temporary
directory with the server's environment (so ``agentdeck apikey create`` finds its database).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import _free_port
from tests.e2e.demo_server import Server, start_demo_server

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SHELLS = {"sh", "bash", "shell"}
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+)(?P<info>[^`\n]*)$")
NOT_RUN = re.compile(r"^<!-- not-run: (?P<reason>\S.*\S) -->$")
DOC_URL = "http://127.0.0.1:8000"
DOC_HOOK_PORT = "9000"


@dataclass(frozen=True)
class Block:
    line: int  # of the opening fence, 1-based
    code: str
    skip_reason: str | None


def shell_blocks(markdown: str) -> list[Block]:
    """The shell blocks of a document, each with the reason it is not run (or None)."""
    lines = markdown.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        fence, language = match["fence"], match["info"].strip().split(" ")[0]
        end = i + 1
        while end < len(lines) and lines[end].strip() != fence:
            end += 1
        assert end < len(lines), f"the fence on line {i + 1} is never closed"
        if language in SHELLS:
            previous = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
            marked = NOT_RUN.match(previous.strip())
            code = "\n".join(lines[i + 1 : end])
            blocks.append(Block(i + 1, code, marked["reason"] if marked else None))
        i = end + 1
    return blocks


def test_blocks_are_found_and_marks_are_read() -> None:
    text = "\n".join(
        [
            "```sh",
            "echo one",
            "```",
            "<!-- not-run: keeps running -->",
            "",
            "```bash",
            "make run",
            "```",
            "```python",
            "print('not shell')",
            "```",
            "```",
            "plain output",
            "```",
        ]
    )
    assert shell_blocks(text) == [
        Block(1, "echo one", None),
        Block(6, "make run", "keeps running"),
    ]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start_demo_server(tmp_path_factory.mktemp("agentdeck-docs"))


def _script(blocks: list[Block], url: str, hook_port: int) -> str:
    venv_bin = f"{Path(sys.executable).parent}/"
    parts = ["set -euo pipefail"]
    for number, block in enumerate(blocks, 1):
        code = (
            block.code.replace(DOC_URL, url)
            .replace(f"127.0.0.1:{DOC_HOOK_PORT}", f"127.0.0.1:{hook_port}")
            .replace(f"--port {DOC_HOOK_PORT}", f"--port {hook_port}")
            .replace(".venv/bin/", venv_bin)
        )
        parts.append(f'echo "=== block {number} (line {block.line})" >&2')
        parts.append(code)
    parts.append('echo "=== done" >&2')
    return "\n".join(parts) + "\n"


# Which documents, and how many shell blocks each has that run (a changed count is a reminder
# to look at the new block: it runs unless marked).
DOCUMENTS = {"README.md": 4, "docs/quickstart.md": 12}


@pytest.mark.timeout(240, func_only=True)
@pytest.mark.parametrize("document", list(DOCUMENTS))
def test_every_unmarked_shell_block_runs(demo: Server, document: str, tmp_path: Path) -> None:
    blocks = shell_blocks((ROOT / document).read_text())
    run = [b for b in blocks if b.skip_reason is None]
    assert len(run) == DOCUMENTS[document], [b.line for b in run]
    result = subprocess.run(
        ["bash", "-c", _script(run, demo.base_url, _free_port())],
        env=demo.env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    ran = re.findall(r"^=== block (\d+) ", result.stderr, re.MULTILINE)
    report = f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
    assert result.returncode == 0, f"block {ran[-1] if ran else '?'} failed\n{report}"
    assert len(ran) == len(run) and "=== done" in result.stderr, report
