"""Keysets: random per-purpose keys, 0600 files, no secret in any repr or error."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from anonymizer_ml.crypto.keyset import (
    DEFAULT_PURPOSES,
    generate_keyset,
    load_keyset,
    resolve_keyset_path,
    write_keyset,
)
from anonymizer_ml.errors import KeyringError


def test_generate_has_distinct_random_keys_per_purpose() -> None:
    a, b = generate_keyset(), generate_keyset()
    assert a.purposes == list(DEFAULT_PURPOSES)
    materials = [k.material for k in (*a.keys, *b.keys)]
    assert len(set(materials)) == len(materials)
    assert all(len(m) == 32 for m in materials)


def test_write_is_0600_and_round_trips(tmp_path: Path) -> None:
    keyset = generate_keyset()
    path = tmp_path / "k.json"
    write_keyset(keyset, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_keyset(path)
    assert [(k.key_id, k.purpose, k.material) for k in loaded.keys] == [
        (k.key_id, k.purpose, k.material) for k in keyset.keys
    ]
    assert list(tmp_path.iterdir()) == [path]


def test_refuses_to_replace_an_existing_keyset(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    write_keyset(generate_keyset(), path)
    before = path.read_bytes()
    with pytest.raises(KeyringError, match="already exists"):
        write_keyset(generate_keyset(), path)
    assert path.read_bytes() == before


def test_material_never_appears_in_repr_or_str() -> None:
    keyset = generate_keyset()
    for key in keyset.keys:
        secret_forms = (
            key.material.hex(),
            base64.b64encode(key.material).decode(),
            repr(key.material),
        )
        for text in (repr(key), str(key), repr(keyset), str(keyset)):
            assert not any(form in text for form in secret_forms)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not a readable keyset"),
        ('{"format": "other"}', "not an anonymizer keyset"),
        ('{"format": "anonymizer-keyset", "version": 9, "keys": []}', "not supported"),
        ('{"format": "anonymizer-keyset", "version": 1, "keys": []}', "has no keys"),
        ('{"format": "anonymizer-keyset", "version": 1, "keys": [{"id": "x"}]}', "malformed"),
    ],
)
def test_bad_keyset_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "k.json"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(KeyringError, match=message) as info:
        load_keyset(path)
    assert str(path) in str(info.value)


def test_short_key_rejected_without_echoing_material(tmp_path: Path) -> None:
    secret = base64.b64encode(b"sixteen-byte-key").decode()
    doc = {
        "format": "anonymizer-keyset",
        "version": 1,
        "keys": [{"id": "t-1", "purpose": "tokenize", "material": secret}],
    }
    path = tmp_path / "k.json"
    path.write_text(json.dumps(doc))
    path.chmod(0o600)
    with pytest.raises(KeyringError, match="not a 256-bit key") as info:
        load_keyset(path)
    assert secret not in str(info.value)


def test_group_readable_keyset_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    write_keyset(generate_keyset(), path)
    path.chmod(0o644)
    with pytest.raises(KeyringError, match="chmod 600"):
        load_keyset(path)


def test_missing_keyset_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="anonymizer keys init"):
        load_keyset(tmp_path / "absent.json")


def test_env_var_is_the_fallback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ANONYMIZER_KEYSET", str(tmp_path / "env.json"))
    assert resolve_keyset_path(None) == tmp_path / "env.json"
    assert resolve_keyset_path(tmp_path / "cli.json") == tmp_path / "cli.json"
    monkeypatch.delenv("ANONYMIZER_KEYSET")
    assert resolve_keyset_path(None) is None


def test_an_unreadable_keyset_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "k.json"
    write_keyset(generate_keyset(), path)
    real = Path.read_text

    def denied(self: Path, *args: object, **kwargs: object) -> str:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", denied)
    with pytest.raises(KeyringError, match="not a readable keyset file") as info:
        load_keyset(path)
    assert "\n" not in str(info.value) and "Permission" not in str(info.value)
