"""MLCommons Croissant metadata for a release: its files, its columns, and what was done to them.

Built with ``mlcroissant`` (the ``croissant`` extra, imported when a document is built): one
FileObject per output file with the SHA-256 the manifest signed, a FileSet over them, one
RecordSet whose fields are the output columns, and the Responsible-AI fields saying, per column,
what personal data was removed or transformed and how (from the plan), plus the privacy model
achieved.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from anonymizer_ml.errors import OutputError
from anonymizer_ml.lineage.manifest import MANIFEST_NAME, RunManifest, read_manifest

RECORDS = "records"
FILES = "parquet-files"
PARQUET = "application/x-parquet"

# What each action leaves of the original value, in words a dataset card reader understands.
EFFECTS = {
    "drop": "removed from the release",
    "redact": "replaced wholesale by a constant",
    "mask": "partly masked",
    "hash_token": "replaced by a keyed token (HMAC-SHA256): joinable, not reversible",
    "surrogate": "replaced by a consistent, realistic fake chosen by a keyed HMAC",
    "generalize": "generalised (coarsened)",
    "date_shift": "shifted by a keyed per-subject offset (intervals kept)",
    "encrypt": "encrypted (recoverable only with the key)",
    "detect": "personal data found in the text replaced",
    "privacy": "generalised as a quasi-identifier of the privacy model",
    "keep": "kept unchanged",
}


def _data_type(mlc: Any, dtype: pa.DataType) -> Any:
    if pa.types.is_boolean(dtype):
        return mlc.DataType.BOOL
    if pa.types.is_integer(dtype):
        return mlc.DataType.INTEGER
    if pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return mlc.DataType.FLOAT
    if pa.types.is_date(dtype):
        return mlc.DataType.DATE
    if pa.types.is_timestamp(dtype):
        return mlc.DataType.DATETIME
    return mlc.DataType.TEXT


def _column_effects(manifest: RunManifest) -> list[str]:
    """One sentence per input column: its action, what that did, and its key id."""
    lines = []
    for step in manifest.plan:
        action = str(step["action"])
        key = f" (key {step['key_id']})" if step.get("key_id") else ""
        lines.append(f"{step['column']}: {action} - {EFFECTS.get(action, action)}{key}")
    return lines


def _privacy_model(manifest: RunManifest) -> list[str]:
    record = manifest.privacy
    if record is None:
        return []
    return [
        f"k-anonymity over {', '.join(record['quasi_identifiers'])}: k={record['k']} asked, "
        f"{record['k_achieved']} achieved, {record['records_suppressed']} records suppressed "
        f"({record['suppression']}), algorithm {record['algorithm']}"
    ]


def default_path(out_dir: Path) -> Path:
    """Beside the release, never inside it (``verify`` refuses files the manifest does not list)."""
    return out_dir.parent / f"{out_dir.name}-croissant.json"


def croissant_metadata(out_dir: Path, written_to: Path) -> dict[str, Any]:
    """The Croissant JSON-LD of the release in ``out_dir`` (its manifest read, not verified),
    with file paths relative to ``written_to``, where the document will be saved."""
    manifest = read_manifest(out_dir / MANIFEST_NAME)
    base = Path(os.path.relpath(out_dir.resolve(), written_to.resolve().parent))
    if base.parts[:1] == ("..",) or base == Path():
        # Readers look for a FileSet's files below the document's own directory.
        raise OutputError(
            f"{written_to}: the document must sit in a directory above {out_dir} (not inside "
            "it, where verify refuses unlisted files); write it to the release's parent"
        )
    import mlcroissant as mlc  # noqa: PLC0415 - 4 s to import: only once the path is fine

    schema = pq.read_schema(out_dir / manifest.outputs[0].path)
    files = [
        mlc.FileObject(
            id=record.path,
            name=record.path,
            content_url=(base / record.path).as_posix(),
            content_size=f"{record.bytes} B",
            encoding_formats=[PARQUET],
            sha256=record.sha256,
        )
        for record in manifest.outputs
    ]
    # mlcroissant matches includes with fnmatch, whose * spans directories: nested files too.
    includes = [(base / "*.parquet").as_posix()]
    file_set = mlc.FileSet(id=FILES, name=FILES, encoding_formats=[PARQUET], includes=includes)
    fields = [
        mlc.Field(
            id=f"{RECORDS}/{field.name}",
            name=field.name,
            data_types=[_data_type(mlc, field.type)],
            source=mlc.Source(file_set=FILES, extract=mlc.Extract(column=field.name)),
        )
        for field in schema
    ]
    policy = manifest.policy
    metadata = mlc.Metadata(
        name=f"{policy.name}-release",
        description=(
            f"Release written by anonymizer {manifest.tool.version} under policy {policy.name} "
            f"v{policy.version} ({policy.digest}), run {manifest.run_id}, finished "
            f"{manifest.finished_at}; {sum(r.rows for r in manifest.outputs):,} records. The "
            f"signed manifest ({MANIFEST_NAME}) lists every file's SHA-256."
        ),
        url=out_dir.resolve().as_uri(),
        version=str(policy.version),
        date_created=manifest.finished_at,
        distribution=[*files, file_set],
        record_sets=[mlc.RecordSet(id=RECORDS, name=RECORDS, fields=fields)],
        personal_sensitive_information=_column_effects(manifest) + _privacy_model(manifest),
        data_preprocessing_protocol=[
            f"anonymizer policy {policy.name} v{policy.version}, digest {policy.digest}, applied "
            "column by column in one streaming pass; see the run manifest for each transform's "
            "version and parameters"
        ],
    )
    document: dict[str, Any] = metadata.to_json()
    return document
