"""Key rotation, re-encryption and access by key separation, through the CLI."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from anonymizer_ml import decrypt_frame, load_keyset, parse_policy
from anonymizer_ml.crypto.envelope import Envelope
from anonymizer_ml.crypto.keyset import Keyset, generate_keyset, write_keyset
from anonymizer_ml.errors import DecryptionError
from tests.conftest import FIXTURE, run_cli, run_policy

POLICY = """
name: groups
columns:
  customer_id: keep
  email: {action: encrypt, key: encrypt-finance}
  phone: {action: encrypt, key: encrypt-clinical}
"""


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    policy, keyset = tmp_path / "groups.yaml", tmp_path / "keyset.json"
    policy.write_text(POLICY)
    init = run_cli(
        [
            "keys",
            "init",
            str(keyset),
            "--purpose",
            "encrypt-finance",
            "--purpose",
            "encrypt-clinical",
        ]
    )
    assert init.returncode == 0, init.stderr
    return policy, keyset


def only(keyset: Keyset, *key_ids: str) -> Keyset:
    return Keyset(keys=tuple(k for k in keyset.keys if k.key_id in key_ids))


def test_a_group_key_opens_its_columns_only(setup: tuple[Path, Path], tmp_path: Path) -> None:
    policy_path, keyset_path = setup
    assert run_policy(keyset_path, FIXTURE, tmp_path / "out", policy=policy_path).returncode == 0
    data = pl.read_parquet(tmp_path / "out" / FIXTURE.name)
    keys, policy = load_keyset(keyset_path), parse_policy(policy_path.read_text())
    finance = only(keys, keys.for_purpose("encrypt-finance").key_id)
    opened = decrypt_frame(data, policy, finance, ["email"])
    assert opened["email"].to_list() == pl.read_parquet(FIXTURE)["email"].to_list()
    with pytest.raises(DecryptionError, match="column 'phone'"):
        decrypt_frame(data, policy, finance, ["phone"])


def test_rotation_keeps_old_data_readable_and_reencrypt_moves_it(
    setup: tuple[Path, Path], tmp_path: Path
) -> None:
    policy_path, keyset_path = setup
    assert run_policy(keyset_path, FIXTURE, tmp_path / "old", policy=policy_path).returncode == 0
    old_file = tmp_path / "old" / FIXTURE.name
    old_key = load_keyset(keyset_path).for_purpose("encrypt-finance").key_id

    rotate = run_cli(["keys", "rotate", str(keyset_path), "--purpose", "encrypt-finance"])
    assert rotate.returncode == 0, rotate.stderr
    keys, policy = load_keyset(keyset_path), parse_policy(policy_path.read_text())
    new_key = keys.for_purpose("encrypt-finance").key_id
    assert new_key != old_key and len(keys.keys) == 3

    # Old cells still open with the rotated keyset; new runs use the new primary.
    old = pl.read_parquet(old_file)
    assert decrypt_frame(old, policy, keys, ["email"]).height == old.height
    assert run_policy(keyset_path, FIXTURE, tmp_path / "new", policy=policy_path).returncode == 0
    new = pl.read_parquet(tmp_path / "new" / FIXTURE.name)
    assert {Envelope.parse(c).key_id for c in new["email"]} == {new_key}

    moved = tmp_path / "moved.parquet"
    result = run_cli(
        [
            "keys",
            "reencrypt",
            "-p",
            str(policy_path),
            "-k",
            str(keyset_path),
            "--columns",
            "email",
            str(old_file),
            str(moved),
        ]
    )
    assert result.returncode == 0, result.stderr
    rewritten = pl.read_parquet(moved)
    assert {Envelope.parse(c).key_id for c in rewritten["email"]} == {new_key}
    without_old = only(keys, new_key)
    source = pl.read_parquet(FIXTURE)
    assert decrypt_frame(rewritten, policy, without_old, ["email"])["email"].to_list() == (
        source["email"].to_list()
    )
    with pytest.raises(DecryptionError):
        decrypt_frame(old, policy, without_old, ["email"])


def test_rotating_an_unknown_purpose_is_refused(setup: tuple[Path, Path]) -> None:
    _, keyset_path = setup
    before = keyset_path.read_bytes()
    result = run_cli(["keys", "rotate", str(keyset_path), "--purpose", "encrpyt-finance"])
    assert result.returncode == 1 and "no key for purpose 'encrpyt-finance'" in result.stderr
    assert keyset_path.read_bytes() == before


def test_rotated_keyset_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    write_keyset(generate_keyset(["encrypt"]).rotated("encrypt"), path)
    loaded = load_keyset(path)
    assert loaded.purposes == ["encrypt"]
    assert len([k for k in loaded.keys if k.purpose == "encrypt"]) == 2
    assert loaded.for_purpose("encrypt") == loaded.keys[-1]


def test_keys_group_exports_a_teams_purposes_with_every_generation(
    setup: tuple[Path, Path], tmp_path: Path
) -> None:
    policy_path, keyset_path = setup
    assert (
        run_cli(["keys", "rotate", str(keyset_path), "--purpose", "encrypt-finance"]).returncode
        == 0
    )
    assert run_policy(keyset_path, FIXTURE, tmp_path / "out", policy=policy_path).returncode == 0
    group_path = tmp_path / "finance.json"
    args = [
        "keys",
        "group",
        str(group_path),
        "--purpose",
        "encrypt-finance",
        "-k",
        str(keyset_path),
    ]
    done = run_cli(args)
    assert done.returncode == 0, done.stderr
    full, group = load_keyset(keyset_path), load_keyset(group_path)
    assert group.purposes == ["encrypt-finance"]
    assert [k.key_id for k in group.keys] == [
        k.key_id for k in full.keys if k.purpose == "encrypt-finance"
    ]  # both generations: what the old key sealed still opens
    data = pl.read_parquet(tmp_path / "out" / FIXTURE.name)
    policy = parse_policy(policy_path.read_text())
    opened = decrypt_frame(data, policy, group, ["email"])
    assert opened["email"].to_list() == pl.read_parquet(FIXTURE)["email"].to_list()
    with pytest.raises(DecryptionError, match="column 'phone'"):
        decrypt_frame(data, policy, group, ["phone"])
    again = run_cli(args)
    assert again.returncode == 1 and "exists" in again.stderr
    unknown = run_cli([*args[:4], "encrypt-hr", "-k", str(keyset_path)])
    assert unknown.returncode == 1
    assert "no key for purpose 'encrypt-hr'" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1
