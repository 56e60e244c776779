"""OpenLineage export of a run: RunEvent shape, schema facet, column lineage per transform."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pyarrow.parquet as pq

from anonymizer.lineage.manifest import MANIFEST_NAME
from tests.conftest import FIXTURE, run_cli, run_policy


def test_run_event_describes_the_run(keyset_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_policy(keyset_file, FIXTURE, out).returncode == 0
    result = run_cli(["lineage", "openlineage", str(out / MANIFEST_NAME)])
    assert result.returncode == 0, result.stderr
    event = json.loads(result.stdout)
    assert event["eventType"] == "COMPLETE"
    uuid.UUID(event["run"]["runId"])
    assert event["job"]["name"] == "policy/customers"
    assert [i["name"] for i in event["inputs"]] == [FIXTURE.as_posix()]
    [output] = event["outputs"]
    schema = pq.read_schema(out / FIXTURE.name)
    assert [f["name"] for f in output["facets"]["schema"]["fields"]] == schema.names
    lineage = output["facets"]["columnLineage"]["fields"]
    assert set(lineage) == set(schema.names)  # dropped columns have no lineage into the output
    token = lineage["customer_id"]["inputFields"][0]
    assert token["field"] == "customer_id"
    assert token["transformations"][0]["masking"] is True
    assert lineage["segment"]["inputFields"][0]["transformations"][0]["subtype"] == "IDENTITY"


def test_missing_manifest_is_one_error_line(tmp_path: Path) -> None:
    result = run_cli(["lineage", "openlineage", str(tmp_path / MANIFEST_NAME)])
    assert result.returncode == 1 and result.stderr.startswith("error: ")
