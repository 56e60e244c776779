"""Parquet modular encryption for whole columns that stay in the file (policy ``at_rest``)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from anonymizer_ml import load_keyset, parse_policy
from anonymizer_ml.crypto.at_rest import decryption_properties, read_record
from anonymizer_ml.crypto.keyset import Keyset, write_keyset
from anonymizer_ml.lineage.manifest import MANIFEST_NAME, read_manifest
from tests.conftest import FIXTURE, ROOT, run_cli, run_policy

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


VAULT = ROOT / "rules" / "vault.yaml"
VAULT_COLUMNS = "email,phone,full_name,salary"


def _cli_crypt(command: list[str], keyset: Path, source: Path, target: Path) -> str:
    """Run decrypt or keys reencrypt over the vault columns; stderr (empty on success)."""
    args = [*command, "-p", str(VAULT), "-k", str(keyset), "--columns", VAULT_COLUMNS]
    result = run_cli([*args, str(source), str(target)])
    assert (result.returncode == 0) == (result.stderr == ""), result.stderr
    return result.stderr


def test_at_rest_files_of_every_key_generation_decrypt_after_two_rotations(
    tmp_path: Path, keyset_file: Path
) -> None:
    source = pl.read_parquet(FIXTURE)
    generations = []
    for n in range(3):
        out = tmp_path / f"gen{n}"
        result = run_policy(keyset_file, FIXTURE, out, policy=VAULT)
        assert result.returncode == 0, result.stderr
        key_id = load_keyset(keyset_file).for_purpose("encrypt").key_id
        generations.append((out / FIXTURE.name, key_id))
        rotated = run_cli(["keys", "rotate", str(keyset_file), "--purpose", "encrypt"])
        assert rotated.returncode == 0, rotated.stderr
    assert len({key_id for _, key_id in generations}) == 3
    salaries = []
    for n, (data, key_id) in enumerate(generations):
        record = read_record(data)
        assert record is not None and record.key_id == key_id
        plain = tmp_path / f"plain{n}.parquet"
        assert _cli_crypt(["decrypt"], keyset_file, data, plain) == ""
        opened = pl.read_parquet(plain)
        assert opened["email"].to_list() == source["email"].to_list()
        salaries.append(opened["salary"].to_list())
    # Salary is generalised (deterministic), then sealed at rest: every generation opens to it.
    assert salaries[0] == salaries[1] == salaries[2]
    assert sum(s is not None for s in salaries[0]) >= source["salary"].count() * 0.9


def test_reencrypt_moves_at_rest_columns_to_the_primary_key(
    tmp_path: Path, keyset_file: Path
) -> None:
    assert run_policy(keyset_file, FIXTURE, tmp_path / "old", policy=VAULT).returncode == 0
    old = tmp_path / "old" / FIXTURE.name
    assert run_cli(["keys", "rotate", str(keyset_file), "--purpose", "encrypt"]).returncode == 0
    keys = load_keyset(keyset_file)
    primary = keys.for_purpose("encrypt").key_id
    moved = tmp_path / "moved.parquet"
    assert _cli_crypt(["keys", "reencrypt"], keyset_file, old, moved) == ""
    record = read_record(moved)
    assert record is not None and record.key_id == primary and record.columns == ("salary",)
    with pytest.raises(pl.exceptions.ComputeError, match="encrypted"):
        pl.read_parquet(moved, columns=["salary"])  # still sealed at rest, under the new key

    # The old key can now be retired: the migrated file opens without it, the old one does not.
    retired = tmp_path / "retired.json"
    old_ids = {k.key_id for k in keys.keys if k.purpose == "encrypt" and k.key_id != primary}
    write_keyset(Keyset(keys=tuple(k for k in keys.keys if k.key_id not in old_ids)), retired)
    plain = tmp_path / "plain.parquet"
    assert _cli_crypt(["decrypt"], retired, moved, plain) == ""
    expected = pl.read_parquet(tmp_path / "old" / FIXTURE.name, columns=["customer_id"]).height
    assert pl.read_parquet(plain).height == expected
    error = _cli_crypt(["decrypt"], retired, old, tmp_path / "no.parquet")
    old_record = read_record(old)
    assert old_record is not None and old_record.key_id in old_ids
    assert f"wrong key for at-rest column(s) 'salary' (key id {old_record.key_id})" in error
    assert not (tmp_path / "no.parquet").exists()


def test_a_foreign_keyset_gets_a_wrong_key_line_not_an_unreadable_file(
    written: tuple[Path, Path], tmp_path: Path
) -> None:
    policy_path, data = written
    other = tmp_path / "other.json"
    assert run_cli(["keys", "init", str(other)]).returncode == 0
    args = ["decrypt", "-p", str(policy_path), "-k", str(other), "--columns", "salary"]
    result = run_cli([*args, str(data), str(tmp_path / "plain.parquet")])
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and "wrong key for at-rest column(s)" in result.stderr
    assert "not a readable Parquet" not in result.stderr


def test_decrypting_some_columns_keeps_the_other_at_rest_columns_sealed(
    written: tuple[Path, Path], keyset_file: Path, tmp_path: Path
) -> None:
    policy_path, data = written
    plain = tmp_path / "plain.parquet"
    args = ["decrypt", "-p", str(policy_path), "-k", str(keyset_file), "--columns", "salary"]
    result = run_cli([*args, str(data), str(plain)])
    assert result.returncode == 0, result.stderr
    source = pl.read_parquet(FIXTURE)
    props = decryption_properties(
        parse_policy(policy_path.read_text()), load_keyset(keyset_file), plain
    )
    assert pl.read_parquet(plain, columns=["salary"])["salary"].to_list() == (
        source["salary"].to_list()
    )
    with pytest.raises(pl.exceptions.ComputeError, match="encrypted"):
        pl.read_parquet(plain, columns=["segment"])
    opened = pl.read_parquet(plain, decryption=props)
    assert opened["segment"].to_list() == source["segment"].to_list()
