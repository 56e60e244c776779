"""Encrypted columns end to end: run, decrypt (CLI and API), and every way it must fail."""

from __future__ import annotations

import base64
from pathlib import Path

import polars as pl
import pytest

from anonymizer_ml import anonymize_frame, decrypt_frame, load_keyset, parse_policy
from anonymizer_ml.errors import DecryptionError
from tests.conftest import FIXTURE, run_cli, run_policy

POLICY = """
name: vault
dataset: customers-2026
columns:
  customer_id: keep
  email: {action: encrypt}
  phone: {action: encrypt, output: base64, row_key: customer_id}
  full_name: {action: encrypt, deterministic: true}
  salary: {action: encrypt}
"""
ENCRYPTED = ["email", "phone", "full_name", "salary"]


@pytest.fixture(scope="module")
def encrypted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    base = tmp_path_factory.mktemp("vault")
    policy, keyset = base / "vault.yaml", base / "keyset.json"
    policy.write_text(POLICY)
    assert run_cli(["keys", "init", str(keyset)]).returncode == 0
    result = run_policy(keyset, FIXTURE, base / "out", policy=policy)
    assert result.returncode == 0, result.stderr
    return policy, keyset, base / "out" / FIXTURE.name


def test_no_plaintext_survives_and_types_follow_the_policy(
    encrypted: tuple[Path, Path, Path],
) -> None:
    output = pl.read_parquet(encrypted[2])
    source = pl.read_parquet(FIXTURE)
    assert output.schema["email"] == pl.Binary and output.schema["phone"] == pl.String
    blob = b"".join(v for c in ("email", "full_name", "salary") for v in output[c].to_list())
    # Base64 text holds digits and letters by chance; scan the cells it encodes instead.
    blob += b"".join(base64.urlsafe_b64decode(v) for v in output["phone"].to_list())
    for column in ENCRYPTED:
        for value in source[column].cast(pl.String).unique().to_list()[:500]:
            if len(value) >= 6:
                assert value.encode() not in blob


def test_cli_decrypt_restores_the_original(
    encrypted: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    policy, keyset, data = encrypted
    target = tmp_path / "plain.parquet"
    result = run_cli(
        [
            "decrypt",
            "-p",
            str(policy),
            "-k",
            str(keyset),
            "--columns",
            ",".join(ENCRYPTED),
            str(data),
            str(target),
        ]
    )
    assert result.returncode == 0, result.stderr
    plain = pl.read_parquet(target)
    source = pl.read_parquet(FIXTURE)
    for column in ("email", "phone", "full_name"):
        assert plain[column].to_list() == source[column].to_list()
    assert plain["salary"].to_list() == source["salary"].cast(pl.String).to_list()


def test_deterministic_column_is_joinable(encrypted: tuple[Path, Path, Path]) -> None:
    output = pl.read_parquet(encrypted[2])
    source = pl.read_parquet(FIXTURE)
    assert output["full_name"].n_unique() == source["full_name"].n_unique()
    assert output["email"].n_unique() == output.height  # random mode: all cells differ


def test_wrong_key_fails_opaquely_and_writes_nothing(
    encrypted: tuple[Path, Path, Path], tmp_path: Path, keyset_file: Path
) -> None:
    policy, _, data = encrypted
    target = tmp_path / "plain.parquet"
    result = run_cli(
        [
            "decrypt",
            "-p",
            str(policy),
            "-k",
            str(keyset_file),
            "--columns",
            "email",
            str(data),
            str(target),
        ]
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "decryption failed in column 'email'" in lines[0]
    assert not target.exists() and not list(tmp_path.glob(".anonymizer-tmp-*"))


def test_moved_and_tampered_cells_fail(encrypted: tuple[Path, Path, Path]) -> None:
    policy_path, keyset_path, data = encrypted
    policy, keyset = parse_policy(policy_path.read_text()), load_keyset(keyset_path)
    frame = pl.read_parquet(data)
    moved = frame.with_columns(pl.col("email").shift(1).alias("email"))  # another row's cell
    assert decrypt_frame(frame, policy, keyset, ["email"]).height == frame.height
    swapped = frame.with_columns(pl.col("salary").alias("email"))  # another column's cell
    cell = bytearray(frame["email"][0])
    cell[-1] ^= 1
    tampered = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit(bytes(cell)))
        .otherwise(pl.col("email"))
        .alias("email")
    )
    for bad in (swapped, tampered):
        with pytest.raises(DecryptionError, match="column 'email'"):
            decrypt_frame(bad, policy, keyset, ["email"])
    # Without row_key a cell is not bound to its row: a shifted cell opens (to its own value).
    opened = decrypt_frame(moved.drop_nulls("email"), policy, keyset, ["email"])["email"]
    assert opened.to_list() == pl.read_parquet(FIXTURE)["email"].head(frame.height - 1).to_list()
    row_bound = frame.with_columns(pl.col("phone").shift(1))
    with pytest.raises(DecryptionError, match="column 'phone'"):
        decrypt_frame(row_bound.drop_nulls("phone"), policy, keyset, ["phone"])


def test_api_round_trip_matches_source(encrypted: tuple[Path, Path, Path]) -> None:
    policy_path, keyset_path, _ = encrypted
    policy, keyset = parse_policy(policy_path.read_text()), load_keyset(keyset_path)
    source = pl.read_parquet(FIXTURE)
    safe = anonymize_frame(source, policy, keyset=keyset)
    back = decrypt_frame(safe, policy, keyset, ["email", "phone", "full_name"])
    for column in ("email", "phone", "full_name"):
        assert back[column].to_list() == source[column].to_list()


def test_decrypt_refuses_unencrypted_columns(
    encrypted: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    policy, keyset, data = encrypted
    result = run_cli(
        [
            "decrypt",
            "-p",
            str(policy),
            "-k",
            str(keyset),
            "--columns",
            "customer_id",
            str(data),
            str(tmp_path / "x.parquet"),
        ]
    )
    assert result.returncode == 1
    assert "is not encrypted by policy" in result.stderr


def test_manifest_and_file_metadata_record_salts_and_counts(
    encrypted: tuple[Path, Path, Path],
) -> None:
    import json

    import pyarrow.parquet as pq

    from anonymizer_ml.lineage.manifest import MANIFEST_NAME, read_manifest

    _, keyset, data = encrypted
    manifest = read_manifest(data.parent / MANIFEST_NAME)
    entries = {e["column"]: e for e in manifest.encryption}
    assert set(entries) == set(ENCRYPTED)
    assert all(e["encrypted"] == 5000 and e["file"] == FIXTURE.name for e in entries.values())
    assert entries["full_name"]["mode"] == "aes-256-siv"
    salts = {e["salt"] for c, e in entries.items() if c != "full_name"}
    assert len(salts) == 3  # a fresh subkey salt per (file, column)
    stored = json.loads(pq.read_metadata(data).metadata[b"anonymizer.encryption"])
    assert {e["column"]: e["salt"] for e in stored} == {c: e["salt"] for c, e in entries.items()}
    for key in load_keyset(keyset).keys:
        assert key.material.hex() not in json.dumps(manifest.encryption)


def test_shipped_vault_policy_round_trips_with_tokenised_row_keys(
    keyset_file: Path, tmp_path: Path
) -> None:
    from tests.conftest import ROOT

    vault = ROOT / "rules" / "vault.yaml"
    assert run_policy(keyset_file, FIXTURE, tmp_path / "out", policy=vault).returncode == 0
    data = tmp_path / "out" / FIXTURE.name
    plain = tmp_path / "plain.parquet"
    result = run_cli(
        [
            "decrypt",
            "-p",
            str(vault),
            "-k",
            str(keyset_file),
            "--columns",
            "email,phone,full_name,salary",
            str(data),
            str(plain),
        ]
    )
    assert result.returncode == 0, result.stderr
    back, source = pl.read_parquet(plain), pl.read_parquet(FIXTURE)
    assert back["customer_id"].str.starts_with("cus_").all()  # the row key is the token
    for column in ("email", "phone", "full_name"):
        assert back[column].to_list() == source[column].to_list()


def test_row_key_must_survive_into_the_output(tmp_path: Path, keyset_file: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("name: p\ncolumns:\n  email: {action: encrypt, row_key: customer_id}\n")
    result = run_policy(keyset_file, FIXTURE, tmp_path / "out", policy=policy)
    assert result.returncode == 1
    assert "row_key 'customer_id' is dropped from the output" in result.stderr


def test_base64_cells_without_row_keys_are_url_safe_and_open(keyset_file: Path) -> None:
    policy = parse_policy(
        "name: b64\ncolumns:\n  note: {action: encrypt, output: base64}\n  n: keep\n"
    )
    keyset = load_keyset(keyset_file)
    frame = pl.DataFrame({"note": [f"note {i}" if i % 5 else None for i in range(2000)]})
    frame = frame.with_row_index("n")
    safe = anonymize_frame(frame, policy, keyset=keyset)
    cells = safe["note"].drop_nulls().to_list()
    assert len(cells) == 1600
    assert not any("+" in c or "/" in c for c in cells)
    assert any("-" in c or "_" in c for c in cells)  # the URL-safe alphabet was needed
    assert all(base64.urlsafe_b64encode(base64.urlsafe_b64decode(c)).decode() == c for c in cells)
    assert decrypt_frame(safe, policy, keyset, ["note"]).equals(frame)
