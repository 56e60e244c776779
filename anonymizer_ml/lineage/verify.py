"""Verify a dataset before training touches it: signature, every file's hash, the trust policy.

Fails closed: a missing or unsigned manifest, a signature by a key the trust file does not list,
a changed, missing, extra or renamed file, or a requirement the run does not meet, all refuse.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from anonymizer_ml.errors import AnonymizerError, ManifestError
from anonymizer_ml.lineage.manifest import (
    ERASURES_NAME,
    LEDGER_NAME,
    MANIFEST_NAME,
    RunManifest,
    manifest_from_document,
    sha256_file,
)
from anonymizer_ml.lineage.signing import verified_key_id
from anonymizer_ml.pending import TMP_MARKER


class VerificationError(ManifestError):
    """The dataset is refused; the message says why."""


class TrustedKey(BaseModel):
    """A public key whose signatures are accepted."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    keyid: str
    public_key: str


class Requirements(BaseModel):
    """What a trusted run must also have done."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    policy_names: list[str] | None = None
    policy_digests: list[str] | None = None
    columns: dict[str, list[str]] = Field(default_factory=dict)
    max_age_days: float | None = Field(default=None, gt=0)
    min_k: int | None = Field(default=None, ge=1)


class TrustPolicy(BaseModel):
    """Accepted signing keys and requirements (a YAML or JSON file)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    keys: list[TrustedKey] = Field(min_length=1)
    require: Requirements = Requirements()


def load_trust(path: Path) -> TrustPolicy:
    """Read a trust file; any problem is an AnonymizerError naming the file (a usage error)."""
    try:
        return TrustPolicy.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise AnonymizerError(
            f"{path}: trust file not found; make one with 'anonymizer keys export-public'"
        ) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "file"
        what = (
            "unknown field"
            if first["type"] == "extra_forbidden"
            else first["msg"].removeprefix("Value error, ")
        )
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise AnonymizerError(
            f"{path}: not a valid trust file: {where}: {what}{more}; see docs/manifest.md"
        ) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        kind = exc.__class__.__name__
        raise AnonymizerError(
            f"{path}: not a valid trust file ({kind}); see docs/manifest.md"
        ) from None


@dataclass(frozen=True)
class VerifiedDataset:
    """A dataset that passed: its manifest, the signing key id, and each file's digest."""

    root: Path
    manifest: RunManifest
    key_id: str
    digests: dict[str, str]

    def files(self) -> list[Path]:
        """The data files, in manifest order."""
        return [self.root / name for name in self.digests]


# Files beside the data that the manifest does not list: itself, the DP ledger and the erasure
# log (whose entries are signed on their own and checked by anonymizer_ml.dp / verify).
NOT_DATA = {MANIFEST_NAME, LEDGER_NAME, ERASURES_NAME}


def _listed_files(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not (p.parent == root and p.name in NOT_DATA)
    }


def _check_requirements(manifest: RunManifest, require: Requirements) -> None:
    policy = manifest.policy
    if require.policy_names is not None and policy.name not in require.policy_names:
        raise VerificationError(f"policy {policy.name!r} is not one the trust file accepts")
    if require.policy_digests is not None and policy.digest not in require.policy_digests:
        raise VerificationError(f"policy digest {policy.digest} is not one the trust file accepts")
    actions = {str(s["column"]): str(s["action"]) for s in manifest.plan}
    for column, allowed in require.columns.items():
        if column in actions and actions[column] not in allowed:
            raise VerificationError(
                f"column {column!r} was '{actions[column]}', the trust file requires one of "
                f"{', '.join(allowed)}"
            )
    if require.min_k is not None:
        achieved = int(manifest.privacy["k_achieved"]) if manifest.privacy is not None else 0
        if achieved < require.min_k:
            shown = f"k {achieved}" if manifest.privacy is not None else "no k-anonymity"
            raise VerificationError(
                f"the run achieved {shown}; the trust file requires k >= {require.min_k}"
            )
    if require.max_age_days is not None:
        finished = datetime.fromisoformat(manifest.finished_at.replace("Z", "+00:00"))
        age = (datetime.now(UTC) - finished).total_seconds() / 86400
        if age > require.max_age_days:
            raise VerificationError(
                f"manifest is {age:.1f} days old; the trust file accepts at most "
                f"{require.max_age_days:g}"
            )


def verify_manifest(root: Path, trust: TrustPolicy) -> VerifiedDataset:
    """Check signature, statement, file list and requirements — not file contents."""
    path = root / MANIFEST_NAME
    try:
        document: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise VerificationError(
            f"{path}: no manifest; only data written by anonymizer is accepted"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise VerificationError(f"{path}: manifest is not valid JSON") from None
    if not isinstance(document, dict) or "payloadType" not in document:
        raise VerificationError(
            f"{path}: manifest is not signed; re-run with a keyset holding a sign key"
        )
    trusted = {k.keyid: k.public_key for k in trust.keys}
    try:
        key_id = verified_key_id(document, trusted)
        manifest = manifest_from_document(document)
    except ManifestError as exc:
        raise VerificationError(f"{path}: {exc}") from None
    except (ValueError, KeyError, ValidationError):
        raise VerificationError(f"{path}: signed payload is not an anonymizer manifest") from None
    digests = {o.path: o.sha256 for o in manifest.outputs}
    present = _listed_files(root)
    if present != set(digests):
        extra, missing = sorted(present - set(digests)), sorted(set(digests) - present)
        detail = f"unlisted: {', '.join(extra)}" if extra else f"missing: {', '.join(missing)}"
        if extra and all(Path(name).name.startswith(TMP_MARKER) for name in extra):
            detail += "; a temporary file of an interrupted run: the next run removes it"
        raise VerificationError(f"{root}: files differ from the manifest ({detail})")
    _check_requirements(manifest, trust.require)
    return VerifiedDataset(root, manifest, key_id, digests)


def read_verified(dataset: VerifiedDataset, name: str) -> bytes:
    """One file's bytes, returned only if they hash to the signed digest (read once: no gap)."""
    data = (dataset.root / name).read_bytes()
    if hashlib.sha256(data).hexdigest() != dataset.digests[name]:
        raise VerificationError(
            f"{dataset.root / name}: content does not match the signed manifest"
        )
    return data


def iter_verified_files(dataset: VerifiedDataset) -> Iterator[tuple[str, bytes]]:
    """Each file's name and verified bytes, one file at a time."""
    for name in dataset.digests:
        yield name, read_verified(dataset, name)


def verify_dataset(root: Path, trust: TrustPolicy) -> VerifiedDataset:
    """Full verification: manifest, signature, requirements and every file's hash."""
    dataset = verify_manifest(root, trust)
    for name in dataset.digests:
        if sha256_file(root / name) != dataset.digests[name]:
            raise VerificationError(f"{root / name}: content does not match the signed manifest")
    return dataset
