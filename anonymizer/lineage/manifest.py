"""Run manifest v0: hashes and row counts of every input and output, the policy, the plan.

The model is split into small records so the lineage issue can wrap it (in-toto subject list =
``outputs``; predicate = the rest) and add fields without breaking readers of v0.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from anonymizer.errors import ManifestError

MANIFEST_NAME = "anonymizer-manifest.json"
_CHUNK = 1 << 20


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FileRecord(_Record):
    """One file: its path (relative to its root), SHA-256, size and row count."""

    path: str
    sha256: str
    bytes: int
    rows: int


class PolicyRecord(_Record):
    """The policy a run applied."""

    name: str
    version: str
    owner: str | None
    digest: str
    source: str


class ToolRecord(_Record):
    """The software that ran, with the versions that determine its output."""

    name: str
    version: str
    engine: dict[str, str]


class RunManifest(_Record):
    """Everything a reader needs to check what a run did (version 0, unsigned)."""

    manifest_version: Literal["0"] = "0"
    run_id: str
    started_at: str
    finished_at: str
    tool: ToolRecord
    policy: PolicyRecord
    plan: list[dict[str, Any]]
    input_root: str
    inputs: list[FileRecord]
    outputs: list[FileRecord]
    encryption: list[dict[str, Any]] = Field(default_factory=list)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(manifest: RunManifest, directory: Path) -> Path:
    """Write the manifest into ``directory`` atomically; return its path."""
    target = directory / MANIFEST_NAME
    tmp = directory / f".{MANIFEST_NAME}.tmp-{secrets.token_hex(4)}"
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            json.dump(manifest.model_dump(mode="json"), handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def read_manifest(path: Path) -> RunManifest:
    """Read and validate a manifest; ManifestError names the file and the fix."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return RunManifest.model_validate(data)
    except FileNotFoundError:
        raise ManifestError(
            f"{path}: manifest not found; run anonymizer on the data first"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValidationError):
        raise ManifestError(
            f"{path}: not a valid anonymizer manifest; re-run anonymizer to regenerate it"
        ) from None
