"""``agentdeck logs``: offline work on log files, no server needed."""

from __future__ import annotations

import enum
import io
import sys
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, TextIO

import typer

logs_app = typer.Typer(help="Work on log files offline.", no_args_is_help=True)


class TemplatesFormat(enum.StrEnum):
    json = "json"
    table = "table"


@contextmanager
def _open(path: str) -> Iterator[TextIO]:
    """``path`` (or standard input for ``-``) as UTF-8 text split on ``\\n`` only."""
    if path == "-":
        stream = io.TextIOWrapper(
            sys.stdin.buffer, encoding="utf-8", errors="replace", newline="\n"
        )
        try:
            yield stream
        finally:
            stream.detach()
        return
    try:
        file = open(path, encoding="utf-8", errors="replace", newline="\n")  # noqa: SIM115
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc.strerror}", param_hint="FILE") from exc
    with file:
        yield file


TEMPLATES_HELP = (
    "Mine the templates of log messages: each input line is one raw message (no header parsing)."
    "\n\n"
    "--format json prints, in input order, exactly one JSON object per input line: "
    '{"cluster": <id>, "template": "<template with <*> for each variable>"}. The template is '
    "the FINAL template of the line's cluster after the whole input was read (the miner is "
    "online: a template may still generalise after a line was placed), and the id is that "
    "final cluster's."
    "\n\n"
    "--format table prints each template with its line count, the most frequent first."
    "\n\n"
    "Every run starts afresh: nothing is read from or kept for another run."
)


@logs_app.command("templates", help=TEMPLATES_HELP)
def templates(
    file: Annotated[
        str,
        typer.Argument(help="Log messages, one per line; '-' (the default) reads standard input."),
    ] = "-",
    output_format: Annotated[
        TemplatesFormat,
        typer.Option("--format", help="json: one object per input line; table: templates."),
    ] = TemplatesFormat.json,
) -> None:
    """Mine log templates (help: ``TEMPLATES_HELP``)."""
    import orjson

    from agentdeck.logintel.mining import TemplateMiner

    # nothing is evicted or forgotten in a run: the final template of every line is known
    miner = TemplateMiner(max_templates=sys.maxsize, max_aliases=sys.maxsize)
    ids = array("q")
    with _open(file) as lines:
        for line in lines:
            ids.append(miner.add(line.rstrip("\r\n") if line.endswith("\n") else line))
    if output_format is TemplatesFormat.table:
        infos = miner.templates()
        width = max([len("count"), *(len(str(t.count)) for t in infos)])
        id_width = max([len("id"), *(len(str(t.id)) for t in infos)])
        out = [f"{'count':>{width}}  {'id':>{id_width}}  template"]
        out += [f"{t.count:>{width}}  {t.id:>{id_width}}  {t.template}" for t in infos]
        typer.echo("\n".join(out))
        return
    rendered: dict[int, bytes] = {}
    write = sys.stdout.buffer.write
    for cid in ids:
        final = miner.resolve(cid)
        record = rendered.get(final)
        if record is None:
            record = rendered[final] = (
                orjson.dumps({"cluster": final, "template": miner.template(final)}) + b"\n"
            )
        write(record)
    sys.stdout.buffer.flush()
