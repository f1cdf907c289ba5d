"""Backup and restore of the embedded mode: the SQLite state database, the DuckDB metrics and
log stores, and the generated secret key, with a checksum manifest.

Online (a server is running): the server writes the backup itself (``POST /api/v1/ops/backup``,
which only an operator holding the secret key may call, from the same host), so every file is a
consistent snapshot while it keeps serving: SQLite through its online backup API, each DuckDB
store by a checkpoint and a copy on its own writer thread (writes to that store wait for the
copy, reads go on). Offline (no server answers): the command copies the files itself.

Restore needs the server stopped. It checks every checksum, refuses a backup whose schema is
newer than this version knows, moves the current files aside (``pre-restore-<time>/`` in the
data directory) and puts the backup's in place. The scale-out components (PostgreSQL,
VictoriaMetrics, ClickHouse) are backed up with their own tools (docs/deploy.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import shutil
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from agentdeck import __version__
from agentdeck.db.migrate import head_revision, known_revisions
from agentdeck.errors import Conflict, FieldIssue, Invalid, Unauthenticated
from agentdeck.secret_key import key_file
from agentdeck.settings import Settings

MANIFEST = "manifest.json"
STATE_FILE = "state.db"
METRICS_FILE = "metrics.duckdb"
LOGS_FILE = "logs.duckdb"
KEY_FILE = "secret.key"
#: How long an operator token is accepted (seconds either side of the server's clock).
TOKEN_WINDOW_S = 60
_CHUNK = 1 << 20

#: Writes a consistent copy of a store to a path (on the store's writer thread).
Snapshot = Callable[[Path], Awaitable[None]]


@dataclass
class BackupFile:
    path: str
    sha256: str
    bytes: int


@dataclass
class Manifest:
    agentdeck_version: str
    schema_revision: str | None
    created_at: str
    mode: str  # online | offline
    files: list[BackupFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        path = directory / MANIFEST
        if not path.is_file():
            raise Invalid(
                f"{directory} is not an agentdeck backup: it has no {MANIFEST}",
                kind="not-a-backup",
                errors=[
                    FieldIssue(loc=["directory"], message=f"no {MANIFEST}", type="not-a-backup")
                ],
            )
        raw = json.loads(path.read_text())
        files = [BackupFile(**f) for f in raw.pop("files", [])]
        return cls(files=files, **raw)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def state_db_path(settings: Settings) -> Path:
    """The SQLite state file (backup covers the embedded mode only)."""
    url = make_url(settings.database.url)
    if url.get_backend_name() != "sqlite" or not url.database:
        raise Invalid(
            "backup covers the embedded mode (SQLite); back up PostgreSQL with pg_dump",
            kind="not-embedded",
            errors=[
                FieldIssue(loc=["database", "url"], message="not a SQLite file", type="not-sqlite")
            ],
        )
    return Path(url.database)


def copy_sqlite(source: Path, dest: Path) -> None:
    """A consistent copy of a live SQLite database (its online backup API)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        out = sqlite3.connect(dest)
        try:
            src.backup(out)
            out.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside
        finally:
            out.close()
    finally:
        src.close()


def prepare_directory(directory: Path) -> None:
    if directory.exists() and any(directory.iterdir()):
        raise Conflict(
            f"{directory} is not empty: back up into a new directory",
            kind="backup-exists",
        )
    directory.mkdir(parents=True, exist_ok=True)


def finish(directory: Path, *, mode: str, revision: str | None, notes: list[str]) -> Manifest:
    """Checksum what was written and write the manifest last (its presence means complete)."""
    files = [
        BackupFile(path=p.name, sha256=sha256_of(p), bytes=p.stat().st_size)
        for p in sorted(directory.iterdir())
        if p.is_file() and p.name != MANIFEST
    ]
    manifest = Manifest(
        agentdeck_version=__version__,
        schema_revision=revision,
        created_at=datetime.now(UTC).isoformat(),
        mode=mode,
        files=files,
        notes=notes,
    )
    (directory / MANIFEST).write_text(manifest.to_json())
    return manifest


def _state_revision(path: Path) -> str | None:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    finally:
        connection.close()
    return str(row[0]) if row else None


def _key_notes(settings: Settings, directory: Path) -> list[str]:
    generated = key_file(settings)
    in_effect = settings.secret_key.get_secret_value() if settings.secret_key else None
    if generated.is_file() and in_effect in (None, generated.read_text().strip()):
        shutil.copy2(generated, directory / KEY_FILE)
        (directory / KEY_FILE).chmod(0o600)
        return []
    return [
        "the secret key is configured outside the data directory (AGENTDECK_SECRET_KEY): keep "
        "it with this backup, channel secrets cannot be read without it"
    ]


async def backup_online(
    settings: Settings,
    directory: Path,
    *,
    metrics: Snapshot | None,
    logs: Snapshot | None,
) -> Manifest:
    """Write a backup while serving (called by the server, which owns the stores)."""
    state = state_db_path(settings)
    await asyncio.to_thread(prepare_directory, directory)
    await asyncio.to_thread(copy_sqlite, state, directory / STATE_FILE)
    notes = []
    if metrics is not None:
        await metrics(directory / METRICS_FILE)
    else:
        notes.append("the metrics store is not embedded: back it up with its own tools")
    if logs is not None:
        await logs(directory / LOGS_FILE)
    else:
        notes.append("the log store is not embedded: back it up with its own tools")
    notes += _key_notes(settings, directory)
    revision = await asyncio.to_thread(_state_revision, directory / STATE_FILE)
    return await asyncio.to_thread(finish, directory, mode="online", revision=revision, notes=notes)


def backup_offline(settings: Settings, directory: Path) -> Manifest:
    """Copy the files of a stopped server."""
    state = state_db_path(settings)
    prepare_directory(directory)
    copy_sqlite(state, directory / STATE_FILE)
    notes = []
    for source, name in (
        (settings.data_dir / settings.tsdb.duckdb_file, METRICS_FILE),
        (settings.data_dir / settings.logs.duckdb_file, LOGS_FILE),
    ):
        if source.is_file():
            if Path(f"{source}.wal").exists():
                notes.append(f"{name}: its write-ahead log was copied beside it")
                shutil.copy2(f"{source}.wal", directory / f"{name}.wal")
            shutil.copy2(source, directory / name)
    notes += _key_notes(settings, directory)
    return finish(
        directory, mode="offline", revision=_state_revision(directory / STATE_FILE), notes=notes
    )


def verify(directory: Path) -> Manifest:
    """The manifest, after checking every file's size and checksum (Invalid otherwise)."""
    manifest = Manifest.read(directory)
    issues = []
    for entry in manifest.files:
        path = directory / entry.path
        if not path.is_file():
            issues.append(FieldIssue(loc=["files", entry.path], message="missing", type="missing"))
        elif path.stat().st_size != entry.bytes or sha256_of(path) != entry.sha256:
            issues.append(
                FieldIssue(loc=["files", entry.path], message="checksum mismatch", type="checksum")
            )
    if issues:
        raise Invalid("the backup is damaged", kind="backup-damaged", errors=issues)
    if manifest.schema_revision is not None and manifest.schema_revision not in known_revisions():
        raise Invalid(
            f"the backup's schema ({manifest.schema_revision}, agentdeck "
            f"{manifest.agentdeck_version}) is newer than this agentdeck knows "
            f"(head {head_revision()}): upgrade agentdeck first",
            kind="backup-too-new",
            errors=[
                FieldIssue(loc=["schema_revision"], message="unknown revision", type="too-new")
            ],
        )
    return manifest


def restore(settings: Settings, directory: Path) -> tuple[Manifest, Path]:
    """Put a verified backup in place of the current files (the server must be stopped).
    Returns the manifest and where the replaced files were moved."""
    manifest = verify(directory)
    state = state_db_path(settings)
    targets = {
        STATE_FILE: state,
        METRICS_FILE: settings.data_dir / settings.tsdb.duckdb_file,
        LOGS_FILE: settings.data_dir / settings.logs.duckdb_file,
        f"{METRICS_FILE}.wal": Path(f"{settings.data_dir / settings.tsdb.duckdb_file}.wal"),
        f"{LOGS_FILE}.wal": Path(f"{settings.data_dir / settings.logs.duckdb_file}.wal"),
        KEY_FILE: key_file(settings),
    }
    aside = settings.data_dir / f"pre-restore-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    aside.mkdir(parents=True, exist_ok=False)
    for target in (*targets.values(), Path(f"{state}-wal"), Path(f"{state}-shm")):
        if target.exists():
            shutil.move(str(target), aside / target.name)
    for entry in manifest.files:
        target = targets[entry.path]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(directory / entry.path, target)
    return manifest, aside


def operator_token(secret: str, now: float | None = None) -> str:
    """A short-lived proof that the caller holds the server's secret key."""
    stamp = str(int(now if now is not None else time.time()))
    mac = hmac.new(secret.encode(), f"agentdeck-operator:{stamp}".encode(), hashlib.sha256)
    return f"{stamp}.{mac.hexdigest()}"


def check_operator_token(secret: str, token: str | None, now: float | None = None) -> None:
    """Raise ``Unauthenticated`` unless ``token`` is a fresh operator token for ``secret``."""
    stamp, _, mac = (token or "").partition(".")
    current = now if now is not None else time.time()
    if not stamp.isdigit() or abs(current - int(stamp)) > TOKEN_WINDOW_S:
        raise Unauthenticated("an operator token (agentdeck backup) is required")
    expected = operator_token(secret, int(stamp)).partition(".")[2]
    if not hmac.compare_digest(expected, mac):
        raise Unauthenticated("the operator token does not match this server's secret key")
