"""OpenLineage export of a run: RunEvent shape, schema facet, column lineage per transform."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import uuid
from pathlib import Path
from typing import ClassVar

import polars as pl
import pyarrow.parquet as pq

from anonymizer_ml.lineage.manifest import MANIFEST_NAME
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


def test_each_output_names_its_own_input_by_absolute_path(
    keyset_file: Path, tmp_path: Path
) -> None:
    source = tmp_path / "in"
    source.mkdir()
    frame = pl.read_parquet(FIXTURE)
    frame.head(100).write_parquet(source / "a.parquet")
    frame.tail(100).write_parquet(source / "b.parquet")
    out = tmp_path / "out"
    assert run_policy(keyset_file, source, out).returncode == 0
    result = run_cli(["lineage", "openlineage", str(out / MANIFEST_NAME)])
    assert result.returncode == 0, result.stderr
    event = json.loads(result.stdout)
    assert [i["name"] for i in event["inputs"]] == [
        (source / "a.parquet").resolve().as_posix(),
        (source / "b.parquet").resolve().as_posix(),
    ]
    for output in event["outputs"]:
        name = Path(output["name"]).name
        assert output["name"] == (out / name).resolve().as_posix()
        assert output["facets"]["schema"]["_schemaURL"].startswith("https://openlineage.io/spec/")
        inputs = {
            f["name"]
            for column in output["facets"]["columnLineage"]["fields"].values()
            for f in column["inputFields"]
        }
        assert inputs == {(source / name).resolve().as_posix()}  # only its own file


class _Backend(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, dict[str, object]]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Backend.received.append((self.path, json.loads(body)))
        self.send_response(201)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def test_the_event_is_sent_to_an_openlineage_backend(keyset_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_policy(keyset_file, FIXTURE, out).returncode == 0
    printed = json.loads(run_cli(["lineage", "openlineage", str(out / MANIFEST_NAME)]).stdout)
    server = http.server.HTTPServer(("127.0.0.1", 0), _Backend)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        args = ["lineage", "openlineage", str(out / MANIFEST_NAME), "--openlineage-url", url]
        sent = run_cli(args)
    finally:
        server.shutdown()
    assert sent.returncode == 0, sent.stderr
    [(path, body)] = _Backend.received
    assert path == "/api/v1/lineage"
    assert body["run"]["runId"] == printed["run"]["runId"]  # the client adds its own tags facet
    assert body["outputs"] == printed["outputs"] and body["inputs"] == printed["inputs"]
    assert body["eventType"] == "COMPLETE"


def test_an_unreachable_backend_is_one_error_line(keyset_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_policy(keyset_file, FIXTURE, out).returncode == 0
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    sent = run_cli(["lineage", "openlineage", str(out / MANIFEST_NAME), "--openlineage-url", url])
    assert sent.returncode == 1
    assert sent.stderr.strip().splitlines() == [
        f"error: {url}: the RunEvent was not accepted (ConnectionError); check that the backend "
        "is up and the URL is right"
    ]
