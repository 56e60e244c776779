"""The ``anonymizer`` command: a thin typer shell over the API.

User mistakes (AnonymizerError) print one ``error:`` line per problem to stderr and exit 1;
usage errors exit 2. No traceback is shown for either.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
import yaml

from anonymizer._version import __version__
from anonymizer.cli_audit import audit_app, canaries_app
from anonymizer.cli_common import (
    JsonOption,
    KeysetOption,
    SubjectKeysOption,
    ask_passphrase,
    fail,
    guarded,
    optional_keyset,
    required_keyset,
    stderr,
    stdout,
    subject_store,
)
from anonymizer.cli_export import export_app
from anonymizer.cli_policy import policy_app
from anonymizer.cli_report import TargetOption, keyset_trust, report_command, write_report
from anonymizer.cli_signals import exit_cleanly_on_signals
from anonymizer.cli_subjects import forget_command, subjects_app
from anonymizer.crypto.decrypt import decrypt_file
from anonymizer.crypto.keyset import (
    DEFAULT_PURPOSES,
    Keyset,
    generate_keyset,
    load_keyset,
    write_keyset,
)
from anonymizer.crypto.protect import new_kek, protector_from_spec
from anonymizer.detect.classify import classify_file
from anonymizer.detect.suggest import suggest_policy
from anonymizer.errors import AnonymizerError, InputError, KeyringError, PlanError, PolicyError
from anonymizer.lineage.erasures import erasures
from anonymizer.lineage.residual import blind_spots, recorded_model, residual_findings
from anonymizer.lineage.signing import SIGN_PURPOSE, public_key_of
from anonymizer.lineage.verify import (
    VerifiedDataset,
    iter_verified_files,
    load_trust,
    verify_dataset,
)
from anonymizer.policy.compile import compile_plan, schema_problems
from anonymizer.policy.load import load_policy
from anonymizer.privacy.risk import risk_report
from anonymizer.privacy.table import as_lazy
from anonymizer.report.terminal import (
    RichProgress,
    plan_table,
    print_run_summary,
    risk_table,
    run_document,
    run_warnings,
    scan_table,
)
from anonymizer.runners import local
from anonymizer.runners.inputs import discover_inputs, read_schema
from anonymizer.runners.reencrypt import reencrypt_file

app = typer.Typer(
    name="anonymizer",
    help="Make Parquet data safe for ML training, and record what was done.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(help="Create and manage keysets.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
lineage_app = typer.Typer(help="Export run lineage to other tools.", no_args_is_help=True)
app.add_typer(lineage_app, name="lineage")
app.add_typer(canaries_app, name="canaries")
app.add_typer(audit_app, name="audit")
app.add_typer(subjects_app, name="subjects")
app.add_typer(policy_app, name="policy")
app.add_typer(export_app, name="export")
keys_app.command("forget")(guarded(forget_command))
app.command("report")(guarded(report_command))


def _commitments(path: Path | None) -> list[dict[str, object]] | None:
    if path is None:
        return None
    fields = ("kind", "repetitions", "commitment")
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["canaries"]
        return [{k: entry[k] for k in fields} for entry in entries]
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(
            f"{path}: not a commitments file; use the .commitments.json 'canaries plant' wrote"
        ) from None


@app.command("run")
@guarded
def run_command(
    input_path: Annotated[str, typer.Argument(help="Parquet file, directory, glob or Hive tree.")],
    outdir: Annotated[Path, typer.Argument(help="Directory for the safe copy and manifest.")],
    policy: Annotated[Path, typer.Option("--policy", "-p", help="Policy YAML file.")],
    keyset: KeysetOption = None,
    overwrite: Annotated[bool, typer.Option(help="Replace existing outputs.")] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No summary on success (warnings still show).")
    ] = False,
    as_json: JsonOption = False,
    subject_keys: SubjectKeysOption = None,
    canaries: Annotated[
        Path | None,
        typer.Option("--canaries", help="Canary commitments to record in the manifest."),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Also write the run's HTML report to this file."),
    ] = None,
    target: TargetOption = None,
) -> None:
    """Apply POLICY to INPUT and write safe Parquet plus a manifest to OUTDIR.

    With --target, classifiers trained on the raw input and on the release are scored and the
    figures recorded in the signed manifest (only figures, never rows)."""
    rules = load_policy(policy)
    keys = optional_keyset(keyset)
    subjects = subject_store(subject_keys, keys)
    bar = RichProgress(stderr) if stderr.is_terminal and not (quiet or as_json) else None
    with bar or contextlib.nullcontext():
        result = local.run(
            rules,
            str(policy),
            input_path,
            outdir,
            keys,
            overwrite=overwrite,
            progress=bar,
            subjects=subjects,
            canaries=_commitments(canaries),
            target=target,
        )
    for warning in run_warnings(result):
        stderr.print(f"warning: {warning}", markup=False, highlight=False, soft_wrap=True)
    if as_json:
        print(json.dumps(run_document(result), indent=2))
    elif not quiet:
        print_run_summary(stdout, result)
    if report is not None:
        write_report(outdir, report, trust=keyset_trust(keys))


@app.command("validate")
@guarded
def validate_command(
    policy: Annotated[Path, typer.Argument(help="Policy YAML file.")],
    against: Annotated[
        str | None, typer.Option("--against", help="Check the policy against this data's schema.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List every problem in POLICY (and against DATA's columns); exit 1 if there are any."""
    try:
        rules = load_policy(policy)
    except PolicyError as exc:
        if not as_json:
            raise
        print(json.dumps({"policy": str(policy), "valid": False, "problems": exc.problems}))
        raise typer.Exit(exc.exit_code) from None
    problems: list[str] = []
    if against is not None:
        _, items = discover_inputs(against)
        for item in items:
            schema, _rows = read_schema(item)
            problems.extend(
                p for p in schema_problems(rules, schema, str(item.source)) if p not in problems
            )
    if as_json:
        doc = {"policy": str(policy), "valid": not problems, "problems": problems}
        print(json.dumps({**doc, "columns": len(rules.columns), "against": against}))
        if problems:
            raise typer.Exit(1)
        return
    if problems:
        raise fail(problems, 1)
    checked = f" against {against}" if against else ""
    stdout.print(f"{policy}: valid{checked} ({len(rules.columns)} column rules)")


@app.command("plan")
@guarded
def plan_command(
    policy: Annotated[Path, typer.Argument(help="Policy YAML file.")],
    data: Annotated[str, typer.Argument(help="Parquet data whose schema the plan is built for.")],
    keyset: KeysetOption = None,
    as_json: JsonOption = False,
) -> None:
    """Explain what POLICY will do to each column of DATA."""
    rules = load_policy(policy)
    _, items = discover_inputs(data)
    schema, _rows = read_schema(items[0])
    plan = compile_plan(rules, schema, optional_keyset(keyset), data_name=str(items[0].source))
    if as_json:
        print(json.dumps({"data": str(items[0].source), "steps": plan.describe()}, indent=2))
        return
    stdout.print(plan_table(plan.describe(), f"plan for {items[0].source}"))


@app.command("scan")
@guarded
def scan_command(
    data: Annotated[str, typer.Argument(help="Parquet file, directory or glob (first file).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    suggest_policy_to: Annotated[
        Path | None, typer.Option("--suggest-policy", help="Write a starting policy here.")
    ] = None,
) -> None:
    """Classify every column from a bounded sample: PII kind and share, free text, or none."""
    _, items = discover_inputs(data)
    read_schema(items[0])  # one clear error for a file that is not Parquet
    classes = classify_file(items[0].source)
    if suggest_policy_to is not None:
        if suggest_policy_to.exists():
            raise PolicyError(f"{suggest_policy_to}: exists; choose a new path for the suggestion")
        suggest_policy_to.write_text(suggest_policy(items[0].source.stem, classes))
    if as_json:
        print(json.dumps([dataclasses.asdict(c) for c in classes], indent=2))
        return
    stdout.print(scan_table(classes, str(items[0].source)))
    if suggest_policy_to is not None:
        stdout.print(f"suggested policy: {suggest_policy_to} (review before use)")


@app.command("risk")
@guarded
def risk_command(
    data: Annotated[str, typer.Argument(help="Parquet file, directory or glob, or a CSV file.")],
    qi: Annotated[str, typer.Option("--qi", help="Quasi-identifier columns, comma-separated.")],
    sensitive: Annotated[
        str | None, typer.Option("--sensitive", help="Sensitive column: report l and t.")
    ] = None,
    k: Annotated[int, typer.Option("--k", min=1, help="Threshold for 'records below k'.")] = 5,
    population: Annotated[
        Path | None,
        typer.Option(
            "--population", help="Population table (CSV/Parquet): journalist risk, k-map."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Re-identification risk over the named quasi-identifiers (one streaming aggregation)."""
    columns = [c.strip() for c in qi.split(",") if c.strip()]
    if not columns:
        raise PlanError("--qi names no column; give e.g. --qi age,zip,sex")
    frame = _table(data)
    people = _table(str(population)) if population is not None else None
    report = risk_report(frame, columns, sensitive=sensitive, k=k, population=people)
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
        return
    stdout.print(risk_table(report, data))


def _table(data: str) -> pl.LazyFrame:
    """A CSV file, or Parquet files (file, directory or glob), as one lazy frame."""
    if Path(data).suffix.lower() == ".csv":
        return as_lazy(data)
    _, items = discover_inputs(data)
    read_schema(items[0])  # one clear error for a file that is not Parquet
    return pl.scan_parquet([i.source for i in items], hive_partitioning=False)


@app.command("decrypt")
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


@app.command("verify")
@guarded
def verify_command(
    data_dir: Annotated[Path, typer.Argument(help="Output directory of an anonymizer run.")],
    trust: Annotated[Path, typer.Option("--trust", help="Trust file (accepted keys, rules).")],
    rescan: Annotated[
        bool, typer.Option("--rescan", help="Re-run detection on sampled output text.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Check signature, every file's hash and the trust policy; exit 0 ok, 1 refused, 2 usage."""
    try:
        policy = load_trust(trust)
    except AnonymizerError as exc:
        raise fail([str(exc)], 2) from None
    dataset = verify_dataset(data_dir, policy)
    manifest = dataset.manifest
    erased = erasures(data_dir, {k.keyid: k.public_key for k in policy.keys})
    if as_json:
        print(json.dumps(_verified_document(dataset, erased), indent=2))
        return
    stdout.print(
        f"verified {data_dir}: {len(dataset.digests)} file(s), "
        f"{sum(o.rows for o in manifest.outputs):,} rows, policy {manifest.policy.name} "
        f"v{manifest.policy.version} ({manifest.policy.digest[:19]}…), signed by {dataset.key_id}, "
        f"finished {manifest.finished_at}"
    )
    for entry in erased:
        cells = sum(int(n) for n in entry.get("cells", {}).values())
        stdout.print(
            f"erased: subject {entry['subject_key_id']} at {entry['erased_at']} "
            f"({cells:,} cell(s) shredded, signed)",
            soft_wrap=True,
        )
    if rescan:
        _print_rescan(dataset)


def _verified_document(dataset: VerifiedDataset, erased: list[dict[str, Any]]) -> dict[str, Any]:
    """What ``verify --json`` prints: the checks passed and the release they describe."""
    manifest = dataset.manifest
    return {
        "verified": True,
        "root": str(dataset.root),
        "signed_by": dataset.key_id,
        "files": [{"path": o.path, "rows": o.rows, "sha256": o.sha256} for o in manifest.outputs],
        "policy": manifest.policy.model_dump(),
        "finished_at": manifest.finished_at,
        "privacy": manifest.privacy,
        "erasures": erased,
    }


def _print_rescan(dataset: VerifiedDataset) -> None:
    """Residual findings now, from the verified bytes, by the run's detectors (NER included when
    the run used it), next to what the run recorded; then what the scan cannot see."""
    recorded = {(r["file"], r["column"]): r["findings"] for r in dataset.manifest.residual}
    # Encrypted columns (cells or at rest) cannot carry readable input text: skipped.
    encrypted = {str(e["column"]) for e in dataset.manifest.encryption}
    model, notes = recorded_model(dataset.manifest.plan)
    found = [
        finding
        for name, data in iter_verified_files(dataset)
        for finding in residual_findings(
            io.BytesIO(data), name, dataset.manifest.plan, skip=encrypted, model=model
        )
    ]
    if not found:
        stdout.print("rescan: no output column still carries input text")
    for item in found:
        total = sum(item["findings"].values())
        before = sum(recorded.get((item["file"], item["column"]), {}).values())
        by_type = ", ".join(f"{k}: {v}" for k, v in item["findings"].items()) or "none"
        stdout.print(
            f"rescan {item['file']} {item['column']}: {total} finding(s) in {item['sampled']} "
            f"sampled values (run recorded {before}) by {item['detectors']}; by type: {by_type}",
            soft_wrap=True,
        )
    for note in [*notes, *blind_spots(model)]:
        stdout.print(f"rescan cannot see: {note}", soft_wrap=True)


@lineage_app.command("openlineage")
@guarded
def lineage_openlineage_command(
    manifest: Annotated[Path, typer.Argument(help="A run's anonymizer-manifest.json.")],
    emit: Annotated[
        bool,
        typer.Option(
            "--emit",
            help="Send it through the client's transport (openlineage.yml, OPENLINEAGE_*).",
        ),
    ] = False,
    url: Annotated[
        str | None,
        typer.Option("--openlineage-url", help="Send it over HTTP to this OpenLineage backend."),
    ] = None,
) -> None:
    """Print (or send) an OpenLineage RunEvent with schema and column-lineage facets."""
    if importlib.util.find_spec("openlineage") is None:
        raise InputError(
            "OpenLineage export needs openlineage-python: pip install 'anonymizer[lineage]'"
        )
    from anonymizer.lineage import openlineage  # noqa: PLC0415 - the lineage extra

    if emit or url is not None:
        openlineage.emit(manifest, url)
        stdout.print(f"sent the RunEvent of {manifest} to {url or 'the configured transport'}")
        return
    print(json.dumps(openlineage.run_event(manifest), indent=2))


@keys_app.command("export-public")
@guarded
def keys_export_public_command(keyset: KeysetOption = None) -> None:
    """Print a trust file listing this keyset's public signing key(s), for verifiers."""
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


def _version_callback(value: bool) -> None:
    if value:
        stdout.print(f"anonymizer {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True)
    ] = False,
) -> None:
    """Make Parquet data safe for ML training, and record what was done."""


def entrypoint() -> None:
    """Console-script entry point."""
    exit_cleanly_on_signals()
    app(prog_name="anonymizer")
