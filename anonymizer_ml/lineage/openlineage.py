"""OpenLineage export through ``openlineage-python`` (the ``lineage`` extra, imported with this
module): a COMPLETE RunEvent for one run, with a schema facet and a column-lineage facet per
output, and optional emission through the client's transports.

Datasets follow OpenLineage's naming for local files: namespace ``file``, name the absolute path.
Each output's columns come from the input file of the same relative path (the run mirrors the
input tree), each with a DIRECT transformation whose subtype says what the action did and
``masking`` true for every action but ``keep``.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import column_lineage_dataset as lineage_facet
from openlineage.client.facet_v2 import schema_dataset
from openlineage.client.serde import Serde
from openlineage.client.transport.http import HttpConfig, HttpTransport

from anonymizer_ml._version import __version__
from anonymizer_ml.errors import OutputError
from anonymizer_ml.lineage.manifest import RunManifest, read_manifest

PRODUCER = f"https://github.com/anonymizer/anonymizer/tree/v{__version__}"
NAMESPACE = "file"
JOB_NAMESPACE = "anonymizer"
# OpenLineage's subtypes for a DIRECT transformation: the value is copied, or computed from it.
SUBTYPES = {"keep": "IDENTITY", "privacy": "TRANSFORMATION"}


def _schema_facet(path: Path) -> schema_dataset.SchemaDatasetFacet:
    fields = [
        schema_dataset.SchemaDatasetFacetFields(name=f.name, type=str(f.type))
        for f in pq.read_schema(path)
    ]
    return schema_dataset.SchemaDatasetFacet(fields=fields, producer=PRODUCER)


def _lineage_facet(manifest: RunManifest, source: str) -> lineage_facet.ColumnLineageDatasetFacet:
    fields = {}
    for step in manifest.plan:
        action = str(step["action"])
        if action == "drop":
            continue
        transformation = lineage_facet.Transformation(
            type="DIRECT",
            subtype=SUBTYPES.get(action, "TRANSFORMATION"),
            description=f"anonymizer {action} v{step['transform_version']}",
            masking=action != "keep",
        )
        column = str(step["column"])
        fields[column] = lineage_facet.Fields(
            inputFields=[
                lineage_facet.InputField(
                    namespace=NAMESPACE, name=source, field=column, transformations=[transformation]
                )
            ]
        )
    return lineage_facet.ColumnLineageDatasetFacet(fields=fields, producer=PRODUCER)


def lineage_event(manifest_path: Path) -> RunEvent:
    """The OpenLineage RunEvent (COMPLETE) describing the run that wrote ``manifest_path``."""
    manifest = read_manifest(manifest_path)
    out_dir = manifest_path.parent.resolve()
    input_root = Path(manifest.input_root).resolve()
    sources = {r.path: (input_root / r.path).as_posix() for r in manifest.inputs}
    outputs = [
        OutputDataset(
            namespace=NAMESPACE,
            name=(out_dir / record.path).as_posix(),
            facets={
                "schema": _schema_facet(out_dir / record.path),
                "columnLineage": _lineage_facet(manifest, sources[record.path]),
            },
        )
        for record in manifest.outputs
    ]
    run_id = uuid.uuid5(uuid.NAMESPACE_URL, f"anonymizer:run:{manifest.run_id}")
    return RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=manifest.finished_at,
        producer=PRODUCER,
        run=Run(runId=str(run_id)),
        job=Job(namespace=JOB_NAMESPACE, name=f"policy/{manifest.policy.name}"),
        inputs=[InputDataset(namespace=NAMESPACE, name=name) for name in sources.values()],
        outputs=outputs,
    )


def run_event(manifest_path: Path) -> dict[str, Any]:
    """The RunEvent as the JSON document OpenLineage backends receive."""
    document: dict[str, Any] = Serde.to_dict(lineage_event(manifest_path))
    return document


def emit(manifest_path: Path, url: str | None) -> None:
    """Send the RunEvent: to ``url`` over HTTP, or through the client's own configuration
    (``openlineage.yml`` or the ``OPENLINEAGE_*`` variables) when no url is given."""
    event = lineage_event(manifest_path)
    client = (
        OpenLineageClient(transport=HttpTransport(HttpConfig(url=url)))
        if url is not None
        else OpenLineageClient()
    )
    try:
        client.emit(event)
    except OSError as exc:  # requests' and the transports' connection errors are OSErrors
        where = url or "the configured OpenLineage transport"
        raise OutputError(
            f"{where}: the RunEvent was not accepted ({exc.__class__.__name__}); check that the "
            "backend is up and the URL is right"
        ) from None
