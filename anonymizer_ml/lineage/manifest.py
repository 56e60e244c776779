"""Run manifest: hashes and row counts of every input and output, the policy, the plan.

When the keyset has a ``sign`` key the manifest file is a DSSE envelope around an in-toto
Statement (subjects = the outputs, predicate = this model); without one it is the bare model
(unsigned, refused by ``anonymizer verify``).
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from anonymizer_ml.crypto.keyset import Key
from anonymizer_ml.errors import ManifestError
from anonymizer_ml.lineage.signing import (
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    envelope_payload,
    sign_envelope,
)

MANIFEST_NAME = "anonymizer-manifest.json"
LEDGER_NAME = "anonymizer-dp-ledger.json"  # DP receipts beside the data (anonymizer_ml.dp.ledger)
ERASURES_NAME = "anonymizer-erasures.json"  # signed erasure log (anonymizer_ml.lineage.erasures)
_CHUNK = 1 << 20
BLOCK_SIZE = 4 << 20  # outputs are verified by readers in blocks of this size


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FileRecord(_Record):
    """One file: its path (relative to its root), SHA-256, size and row count.

    Outputs also carry the SHA-256 of each ``block_size`` block, so a reader can verify the
    bytes it reads block by block (memory flat in the file's size) instead of whole files.
    """

    path: str
    sha256: str
    bytes: int
    rows: int
    block_size: int | None = None
    blocks: tuple[str, ...] | None = None


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
    residual: list[dict[str, Any]] = Field(default_factory=list)
    detections: list[dict[str, Any]] = Field(default_factory=list)
    privacy: dict[str, Any] | None = None
    dp: dict[str, Any] | None = None
    canaries: list[dict[str, Any]] | None = None
    report: dict[str, Any] | None = None


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def block_digests(path: Path, block_size: int = BLOCK_SIZE) -> tuple[str, tuple[str, ...]]:
    """The file's SHA-256 and the SHA-256 of each ``block_size`` block, in one read.

    The two hashes of a block run at once (hashlib releases the GIL): half the wall time.
    """
    whole, blocks = hashlib.sha256(), []
    with path.open("rb") as handle, ThreadPoolExecutor(max_workers=1) as pool:
        while block := handle.read(block_size):
            done = pool.submit(whole.update, block)
            blocks.append(hashlib.sha256(block).hexdigest())
            done.result()
    return whole.hexdigest(), tuple(blocks)


def statement_of(manifest: RunManifest) -> dict[str, Any]:
    """The in-toto Statement v1 for a run: its outputs as subjects, the manifest as predicate."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": o.path, "digest": {"sha256": o.sha256}} for o in manifest.outputs],
        "predicateType": PREDICATE_TYPE,
        "predicate": manifest.model_dump(mode="json"),
    }


def manifest_bytes(manifest: RunManifest, signer: Key | None = None) -> bytes:
    """The manifest file's content: a signed DSSE envelope when ``signer`` is given."""
    document = (
        sign_envelope(statement_of(manifest), signer)
        if signer is not None
        else manifest.model_dump(mode="json")
    )
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")


def manifest_from_document(document: Any) -> RunManifest:
    """The run manifest inside a manifest file's JSON (signed or not; nothing is verified)."""
    if isinstance(document, dict) and "payloadType" in document:
        statement = json.loads(envelope_payload(document))
        if statement.get("_type") != STATEMENT_TYPE or statement.get("predicateType") != (
            PREDICATE_TYPE
        ):
            raise ValueError("not an anonymizer statement")
        document = statement["predicate"]
    return RunManifest.model_validate(document)


def read_manifest(path: Path) -> RunManifest:
    """Read and validate a manifest (without checking its signature); ManifestError on failure."""
    try:
        return manifest_from_document(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ManifestError(
            f"{path}: manifest not found; run anonymizer on the data first"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError, KeyError, ManifestError, ValidationError):
        raise ManifestError(
            f"{path}: not a valid anonymizer manifest; re-run anonymizer to regenerate it"
        ) from None
