"""Croissant export: mlcroissant loads the document and reads every released record through it."""

from __future__ import annotations

import json
from pathlib import Path

import mlcroissant as mlc
import polars as pl

from anonymizer_ml.lineage.manifest import MANIFEST_NAME, read_manifest
from tests.conftest import FIXTURE, run_cli, run_policy


def _export(out: Path, *extra: str) -> dict[str, object]:
    done = run_cli(["export", "croissant", str(out), *extra])
    assert done.returncode == 0, done.stderr
    target = Path(extra[-1]) if extra else out.parent / f"{out.name}-croissant.json"
    assert done.stdout.strip() == f"croissant: {target}"
    document: dict[str, object] = json.loads(target.read_text())
    return document


def test_the_document_reads_back_every_record_with_the_signed_digests(
    keyset_file: Path, tmp_path: Path
) -> None:
    source = tmp_path / "in"
    source.mkdir()
    frame = pl.read_parquet(FIXTURE)  # mlcroissant reads record by record: a few hundred do
    frame.head(300).write_parquet(source / "a.parquet")
    frame.tail(200).write_parquet(source / "b.parquet")
    out = tmp_path / "out"
    assert run_policy(keyset_file, source, out).returncode == 0
    document = _export(out)
    manifest = read_manifest(out / MANIFEST_NAME)
    files = [d for d in document["distribution"] if d["@type"] == "cr:FileObject"]  # type: ignore[attr-defined, index]
    assert {f["sha256"] for f in files} == {o.sha256 for o in manifest.outputs}
    dataset = mlc.Dataset(jsonld=str(out.parent / "out-croissant.json"))  # raises on any error
    records = list(dataset.records(record_set="records"))
    assert len(records) == 500 == sum(o.rows for o in manifest.outputs)
    released = pl.read_parquet(out / "a.parquet").columns
    assert [k.split("/")[1] for k in records[0]] == released
    first = pl.read_parquet(out / "a.parquet").row(0, named=True)
    assert records[0]["records/customer_id"].decode() == first["customer_id"]
    rai = document["rai:personalSensitiveInformation"]
    assert "email: surrogate - replaced by a consistent, realistic fake" in " ".join(rai)  # type: ignore[arg-type]
    assert any(line.startswith("city: drop - removed") for line in rai)  # type: ignore[union-attr]


def test_an_explicit_output_path_and_a_missing_manifest(keyset_file: Path, tmp_path: Path) -> None:
    small = tmp_path / "small.parquet"
    pl.read_parquet(FIXTURE).head(100).write_parquet(small)
    out = tmp_path / "out"
    assert run_policy(keyset_file, small, out).returncode == 0
    target = tmp_path / "release.json"
    _export(out, "--output", str(target))
    records = mlc.Dataset(jsonld=str(target)).records(record_set="records")
    assert sum(1 for _ in records) == 100  # paths are relative to where the document is
    (tmp_path / "meta").mkdir()
    for beside in (tmp_path / "meta" / "release.json", out / "release.json"):
        refused = run_cli(["export", "croissant", str(out), "--output", str(beside)])
        assert refused.returncode == 1, refused.stdout
        assert refused.stderr.startswith(f"error: {beside}: the document must sit in a directory")
        assert not beside.exists()
    missing = run_cli(["export", "croissant", str(tmp_path / "nowhere")])
    assert missing.returncode == 1 and len(missing.stderr.strip().splitlines()) == 1
    assert "manifest not found" in missing.stderr
