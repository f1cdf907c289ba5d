"""``POST /api/v1/ops/backup``: the running server writes an online backup of the embedded mode
(``agentdeck backup DIR`` calls it). Only an operator may: the request carries a fresh token
made with the server's secret key, and comes from this host."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Protocol, runtime_checkable

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, Field

from agentdeck.app.backup import Manifest, backup_online, check_operator_token
from agentdeck.errors import FieldIssue, Forbidden, Invalid
from agentdeck.secret_key import secret_key
from agentdeck.server.deps import StateDep

router = APIRouter(prefix="/api/v1/ops", tags=["operations"])
TOKEN_HEADER = "X-Agentdeck-Operator"


@runtime_checkable
class Snapshotting(Protocol):
    async def snapshot(self, dest: Path) -> None: ...


class BackupRequest(BaseModel):
    directory: str = Field(
        min_length=1,
        max_length=4096,
        description="An absolute path on the server's host; it must not exist or be empty.",
    )


class BackupFilePublic(BaseModel):
    path: str
    sha256: str
    bytes: int


class BackupResult(BaseModel):
    directory: str
    agentdeck_version: str
    schema_revision: str | None
    created_at: str
    mode: str
    files: list[BackupFilePublic]
    notes: list[str]


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@router.post("/backup", response_model=BackupResult, operation_id="backup_embedded")
async def backup(
    body: BackupRequest,
    request: Request,
    state: StateDep,
    operator: Annotated[
        str | None, Header(alias=TOKEN_HEADER, description="An operator token (agentdeck backup).")
    ] = None,
) -> BackupResult:
    """Write a consistent backup of the state database, the embedded stores and the generated
    secret key while serving. For operators on this host (`agentdeck backup DIR`)."""
    check_operator_token(secret_key(state.settings), operator)
    if not _loopback(request):
        raise Forbidden("backups are taken from the server's own host", kind="not-local")
    directory = Path(body.directory)
    if not directory.is_absolute():
        raise Invalid(
            "the backup directory must be an absolute path",
            errors=[FieldIssue(loc=["body", "directory"], message="not absolute", type="path")],
        )
    metrics = state.store if isinstance(state.store, Snapshotting) else None
    logs = state.log_store if isinstance(state.log_store, Snapshotting) else None
    manifest: Manifest = await backup_online(
        state.settings,
        directory,
        metrics=metrics.snapshot if metrics else None,
        logs=logs.snapshot if logs else None,
    )
    out: dict[str, Any] = {
        "directory": str(directory),
        "agentdeck_version": manifest.agentdeck_version,
        "schema_revision": manifest.schema_revision,
        "created_at": manifest.created_at,
        "mode": manifest.mode,
        "files": [vars(f) for f in manifest.files],
        "notes": manifest.notes,
    }
    return BackupResult.model_validate(out)
