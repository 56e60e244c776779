"""OpenLineage export: a COMPLETE RunEvent for one run, with schema and column lineage facets."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from anonymizer._version import __version__
from anonymizer.lineage.manifest import RunManifest, read_manifest

PRODUCER = f"https://github.com/anonymizer/anonymizer/tree/v{__version__}"
SPEC = "https://openlineage.io/spec"
RUN_EVENT_SCHEMA = f"{SPEC}/2-0-2/OpenLineage.json#/$defs/RunEvent"
SCHEMA_FACET = f"{SPEC}/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
LINEAGE_FACET = (
    f"{SPEC}/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet"
)
NAMESPACE = "file"


def _schema_facet(path: Path) -> dict[str, Any]:
    schema = pq.read_schema(path)
    return {
        "_producer": PRODUCER,
        "_schemaURL": SCHEMA_FACET,
        "fields": [{"name": f.name, "type": str(f.type)} for f in schema],
    }


def _lineage_facet(manifest: RunManifest, input_names: list[str]) -> dict[str, Any]:
    fields = {}
    for step in manifest.plan:
        if step["action"] == "drop":
            continue
        transformation = {
            "type": "DIRECT",
            "subtype": "IDENTITY" if step["action"] == "keep" else "TRANSFORMATION",
            "description": f"anonymizer {step['action']} v{step['transform_version']}",
            "masking": step["action"] != "keep",
        }
        fields[str(step["column"])] = {
            "inputFields": [
                {
                    "namespace": NAMESPACE,
                    "name": name,
                    "field": step["column"],
                    "transformations": [transformation],
                }
                for name in input_names
            ]
        }
    return {"_producer": PRODUCER, "_schemaURL": LINEAGE_FACET, "fields": fields}


def run_event(manifest_path: Path) -> dict[str, Any]:
    """The OpenLineage RunEvent (COMPLETE) describing the run that wrote ``manifest_path``."""
    manifest = read_manifest(manifest_path)
    out_dir = manifest_path.parent
    input_root = Path(manifest.input_root)
    inputs = [(input_root / r.path).as_posix() for r in manifest.inputs]
    outputs = []
    for record in manifest.outputs:
        path = out_dir / record.path
        outputs.append(
            {
                "namespace": NAMESPACE,
                "name": path.as_posix(),
                "facets": {
                    "schema": _schema_facet(path),
                    "columnLineage": _lineage_facet(manifest, inputs),
                },
            }
        )
    return {
        "eventType": "COMPLETE",
        "eventTime": manifest.finished_at,
        "producer": PRODUCER,
        "schemaURL": RUN_EVENT_SCHEMA,
        "run": {"runId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"anonymizer:run:{manifest.run_id}"))},
        "job": {"namespace": "anonymizer", "name": f"policy/{manifest.policy.name}"},
        "inputs": [{"namespace": NAMESPACE, "name": name} for name in inputs],
        "outputs": outputs,
    }
