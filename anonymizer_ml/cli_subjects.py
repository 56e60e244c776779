"""``anonymizer subjects find`` and ``anonymizer keys forget``: erasure of one data subject.

``find`` lists the cells of a release sealed under a subject's own key; ``forget`` deletes that
key (crypto-shredding: those cells can never be decrypted again, decrypt yields null for them)
and, with ``--record OUTDIR``, appends a signed entry to the release's erasure log, so
``verify`` reports which subjects were erased and when.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from anonymizer_ml.cli_common import (
    JsonOption,
    KeysetOption,
    SubjectKeysOption,
    guarded,
    required_keyset,
    stdout,
    subject_store,
)
from anonymizer_ml.errors import KeyringError, ManifestError, PlanError

if TYPE_CHECKING:
    from anonymizer_ml.crypto.keyset import Keyset
    from anonymizer_ml.crypto.subjects import SubjectKeyStore
    from anonymizer_ml.policy.models import EncryptRule, Policy

subjects_app = typer.Typer(help="Find and erase one data subject's cells.", no_args_is_help=True)

PolicyOption = Annotated[
    Path, typer.Option("--policy", "-p", help="The policy that encrypted the data.")
]


def _store(path: Path | None, keyset: Keyset, command: str) -> SubjectKeyStore:
    store = subject_store(path, keyset)
    if store is None:
        raise KeyringError(f"{command} needs --subject-keys PATH (or ANONYMIZER_SUBJECT_KEYS)")
    return store


def _per_subject(policy: Policy) -> dict[str, EncryptRule]:
    """The columns the policy seals per subject (``encrypt: {subject: …}``); PlanError if none."""
    from anonymizer_ml.policy.models import EncryptRule

    rules = {c: r for c, r in policy.columns.items() if isinstance(r, EncryptRule) and r.subject}
    if not rules:
        raise PlanError(
            f"policy {policy.name!r} encrypts no column per subject (encrypt: {{subject: …}}); "
            "only such cells can be found and erased"
        )
    return rules


def _cells(data: str, policy: Policy, key_id: str) -> dict[str, int]:
    from anonymizer_ml.lineage.erasures import subject_cells
    from anonymizer_ml.runners.inputs import discover_inputs

    root, items = discover_inputs(data)
    outputs: dict[str, str] = {c: r.output for c, r in _per_subject(policy).items()}
    return subject_cells([i.source for i in items], root, outputs, key_id)


def _token_rows(data: str, policy: Policy, subject: str, keyset: Keyset) -> dict[str, int]:
    from anonymizer_ml.lineage.erasures import token_rows
    from anonymizer_ml.runners.inputs import discover_inputs

    root, items = discover_inputs(data)
    return token_rows([i.source for i in items], root, _tokens(policy, subject, keyset))


def _tokens(policy: Policy, subject: str, keyset: Keyset) -> dict[str, str]:
    """The keyed token the policy makes of ``subject`` in each tokenised subject column."""
    import polars as pl

    from anonymizer_ml.policy.compile import compile_plan
    from anonymizer_ml.policy.models import HashTokenRule, Policy

    named = {r.subject for r in _per_subject(policy).values() if r.subject}
    tokens = {}
    for column in sorted(named):
        rule = policy.columns.get(column)
        if isinstance(rule, HashTokenRule):
            one = pl.DataFrame({column: [subject]})
            alone = Policy(name=policy.name, dataset=policy.dataset, columns={column: rule})
            plan = compile_plan(alone, one.schema, keyset)
            tokens[column] = str(plan.apply(one.lazy()).collect().item())
    return tokens


@subjects_app.command("find")
@guarded
def find_command(
    subject: Annotated[str, typer.Argument(help="The subject's value (e.g. a customer id).")],
    data: Annotated[str, typer.Argument(help="Released Parquet file, directory or glob.")],
    policy: PolicyOption,
    subject_keys: SubjectKeysOption = None,
    keyset: KeysetOption = None,
    as_json: JsonOption = False,
) -> None:
    """Count the cells of DATA sealed under SUBJECT's key, and the rows holding its token."""
    from anonymizer_ml.policy.load import load_policy

    keys = required_keyset(keyset)
    store = _store(subject_keys, keys, "subjects find")
    rules = load_policy(policy)
    key_id = store.key_id(subject)
    cells = _cells(data, rules, key_id)
    rows = _token_rows(data, rules, subject, keys)
    if as_json:
        erased = store.erased_at(subject)
        doc = {"subject_key_id": key_id, "erased_at": erased, "cells": cells, "token_rows": rows}
        print(json.dumps(doc))
        return
    if not cells and not rows:
        stdout.print(
            f"nothing in {data} is sealed under that subject's key ({key_id}) or holds its token"
        )
    for where, count in cells.items():
        stdout.print(f"{where}: {count:,} cell(s) under {key_id}")
    for where, count in rows.items():
        stdout.print(f"{where}: {count:,} row(s) hold the subject's token")


def forget_command(
    subject: Annotated[str, typer.Argument(help="The subject's value (e.g. a customer id).")],
    subject_keys: SubjectKeysOption = None,
    keyset: KeysetOption = None,
    record: Annotated[
        list[Path] | None,
        typer.Option("--record", help="Release directory to record the erasure in (repeatable)."),
    ] = None,
    policy: Annotated[
        Path | None, typer.Option("--policy", "-p", help="Policy of the releases (--record).")
    ] = None,
) -> None:
    """Crypto-shred SUBJECT: delete its key, so its encrypted cells can never be decrypted."""
    from anonymizer_ml.lineage.erasures import record_erasure
    from anonymizer_ml.lineage.manifest import MANIFEST_NAME
    from anonymizer_ml.lineage.signing import SIGN_PURPOSE
    from anonymizer_ml.policy.load import load_policy

    keys = required_keyset(keyset)
    store = _store(subject_keys, keys, "keys forget")
    releases = record or []
    if releases and policy is None:
        raise PlanError("--record needs --policy, to know which columns hold the subject")
    rules = load_policy(policy) if policy is not None else None
    if releases and SIGN_PURPOSE not in keys.purposes:
        raise KeyringError(f"{keys.source}: --record signs the erasure and needs a sign key")
    for release in releases:
        if not (release / MANIFEST_NAME).is_file():
            raise ManifestError(f"{release}: no manifest here; --record takes a release directory")
    key_id = store.key_id(subject)
    found = {r: _cells(str(r), rules, key_id) for r in releases if rules is not None}
    if not store.forget(subject):
        when = store.erased_at(subject)
        if when is not None:
            raise KeyringError(f"{store.path}: that subject was already erased ({when})")
        raise KeyringError(f"{store.path}: no key for that subject (nothing was encrypted for it)")
    store.save()
    stdout.print(f"{store.path}: subject key deleted; its cells can no longer be decrypted")
    for release, cells in found.items():
        entry = {"subject_key_id": key_id, "erased_at": store.erased_at(subject), "cells": cells}
        record_erasure(release, entry, keys.for_purpose(SIGN_PURPOSE))
        stdout.print(f"{release}: erasure recorded ({sum(cells.values()):,} cell(s) shredded)")
