"""Resolve an input argument (file, directory, glob, Hive tree) to Parquet files to process."""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from anonymizer_ml.errors import InputError

_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class InputFile:
    """One Parquet file to process and its path relative to the input root (mirrored on output)."""

    source: Path
    relative: Path

    @property
    def partition_keys(self) -> list[str]:
        """Hive partition column names found in the relative path (``key=value`` folders)."""
        return [part.split("=", 1)[0] for part in self.relative.parent.parts if "=" in part]


def _visible(path: Path, root: Path) -> bool:
    return not any(p.startswith((".", "_")) for p in path.relative_to(root).parts)


def _glob_root(pattern: str) -> Path:
    fixed: list[str] = []
    for part in Path(pattern).parts:
        if _GLOB_CHARS & set(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def discover_inputs(spec: str) -> tuple[Path, list[InputFile]]:
    """The input root and its Parquet files, sorted; InputError if there are none."""
    path = Path(spec)
    if path.is_file():
        return path.parent, [InputFile(path, Path(path.name))]
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.parquet") if p.is_file() and _visible(p, path))
        if not files:
            raise InputError(f"{spec}: directory holds no .parquet files; point at Parquet data")
        return path, [InputFile(p, p.relative_to(path)) for p in files]
    if _GLOB_CHARS & set(spec):
        root = _glob_root(spec)
        matches = sorted(Path(p) for p in glob.glob(spec, recursive=True) if Path(p).is_file())
        if not matches:
            raise InputError(f"{spec}: the pattern matches no files; check the glob")
        return root, [InputFile(p, p.relative_to(root)) for p in matches]
    raise InputError(f"{spec}: no such file or directory; check the input path")


def read_schema(item: InputFile) -> tuple[pl.Schema, int]:
    """The file's Polars schema and row count, from its footer; InputError if not Parquet."""
    try:
        rows = pq.read_metadata(item.source).num_rows
        schema = pl.scan_parquet(item.source, hive_partitioning=False).collect_schema()
    except (pa.ArrowException, OSError, pl.exceptions.PolarsError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise InputError(
            f"{item.source}: not a readable Parquet file ({reason[:160]}); "
            "check that it is a complete Parquet file"
        ) from None
    return schema, rows
