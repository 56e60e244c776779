"""Wrapped keysets: env KEK, passphrase (scrypt), KMS plug-ins; no key ever stored in the clear."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from anonymizer_ml.crypto.keyset import DEFAULT_PURPOSES, generate_keyset, load_keyset, write_keyset
from anonymizer_ml.crypto.protect import (
    EnvKek,
    LocalFileKms,
    PassphraseKek,
    new_kek,
    protector_from_spec,
    register_kms,
)
from anonymizer_ml.errors import KeyringError
from tests.conftest import run_cli


def assert_no_clear_material(path: Path, materials: list[bytes]) -> None:
    text = path.read_text()
    for material in materials:
        assert base64.b64encode(material).decode() not in text
        assert material.hex() not in text
    assert '"material"' not in text


def test_env_kek_round_trip_and_wrong_kek(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANONYMIZER_KEK", new_kek())
    keyset = generate_keyset()
    path = tmp_path / "k.json"
    write_keyset(keyset.protected_by(EnvKek()), path)
    assert_no_clear_material(path, [k.material for k in keyset.keys])
    assert json.loads(path.read_text())["protection"] == {
        "kind": "env",
        "variable": "ANONYMIZER_KEK",
    }
    assert [k.material for k in load_keyset(path).keys] == [k.material for k in keyset.keys]
    monkeypatch.setenv("ANONYMIZER_KEK", new_kek())
    with pytest.raises(KeyringError, match=r"wrong key-encryption key in \$ANONYMIZER_KEK") as info:
        load_keyset(path)
    assert all(k.material.hex() not in str(info.value) for k in keyset.keys)
    monkeypatch.delenv("ANONYMIZER_KEK")
    with pytest.raises(KeyringError, match="ANONYMIZER_KEK is not set"):
        load_keyset(path)
    monkeypatch.setenv("ANONYMIZER_KEK", "too-short")
    with pytest.raises(KeyringError, match="not 32 base64-encoded bytes"):
        load_keyset(path)


def test_passphrase_round_trip(tmp_path: Path) -> None:
    keyset = generate_keyset(["tokenize"])
    path = tmp_path / "k.json"
    write_keyset(keyset.protected_by(PassphraseKek("correct horse")), path)
    assert_no_clear_material(path, [k.material for k in keyset.keys])
    loaded = load_keyset(path, passphrase=lambda: "correct horse")
    assert loaded.keys[0].material == keyset.keys[0].material
    with pytest.raises(KeyringError, match="wrong passphrase"):
        load_keyset(path, passphrase=lambda: "wrong horse")


def test_passphrase_from_environment_is_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "k.json"
    write_keyset(generate_keyset(["tokenize"]).protected_by(PassphraseKek("pw")), path)
    monkeypatch.delenv("ANONYMIZER_PASSPHRASE", raising=False)
    with pytest.raises(KeyringError, match="set ANONYMIZER_PASSPHRASE"):
        load_keyset(path)
    monkeypatch.setenv("ANONYMIZER_PASSPHRASE", "pw")
    assert load_keyset(path).purposes == ["tokenize"]


def test_local_file_kms(tmp_path: Path) -> None:
    master = tmp_path / "master.key"
    master.write_text(new_kek())
    master.chmod(0o600)
    keyset = generate_keyset(["encrypt"])
    path = tmp_path / "k.json"
    protector = protector_from_spec(f"kms:{master}", lambda: "")
    assert isinstance(protector, LocalFileKms)
    write_keyset(keyset.protected_by(protector), path)
    assert load_keyset(path).keys[0].material == keyset.keys[0].material
    master.chmod(0o644)
    with pytest.raises(KeyringError, match="readable by others"):
        load_keyset(path)


def test_custom_kms_plugin_is_used(tmp_path: Path) -> None:
    calls: list[str] = []

    class RecordingKms(LocalFileKms):
        def wrap(self, key_id: str, purpose: str, material: bytes) -> bytes:
            calls.append(key_id)
            return super().wrap(key_id, purpose, material)

        def describe(self) -> dict[str, str]:
            return {**super().describe(), "provider": "recording"}

    register_kms("recording", RecordingKms)
    master = tmp_path / "m.key"
    master.write_text(new_kek())
    master.chmod(0o600)
    path = tmp_path / "k.json"
    keyset = generate_keyset(["encrypt"])
    write_keyset(keyset.protected_by(protector_from_spec(f"kms:recording:{master}", str)), path)
    assert calls == [keyset.keys[0].key_id]
    assert load_keyset(path).keys[0].material == keyset.keys[0].material
    with pytest.raises(KeyringError, match="no KMS plug-in named 'nope'"):
        protector_from_spec("kms:nope:x", str)


def test_swapped_wrapped_keys_are_detected(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    write_keyset(generate_keyset(["tokenize", "encrypt"]).protected_by(PassphraseKek("pw")), path)
    doc = json.loads(path.read_text())
    first, second = doc["keys"]
    first["wrapped"], second["wrapped"] = second["wrapped"], first["wrapped"]
    path.write_text(json.dumps(doc))
    with pytest.raises(KeyringError, match="or the keyset was altered"):
        load_keyset(path, passphrase=lambda: "pw")


def test_cli_protected_keyset_rotate_keeps_protection(tmp_path: Path) -> None:
    env = {"ANONYMIZER_KEK": new_kek()}
    path = tmp_path / "k.json"
    init = run_cli(["keys", "init", str(path), "--protect", "env"], env=env)
    assert init.returncode == 0, init.stderr
    assert "warning" not in init.stderr
    rotate = run_cli(["keys", "rotate", str(path), "--purpose", "encrypt"], env=env)
    assert rotate.returncode == 0, rotate.stderr
    doc = json.loads(path.read_text())
    assert doc["protection"]["kind"] == "env" and len(doc["keys"]) == len(DEFAULT_PURPOSES) + 1
    assert all("wrapped" in entry for entry in doc["keys"])
    wrong = run_cli(
        ["keys", "rotate", str(path), "--purpose", "encrypt"], env={"ANONYMIZER_KEK": new_kek()}
    )
    assert wrong.returncode == 1 and "cannot unwrap" in wrong.stderr
    unprotected = run_cli(["keys", "init", str(tmp_path / "plain.json")])
    assert "keys are stored unwrapped" in unprotected.stderr


def test_unknown_protection_spec() -> None:
    with pytest.raises(KeyringError, match="unknown protection 'vault'"):
        protector_from_spec("vault", str)
