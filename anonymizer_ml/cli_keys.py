"""``anonymizer keys …`` and ``anonymizer decrypt``: keysets, rotation, re-encryption."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from anonymizer_ml.cli_common import (
    JsonOption,
    KeysetOption,
    SubjectKeysOption,
    ask_passphrase,
    guarded,
    required_keyset,
    stderr,
    stdout,
    subject_store,
)
from anonymizer_ml.crypto.keyset import (
    DEFAULT_PURPOSES,
    Keyset,
    generate_keyset,
    load_keyset,
    write_keyset,
)
from anonymizer_ml.crypto.protect import new_kek, protector_from_spec
from anonymizer_ml.errors import KeyringError

keys_app = typer.Typer(help="Create and manage keysets.", no_args_is_help=True)


@guarded
def decrypt_command(
    input_path: Annotated[Path, typer.Argument(help="Parquet file written by anonymizer run.")],
    output: Annotated[Path, typer.Argument(help="Parquet file to write with plaintext columns.")],
    policy: Annotated[Path, typer.Option("--policy", "-p", help="The policy that encrypted it.")],
    columns: Annotated[str, typer.Option("--columns", help="Comma-separated columns to decrypt.")],
    keyset: KeysetOption = None,
    subject_keys: SubjectKeysOption = None,
) -> None:
    """Decrypt COLUMNS of INPUT into OUTPUT (needs the keyset holding their keys)."""
    from anonymizer_ml.crypto.decrypt import decrypt_file
    from anonymizer_ml.policy.load import load_policy

    wanted = _crypt_columns(columns)
    keys = required_keyset(keyset)
    subjects = subject_store(subject_keys, keys)
    erased = decrypt_file(load_policy(policy), keys, wanted, input_path, output, subjects=subjects)
    stdout.print(
        f"decrypted {', '.join(wanted)} into {output}{_erased_note(erased)}", soft_wrap=True
    )


@keys_app.command("reencrypt")
@guarded
def keys_reencrypt_command(
    input_path: Annotated[Path, typer.Argument(help="Parquet file with encrypted columns.")],
    output: Annotated[Path, typer.Argument(help="Parquet file to write, re-encrypted.")],
    policy: Annotated[Path, typer.Option("--policy", "-p", help="The policy that encrypted it.")],
    columns: Annotated[str, typer.Option("--columns", help="Comma-separated columns.")],
    keyset: KeysetOption = None,
    subject_keys: SubjectKeysOption = None,
) -> None:
    """Re-encrypt COLUMNS of INPUT under the keyset's current primary keys (after a rotation)."""
    from anonymizer_ml.policy.load import load_policy
    from anonymizer_ml.runners.reencrypt import reencrypt_file

    wanted = _crypt_columns(columns)
    rules, keys = load_policy(policy), required_keyset(keyset)
    subjects = subject_store(subject_keys, keys)
    erased = reencrypt_file(rules, keys, wanted, input_path, output, subjects=subjects)
    stdout.print(
        f"re-encrypted {', '.join(wanted)} into {output}{_erased_note(erased)}", soft_wrap=True
    )


def _erased_note(erased: dict[str, int]) -> str:
    if not erased:
        return ""
    counts = ", ".join(f"{column}: {n:,}" for column, n in erased.items())
    return f"; cells of erased subjects are null ({counts})"


def _crypt_columns(columns: str) -> list[str]:
    wanted = [c.strip() for c in columns.split(",") if c.strip()]
    if not wanted:
        raise KeyringError("--columns is empty; name the encrypted columns, comma-separated")
    return wanted


@keys_app.command("init")
@guarded
def keys_init_command(
    path: Annotated[Path, typer.Argument(help="Where to write the new keyset (mode 0600).")],
    purpose: Annotated[
        list[str] | None,
        typer.Option("--purpose", help="Key purpose to create (repeatable)."),
    ] = None,
    protect: Annotated[
        str,
        typer.Option(
            "--protect",
            help="Wrap the keys: none, env[:VAR] (default var ANONYMIZER_KEK), passphrase, "
            "kms:[PROVIDER:]URI.",
        ),
    ] = "none",
    as_json: JsonOption = False,
) -> None:
    """Write a new keyset with one random 256-bit key per purpose."""
    protector = protector_from_spec(protect, ask_passphrase)
    keyset = generate_keyset(tuple(purpose) if purpose else DEFAULT_PURPOSES)
    write_keyset(keyset.protected_by(protector), path)
    if protector is None:
        stderr.print("warning: keys are stored unwrapped; use --protect to wrap them", markup=False)
    if as_json:
        print(json.dumps(_keyset_document(path, keyset.protected_by(protector))))
        return
    ids = ", ".join(k.key_id for k in keyset.keys)
    stdout.print(f"wrote keyset {path} ({ids}); keep it secret and back it up")


def _keyset_document(path: Path, keyset: Keyset) -> dict[str, Any]:
    """A keyset as ``keys … --json`` prints it: ids, purposes, primaries (never material)."""
    return {
        "keyset": str(path),
        "protection": keyset.protector.describe() if keyset.protector is not None else None,
        "keys": [{"id": k.key_id, "purpose": k.purpose, "created": k.created} for k in keyset.keys],
        "primary": {p: keyset.for_purpose(p).key_id for p in keyset.purposes},
    }


@keys_app.command("group")
@guarded
def keys_group_command(
    path: Annotated[Path, typer.Argument(help="Where to write the group's keyset (mode 0600).")],
    purpose: Annotated[
        list[str], typer.Option("--purpose", help="Purpose the group holds (repeatable).")
    ],
    keyset: KeysetOption = None,
    protect: Annotated[
        str,
        typer.Option(
            "--protect",
            help="Wrap the group's keys: same (as the source), none, env[:VAR], passphrase, "
            "kms:[PROVIDER:]URI.",
        ),
    ] = "same",
    as_json: JsonOption = False,
) -> None:
    """Write a keyset holding only some purposes' keys (all their generations), for a team
    that must run or read those steps and no others."""
    source = required_keyset(keyset)
    group = source.only(purpose)
    if protect != "same":
        group = group.protected_by(protector_from_spec(protect, ask_passphrase))
    write_keyset(group, path)
    if group.protector is None:
        stderr.print("warning: keys are stored unwrapped; use --protect to wrap them", markup=False)
    if as_json:
        print(json.dumps(_keyset_document(path, group)))
        return
    ids = ", ".join(k.key_id for k in group.keys)
    stdout.print(f"wrote key group {path} ({ids}); give it only to the team that needs it")


@keys_app.command("new-kek")
@guarded
def keys_new_kek_command() -> None:
    """Print a fresh random key-encryption key (for ANONYMIZER_KEK or a KMS key file)."""
    print(new_kek())


@keys_app.command("add")
@guarded
def keys_add_command(
    path: Annotated[Path, typer.Argument(help="The keyset file to extend in place.")],
    purpose: Annotated[str, typer.Option("--purpose", help="New purpose to add a key for.")],
    as_json: JsonOption = False,
) -> None:
    """Add a key for a purpose the keyset does not have yet (e.g. sign, encrypt-finance)."""
    extended = _rewrite_keyset(path, lambda keys: keys.with_purpose(purpose))
    if as_json:
        print(json.dumps(_keyset_document(path, extended)))
        return
    stdout.print(f"{path}: added {extended.for_purpose(purpose).key_id}")


@keys_app.command("rotate")
@guarded
def keys_rotate_command(
    path: Annotated[Path, typer.Argument(help="The keyset file to rotate in place.")],
    purpose: Annotated[str, typer.Option("--purpose", help="Purpose to give a new primary key.")],
    as_json: JsonOption = False,
) -> None:
    """Add a new primary key for PURPOSE; older keys stay so old data still decrypts."""
    rotated = _rewrite_keyset(path, lambda keys: keys.rotated(purpose))
    if as_json:
        print(json.dumps(_keyset_document(path, rotated)))
        return
    stdout.print(f"{path}: new primary key {rotated.for_purpose(purpose).key_id} for {purpose}")


def _rewrite_keyset(path: Path, change: Callable[[Keyset], Keyset]) -> Keyset:
    """Load, change and atomically rewrite a keyset, keeping its protection."""
    updated = change(load_keyset(path, passphrase=ask_passphrase))
    write_keyset(updated, path, overwrite=True)
    return updated


@keys_app.command("export-public")
@guarded
def keys_export_public_command(keyset: KeysetOption = None) -> None:
    """Print a trust file listing this keyset's public signing key(s), for verifiers."""
    from anonymizer_ml.lineage.signing import SIGN_PURPOSE, public_key_of

    keys = required_keyset(keyset)
    entries = [
        {"keyid": k.key_id, "public_key": public_key_of(k)}
        for k in keys.keys
        if k.purpose == SIGN_PURPOSE
    ]
    if not entries:
        raise KeyringError(
            f"{keys.source}: no sign key; add one: anonymizer keys add PATH --purpose sign"
        )
    print(yaml.safe_dump({"keys": entries}, sort_keys=False), end="")
