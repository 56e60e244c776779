"""The policies that ship with the package: ``anonymizer policy init --preset NAME`` writes one
out to edit. The repository's ``rules/`` folder is this one (a link), so the examples in the
docs and the presets in the wheel are the same files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from anonymizer_ml.errors import OutputError, PolicyError

PRESETS = Path(__file__).resolve().parent
SUFFIX = ".yaml"


def preset_names() -> list[str]:
    """The shipped presets' names (file names without ``.yaml``)."""
    return sorted(p.stem for p in PRESETS.glob(f"*{SUFFIX}"))


def preset_path(name: str) -> Path:
    """The shipped file of preset ``name``; a PolicyError naming the presets otherwise."""
    path = PRESETS / f"{name}{SUFFIX}"
    if name not in preset_names():
        raise PolicyError(f"no preset {name!r}; presets: {', '.join(preset_names())}")
    return path


def write_preset(name: str, destination: Path, *, overwrite: bool = False) -> list[Path]:
    """Copy preset ``name`` to ``destination`` (a file), with the hierarchy files it names
    beside it (``hierarchies/…`` relative to the policy, as in the package). Returns the files
    written; refuses to replace an existing one unless ``overwrite``."""
    source = preset_path(name)
    text = source.read_text(encoding="utf-8")
    targets = [(source, destination)]
    hierarchies = PRESETS / "hierarchies"
    if "hierarchies/" in text and hierarchies.is_dir():
        for extra in sorted(p for p in hierarchies.rglob("*") if p.is_file()):
            relative = extra.relative_to(PRESETS).as_posix()
            if relative in text:
                targets.append((extra, destination.parent / relative))
    clashes = [str(t) for _, t in targets if t.exists()]
    if clashes and not overwrite:
        raise OutputError(f"{clashes[0]} exists; choose another path or pass --overwrite")
    for origin, target in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        shutil.copyfile(origin, partial)
        os.replace(partial, target)  # never a half-written policy
    return [t for _, t in targets]
