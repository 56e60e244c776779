"""``anonymizer policy``: start a policy from a shipped preset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from anonymizer_ml.cli_common import guarded, stdout
from anonymizer_ml.presets import preset_names, write_preset

policy_app = typer.Typer(help="Start a policy from a shipped preset.", no_args_is_help=True)


@policy_app.command("init")
@guarded
def init_command(
    destination: Annotated[Path, typer.Argument(help="Policy file to write.")],
    preset: Annotated[
        str, typer.Option("--preset", help=f"One of: {', '.join(preset_names())}.")
    ] = "customers",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing files.")] = False,
) -> None:
    """Write preset PRESET to DESTINATION (with the hierarchy files it names), to edit."""
    for path in write_preset(preset, destination, overwrite=overwrite):
        stdout.print(f"wrote {path}", markup=False, highlight=False)


@policy_app.command("presets")
@guarded
def presets_command() -> None:
    """List the shipped presets."""
    for name in preset_names():
        stdout.print(name, markup=False, highlight=False)
