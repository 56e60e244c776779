"""The ``anonymizer`` command: a thin typer shell over the API.

User mistakes (AnonymizerError) print one ``error:`` line per problem to stderr and exit 1;
usage errors exit 2. No traceback is shown for either.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from anonymizer_ml._version import __version__
from anonymizer_ml.cli_audit import audit_app, canaries_app
from anonymizer_ml.cli_common import (
    JsonOption,
    KeysetOption,
    SubjectKeysOption,
    fail,
    guarded,
    optional_keyset,
    stderr,
    stdout,
    subject_store,
)
from anonymizer_ml.cli_export import export_app
from anonymizer_ml.cli_keys import decrypt_command, keys_app
from anonymizer_ml.cli_policy import policy_app
from anonymizer_ml.cli_report import TargetOption, keyset_trust, report_command, write_report
from anonymizer_ml.cli_signals import exit_cleanly_on_signals
from anonymizer_ml.cli_subjects import forget_command, subjects_app
from anonymizer_ml.cli_verify import lineage_app, verify_command
from anonymizer_ml.errors import InputError, PlanError, PolicyError

if TYPE_CHECKING:
    import polars as pl

    from anonymizer_ml.crypto.keyset import Keyset
    from anonymizer_ml.lineage.outcome import RunResult
    from anonymizer_ml.policy.models import Policy
    from anonymizer_ml.report.terminal import RichProgress


class Engine(enum.StrEnum):
    """Where ``run`` executes the plan."""

    local = "local"
    ray = "ray"


# The command modules import what a command runs inside its body (Polars, the runner, the
# detectors, pydantic models: ~1 s), so that one command never pays for the others' start-up.
app = typer.Typer(
    name="anonymizer",
    help="Make Parquet data safe for ML training, and record what was done.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(keys_app, name="keys")
app.add_typer(lineage_app, name="lineage")
app.add_typer(canaries_app, name="canaries")
app.add_typer(audit_app, name="audit")
app.add_typer(subjects_app, name="subjects")
app.add_typer(policy_app, name="policy")
app.add_typer(export_app, name="export")
keys_app.command("forget")(guarded(forget_command))


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
    engine: Annotated[
        Engine, typer.Option(help="local: stream on this machine; ray: an actor pool on Ray Data.")
    ] = Engine.local,
    ray_address: Annotated[
        str | None,
        typer.Option("--ray-address", help="Ray cluster to join (default: start a local Ray)."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Ray actors in the pool (default: the cluster's CPUs).", min=1),
    ] = None,
) -> None:
    """Apply POLICY to INPUT and write safe Parquet plus a manifest to OUTDIR.

    With --target, raw-vs-release classifier scores go into the signed manifest (never rows).
    """
    from anonymizer_ml.policy.load import load_policy
    from anonymizer_ml.report.terminal import (
        RichProgress,
        print_run_summary,
        run_document,
        run_warnings,
    )

    rules = load_policy(policy)
    keys = optional_keyset(keyset)
    if engine is Engine.ray:
        if subject_keys is not None or target is not None:
            raise fail(["--subject-keys and --target run with --engine local only"], 2)
        from anonymizer_ml.runners import ray as ray_runner

        result = ray_runner.run(
            rules,
            str(policy),
            input_path,
            outdir,
            keys,
            overwrite=overwrite,
            workers=workers,
            address=ray_address,
            canaries=_commitments(canaries),
        )
    elif ray_address is not None or workers is not None:
        raise fail(["--ray-address and --workers go with --engine ray"], 2)
    else:
        bar = RichProgress(stderr) if stderr.is_terminal and not (quiet or as_json) else None
        with bar or contextlib.nullcontext():
            result = _run_local(
                (rules, policy, keys),
                input_path,
                outdir,
                overwrite,
                bar,
                subject_keys,
                (canaries, target),
            )
    for warning in run_warnings(result):
        stderr.print(f"warning: {warning}", markup=False, highlight=False, soft_wrap=True)
    if as_json:
        print(json.dumps(run_document(result), indent=2))
    elif not quiet:
        print_run_summary(stdout, result)
    if report is not None:
        write_report(outdir, report, trust=keyset_trust(keys))


def _run_local(
    given: tuple[Policy, Path, Keyset | None],
    input_path: str,
    outdir: Path,
    overwrite: bool,
    bar: RichProgress | None,
    subject_keys: Path | None,
    extras: tuple[Path | None, str | None],
) -> RunResult:
    """``run`` on the local streaming runner."""
    from anonymizer_ml.runners import local

    rules, policy, keys = given
    canaries, target = extras
    return local.run(
        rules,
        str(policy),
        input_path,
        outdir,
        keys,
        overwrite=overwrite,
        progress=bar,
        subjects=subject_store(subject_keys, keys),
        canaries=_commitments(canaries),
        target=target,
    )


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
    from anonymizer_ml.policy.compile import schema_problems
    from anonymizer_ml.policy.load import load_policy
    from anonymizer_ml.runners.inputs import discover_inputs, read_schema

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
    from anonymizer_ml.policy.compile import compile_plan
    from anonymizer_ml.policy.load import load_policy
    from anonymizer_ml.report.terminal import plan_table
    from anonymizer_ml.runners.inputs import discover_inputs, read_schema

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
    from anonymizer_ml.detect.classify import classify_file
    from anonymizer_ml.detect.suggest import suggest_policy
    from anonymizer_ml.report.terminal import scan_table
    from anonymizer_ml.runners.inputs import discover_inputs, read_schema

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
    from anonymizer_ml.privacy.risk import risk_report
    from anonymizer_ml.report.terminal import risk_table

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
    import polars as pl

    from anonymizer_ml.privacy.table import as_lazy
    from anonymizer_ml.runners.inputs import discover_inputs, read_schema

    if Path(data).suffix.lower() == ".csv":
        return as_lazy(data)
    _, items = discover_inputs(data)
    read_schema(items[0])  # one clear error for a file that is not Parquet
    return pl.scan_parquet([i.source for i in items], hive_partitioning=False)


# Commands defined in their own modules, listed after the ones above in --help.
app.command("decrypt")(decrypt_command)
app.command("verify")(verify_command)
app.command("report")(guarded(report_command))


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
