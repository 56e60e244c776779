"""Parquet modular encryption for whole columns that stay in the file (policy ``at_rest``)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from anonymizer import load_keyset, parse_policy
from anonymizer.crypto.at_rest import decryption_properties
from anonymizer.lineage.manifest import MANIFEST_NAME, read_manifest
from tests.conftest import FIXTURE, run_cli, run_policy

POLICY = """
name: at-rest
columns:
  customer_id: {action: hash_token}
  salary: keep
  segment: keep
  state: keep
at_rest:
  columns: [salary, segment]
"""


@pytest.fixture
def written(tmp_path: Path, keyset_file: Path) -> tuple[Path, Path]:
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY)
    result = run_policy(keyset_file, FIXTURE, tmp_path / "out", policy=policy)
    assert result.returncode == 0, result.stderr
    return policy, tmp_path / "out" / FIXTURE.name


def test_listed_columns_need_the_key_others_do_not(
    written: tuple[Path, Path], keyset_file: Path
) -> None:
    policy_path, data = written
    source = pl.read_parquet(FIXTURE)
    assert pq.read_metadata(data).num_rows == source.height  # plaintext, signed footer
    assert pl.read_parquet(data, columns=["state"])["state"].to_list() == source["state"].to_list()
    for column in ("salary", "segment"):
        with pytest.raises(pl.exceptions.ComputeError, match="encrypted"):
            pl.read_parquet(data, columns=[column])
        with pytest.raises(OSError):
            pq.read_table(data, columns=[column])
    props = decryption_properties(parse_policy(policy_path.read_text()), load_keyset(keyset_file))
    opened = pl.read_parquet(data, decryption=props)
    assert opened["salary"].to_list() == source["salary"].to_list()
    manifest = read_manifest(data.parent / MANIFEST_NAME)
    modes = {(e["column"], e["mode"]) for e in manifest.encryption}
    assert modes == {("salary", "parquet-modular-aes-gcm"), ("segment", "parquet-modular-aes-gcm")}


def test_wrong_keyset_cannot_read_and_decrypt_command_writes_plain(
    written: tuple[Path, Path], keyset_file: Path, tmp_path: Path
) -> None:
    policy_path, data = written
    other = tmp_path / "other.json"
    assert run_cli(["keys", "init", str(other)]).returncode == 0
    wrong = decryption_properties(parse_policy(policy_path.read_text()), load_keyset(other))
    with pytest.raises(pl.exceptions.ComputeError):
        pl.read_parquet(data, columns=["salary"], decryption=wrong)
    plain = tmp_path / "plain.parquet"
    result = run_cli(
        [
            "decrypt",
            "-p",
            str(policy_path),
            "-k",
            str(keyset_file),
            "--columns",
            "salary,segment",
            str(data),
            str(plain),
        ]
    )
    assert result.returncode == 0, result.stderr
    assert (
        pl.read_parquet(plain)["segment"].to_list() == pl.read_parquet(FIXTURE)["segment"].to_list()
    )


def test_at_rest_column_must_be_an_output_column(tmp_path: Path, keyset_file: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.replace("[salary, segment]", "[salary, city]"))
    result = run_policy(keyset_file, FIXTURE, tmp_path / "out", policy=policy)
    assert result.returncode == 1
    assert "at_rest column 'city' is not an output column" in result.stderr
