"""``anonymizer export …``: describe a release for the tools around it (Croissant)."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Annotated

import typer

from anonymizer_ml.cli_common import guarded, stdout
from anonymizer_ml.errors import InputError, OutputError

export_app = typer.Typer(help="Describe a release for other tools.", no_args_is_help=True)


@export_app.command("croissant")
@guarded
def croissant_command(
    outdir: Annotated[Path, typer.Argument(help="Output directory of an anonymizer run.")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Where it goes (default: OUTDIR-croissant.json)."),
    ] = None,
) -> None:
    """Write MLCommons Croissant JSON-LD: files with SHA-256s, fields, and what was done to them."""
    if importlib.util.find_spec("mlcroissant") is None:
        raise InputError(
            "Croissant export needs mlcroissant: pip install 'anonymizer-ml[croissant]'"
        )
    from anonymizer_ml.lineage import croissant

    target = output or croissant.default_path(outdir)
    document = croissant.croissant_metadata(outdir, target)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        tmp.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"{target}: cannot write ({exc.strerror}); choose another path") from None
    stdout.print(f"croissant: {target}")
