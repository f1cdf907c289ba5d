"""``agentdeck backup DIR`` and ``agentdeck restore DIR`` for the embedded mode."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console()


def _server_url(url: str | None) -> str:
    from agentdeck.settings import Settings

    if url:
        return url.rstrip("/")
    server = Settings().server
    host = "127.0.0.1" if server.host in ("0.0.0.0", "::", "") else server.host  # noqa: S104
    return f"http://{host}:{server.port}"


def _print(manifest_files: list[tuple[str, int]], notes: list[str], where: str) -> None:
    for name, size in manifest_files:
        console.print(f"  {name:<20} {size:>14,} bytes")
    for note in notes:
        console.print(f"  [yellow]note:[/yellow] {note}")
    console.print(f"[green]{where}[/green]")


def _store_in_use(path: Path) -> bool:
    """Whether another process holds the DuckDB file (a server that did not answer)."""
    import duckdb

    if not path.is_file():
        return False
    try:
        duckdb.connect(str(path), read_only=True).close()
    except duckdb.IOException:
        return True
    return False


def backup_cmd(
    directory: Annotated[Path, typer.Argument(help="A new (or empty) directory.")],
    url: Annotated[
        str | None, typer.Option(help="The running server (default: from settings).")
    ] = None,
) -> None:
    """Back up the embedded mode: online through the running server, else from the files."""
    import httpx

    from agentdeck.app.backup import backup_offline, operator_token
    from agentdeck.cli.runtime import _fail, _problem_message
    from agentdeck.errors import DomainError
    from agentdeck.secret_key import SecretKeyError, secret_key
    from agentdeck.settings import Settings

    settings = Settings()
    target = directory.resolve()
    base = _server_url(url)
    try:
        token = operator_token(secret_key(settings))
    except SecretKeyError as exc:
        _fail(str(exc))
    try:
        answer = httpx.post(
            f"{base}/api/v1/ops/backup",
            json={"directory": str(target)},
            headers={"X-Agentdeck-Operator": token},
            timeout=3600,
        )
    except httpx.ConnectError:
        answer = None
    if answer is not None:
        if answer.status_code != 200:
            body = answer.json() if answer.content else {}
            _fail(f"the server at {base} refused: {body.get('detail') or answer.status_code}")
        out = answer.json()
        files = [(f["path"], f["bytes"]) for f in out["files"]]
        _print(files, out["notes"], f"online backup written by {base} to {target}")
        return
    for store in (
        settings.data_dir / settings.tsdb.duckdb_file,
        settings.data_dir / settings.logs.duckdb_file,
    ):
        if _store_in_use(store):
            _fail(
                f"{store} is in use by a server that did not answer at {base}: "
                "pass --url, or stop it for an offline backup"
            )
    try:
        manifest = backup_offline(settings, target)
    except DomainError as exc:
        _fail(_problem_message(exc))
    files = [(f.path, f.bytes) for f in manifest.files]
    _print(files, manifest.notes, f"offline backup written to {target}")


def restore_cmd(
    directory: Annotated[Path, typer.Argument(help="A directory made by `agentdeck backup`.")],
) -> None:
    """Restore the embedded mode from a backup (stop the server first)."""
    import httpx

    from agentdeck.app.backup import restore
    from agentdeck.cli.runtime import _fail, _problem_message
    from agentdeck.errors import DomainError
    from agentdeck.settings import Settings

    settings = Settings()
    base = _server_url(None)
    try:
        httpx.get(f"{base}/healthz", timeout=2)
        _fail(f"a server answers at {base}: stop it before restoring")
    except httpx.TransportError:
        pass
    for store in (
        settings.data_dir / settings.tsdb.duckdb_file,
        settings.data_dir / settings.logs.duckdb_file,
    ):
        if _store_in_use(store):
            _fail(f"{store} is in use by a running server: stop it before restoring")
    try:
        manifest, aside = restore(settings, directory.resolve())
    except DomainError as exc:
        _fail(
            _problem_message(exc)
            + "".join(f"\n  {'.'.join(map(str, e.loc))}: {e.message}" for e in exc.errors or [])
        )
    files = [(f.path, f.bytes) for f in manifest.files]
    _print(
        files,
        [f"the files it replaced were moved to {aside}"],
        f"restored the backup of {manifest.created_at} (schema {manifest.schema_revision})",
    )
