"""``anonymizer canaries …`` and ``anonymizer audit …``: plant secrets, then measure them."""

from __future__ import annotations

import importlib
import json
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, cast

import typer
from rich.table import Table

from anonymizer_ml.cli_common import guarded, stdout
from anonymizer_ml.errors import InputError, OutputError, PlanError

canaries_app = typer.Typer(help="Plant synthetic secrets before anonymising.", no_args_is_help=True)
audit_app = typer.Typer(help="Measure what canaries reveal.", no_args_is_help=True)

CanariesOption = Annotated[
    Path, typer.Option("--canaries", help="Canary file written by 'canaries plant' (secret).")
]


def commitments_path(secret_file: Path) -> Path:
    """Where the public commitments go: beside the canary file."""
    return secret_file.with_name(secret_file.stem + ".commitments.json")


@canaries_app.command("plant")
@guarded
def plant_command(
    source: Annotated[Path, typer.Argument(help="Raw Parquet file to plant into.")],
    target: Annotated[Path, typer.Argument(help="Where the planted copy goes (new file).")],
    column: Annotated[str, typer.Option("--column", help="Text column to plant into.")],
    canaries_file: Annotated[
        Path, typer.Option("--canaries", help="Canary file to create (keep it secret).")
    ],
    counts: Annotated[str, typer.Option(help="Repetition counts, comma-separated.")] = "1,4,16",
    per_count: Annotated[int, typer.Option(min=1, help="Canaries per kind and count.")] = 2,
) -> None:
    """Append canary sentences to COLUMN in distinct rows; write the copy and the canary file."""
    import polars as pl

    from anonymizer_ml.dp.canaries import plant
    from anonymizer_ml.runners.inputs import discover_inputs, read_schema

    for path in (target, canaries_file, commitments_path(canaries_file)):
        if path.exists():
            raise OutputError(f"{path}: exists; choose a new path")
    _, items = discover_inputs(str(source))
    read_schema(items[0])
    frame = pl.read_parquet(items[0].source)  # planting is a small, pre-pipeline audit step
    try:
        repetitions = [int(c) for c in counts.split(",") if c.strip()]
    except ValueError:
        raise PlanError(f"--counts {counts!r} must be whole numbers, e.g. 1,4,16") from None
    planted, canaries = plant(frame, column, counts=repetitions, per_count=per_count)
    tmp = target.with_name(f".{target.name}.tmp")
    planted.write_parquet(tmp)
    os.replace(tmp, target)
    canaries.save(canaries_file)
    commitments_path(canaries_file).write_text(
        json.dumps({"column": column, "canaries": canaries.commitments()}, indent=2) + "\n"
    )
    stdout.print(
        f"planted {len(canaries.canaries)} canaries into {target}; secrets: {canaries_file} "
        f"(keep private); commitments: {commitments_path(canaries_file)} "
        "(pass to 'anonymizer run --canaries')"
    )


@audit_app.command("canaries")
@guarded
def survival_command(
    data: Annotated[str, typer.Argument(help="Anonymised output: file, directory or glob.")],
    canaries_file: CanariesOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """How many canaries survived anonymisation, per kind: the detectors' recall on them."""
    import polars as pl

    from anonymizer_ml.dp.canaries import CanarySet, survival
    from anonymizer_ml.runners.inputs import discover_inputs

    canaries = CanarySet.load(canaries_file)
    _, items = discover_inputs(data)
    report = survival(canaries, [pl.scan_parquet(i.source) for i in items])
    if as_json:
        print(json.dumps(report, indent=2))
        return
    table = Table(title=f"canaries in {data}", title_justify="left")
    for name in ("kind", "planted", "survived", "recall"):
        table.add_column(name)
    for kind, entry in report.items():
        recall = 1 - entry["survived"] / entry["planted"]
        table.add_row(kind, str(entry["planted"]), str(entry["survived"]), f"{recall:.0%}")
    stdout.print(table)


def _scorer(spec: str) -> Callable[[list[str]], Sequence[float]]:
    module_name, _, attribute = spec.partition(":")
    try:
        scorer = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError):
        raise InputError(
            f"--scorer {spec!r}: cannot import it; give module:function, the function taking a "
            "list of texts and returning their losses"
        ) from None
    return cast(Callable[[list[str]], Sequence[float]], scorer)


@audit_app.command("exposure")
@guarded
def exposure_command(
    canaries_file: CanariesOption,
    scorer: Annotated[
        str, typer.Option("--scorer", help="module:function returning a loss per text.")
    ],
    candidates: Annotated[int, typer.Option(min=10, help="Random candidates per canary.")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Exposure of every canary under a trained model (The Secret Sharer), per repetition."""
    from anonymizer_ml.dp.canaries import CanarySet, exposure, exposure_by_repetitions

    results = exposure(CanarySet.load(canaries_file), _scorer(scorer), candidates=candidates)
    buckets = exposure_by_repetitions(results)
    if as_json:
        print(json.dumps({str(k): v for k, v in buckets.items()}, indent=2))
        return
    table = Table(title="canary exposure (bits)", title_justify="left")
    for name in ("repetitions", "mean exposure", "maximum possible"):
        table.add_column(name)
    ceiling = math.log2(candidates + 1)
    for count, bits in buckets.items():
        table.add_row(str(count), f"{bits:.2f}", f"{ceiling:.2f}")
    stdout.print(table)
