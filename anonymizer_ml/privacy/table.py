"""The histogram of distinct quasi-identifier tuples, built by one streaming aggregation.

Only this histogram (distinct QI tuples, with the sensitive value when one is named, and a count)
lives in memory; the records themselves are never collected. Values are encoded as integers per
column and each hierarchy level as a lookup array, so a lattice node's equivalence classes come
from a few NumPy gathers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from anonymizer_ml.errors import InputError, PlanError
from anonymizer_ml.privacy.hierarchy import TOP, Hierarchy, HierarchySource, TableHierarchy

Source = str | Path | pl.LazyFrame | pl.DataFrame
HierarchyArg = str | Path | HierarchySource
IntArray = npt.NDArray[np.int64]
COUNT = "__anonymizer_count"


def _sniff_separator(path: Path) -> str:
    with path.open(encoding="utf-8", errors="replace") as handle:
        header = handle.readline()
    return max((";", ",", "\t", "|"), key=header.count)


def as_lazy(source: Source) -> pl.LazyFrame:
    """A LazyFrame over a Parquet file/directory/glob, a CSV file, or an in-memory frame."""
    if isinstance(source, pl.LazyFrame):
        return source
    if isinstance(source, pl.DataFrame):
        return source.lazy()
    path = Path(source)
    if path.suffix.lower() in (".csv", ".tsv", ".txt"):
        if not path.is_file():
            raise InputError(f"{path}: file not found; check the path")
        return pl.scan_csv(path, separator=_sniff_separator(path), infer_schema_length=10_000)
    if path.is_dir():
        return pl.scan_parquet(path / "**" / "*.parquet", hive_partitioning=True)
    if not path.exists() and not any(ch in str(path) for ch in "*?["):
        raise InputError(f"{path}: file not found; check the path")
    return pl.scan_parquet(path)


def as_hierarchy(column: str, given: HierarchyArg) -> HierarchySource:
    """A path is read as an ARX CSV hierarchy; anything else must already be a source."""
    if isinstance(given, str | Path):
        return TableHierarchy.from_csv(Path(given))
    if not hasattr(given, "materialize"):
        raise PlanError(f"hierarchy for {column!r} must be a CSV path or a hierarchy object")
    return given


@dataclass(frozen=True)
class QiTable:
    """Distinct QI tuples (``codes``: one row of value indices per QI) with record ``counts``."""

    columns: tuple[str, ...]
    hierarchies: tuple[Hierarchy, ...]
    codes: IntArray
    counts: IntArray
    sensitive: IntArray | None
    sensitive_values: tuple[str, ...]
    level_codes: tuple[tuple[IntArray, ...], ...]
    level_groups: tuple[tuple[int, ...], ...]
    numeric: tuple[bool, ...]
    free: tuple[bool, ...] = ()  # QIs given without a hierarchy (Mondrian splits their values)

    @property
    def total(self) -> int:
        """Number of records the histogram stands for."""
        return int(self.counts.sum())

    @property
    def heights(self) -> tuple[int, ...]:
        """Levels per QI (level 0 included)."""
        return tuple(h.height for h in self.hierarchies)

    _maps: dict[tuple[int, int, int], IntArray] = field(default_factory=dict, repr=False)

    def up(self, j: int, low: int, high: int) -> IntArray:
        """For QI ``j``: group index at level ``low`` → group index at level ``high`` (cached).

        Level 0's groups are the values themselves, so ``up(j, 0, l)`` is the level table.
        Hierarchies nest (checked when they are built), so the map is well defined.
        """
        cached = self._maps.get((j, low, high))
        if cached is None:
            if low == 0:
                cached = self.level_codes[j][high]
            else:
                cached = np.zeros(self.level_groups[j][low], dtype=np.int64)
                cached[self.level_codes[j][low]] = self.level_codes[j][high]
            self._maps[(j, low, high)] = cached
        return cached


def check_columns(schema: pl.Schema, wanted: Sequence[str], what: str) -> None:
    """Raise PlanError naming the first ``wanted`` column the data does not have."""
    for column in wanted:
        if column not in schema:
            raise PlanError(
                f"{what} column {column!r} is not in the data (columns: "
                f"{', '.join(schema.names())}); fix the column name"
            )


def histogram(frame: pl.LazyFrame, columns: Sequence[str], *, text: bool = True) -> pl.DataFrame:
    """Distinct tuples of ``columns`` (as text unless ``text`` is false) with record counts.

    One streaming aggregation: only the distinct tuples are ever held in memory. A ``frame``
    that is itself a histogram (it has the count column: per-block histograms of a distributed
    run, concatenated) is merged, its counts summed.
    """
    keys = [pl.col(c).cast(pl.String) if text else pl.col(c) for c in columns]
    counted = COUNT in frame.collect_schema()
    count = pl.col(COUNT).sum() if counted else pl.len()
    return _collect(frame.group_by(keys).agg(count.alias(COUNT)))


# Two independently seeded 64-bit hashes of a tuple; the second only checks the first.
_KEY_SEED, _CHECK_SEED = 0x5EED_0001, 0x9E37_79B9_7F4A_7C15


def tuple_hash(columns: Sequence[str], seed: int) -> pl.Expr:
    """A 64-bit hash of each row's tuple of ``columns``."""
    return pl.struct(list(columns)).hash(seed=seed)


def class_sizes(frame: pl.LazyFrame, columns: Sequence[str]) -> IntArray:
    """The record count of every distinct tuple of ``columns`` (in no particular order).

    Grouping on one 64-bit hash of the tuple is ~2x faster than grouping on the columns (measured
    at 10 M rows, strings and dates). Exactness is kept: each group also carries the min and max
    of a second, independently seeded hash, and a group where they differ holds two tuples — then
    the exact group-by runs instead. Only a collision of both hashes at once (about n² / 2¹²⁹)
    would go unseen.
    """
    check = tuple_hash(columns, _CHECK_SEED)
    grouped = _collect(
        frame.group_by(tuple_hash(columns, _KEY_SEED).alias("__anonymizer_key")).agg(
            pl.len().alias(COUNT), check.min().alias("low"), check.max().alias("high")
        )
    )
    if (grouped["low"] != grouped["high"]).any():
        grouped = histogram(frame, columns, text=False)
    return np.asarray(grouped[COUNT].to_numpy(), dtype=np.int64)


def _collect(query: pl.LazyFrame) -> pl.DataFrame:
    try:
        return query.collect(engine="streaming")
    except (pl.exceptions.PolarsError, OSError) as exc:
        reason = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0][:200]
        raise InputError(f"cannot read the data ({reason}); check that it is valid") from None


def _encode(column: pl.Series, values: Sequence[str]) -> IntArray:
    mapped = column.replace_strict(list(values), list(range(len(values))), return_dtype=pl.Int64)
    return np.asarray(mapped.to_numpy(), dtype=np.int64)


def build_table(
    source: Source,
    quasi_identifiers: Sequence[str],
    hierarchies: Mapping[str, HierarchyArg],
    sensitive: str | None = None,
    *,
    hierarchy_optional: bool = False,
) -> QiTable:
    """Aggregate ``source`` into the encoded QI histogram; check hierarchies cover every value.

    With ``hierarchy_optional`` (Mondrian), a QI may come without a hierarchy: its values are
    split directly (numbers at the median, other values as ordered sets), and it gets a
    two-level value → ``*`` hierarchy here.
    """
    if not quasi_identifiers:
        raise PlanError("no quasi-identifiers given; name at least one column")
    if len(set(quasi_identifiers)) != len(quasi_identifiers):
        raise PlanError("a quasi-identifier is named twice; name each column once")
    frame = as_lazy(source)
    schema = frame.collect_schema()
    check_columns(schema, quasi_identifiers, "quasi-identifier")
    if sensitive is not None:
        check_columns(schema, [sensitive], "sensitive")
        if sensitive in quasi_identifiers:
            raise PlanError(f"{sensitive!r} is both a quasi-identifier and the sensitive column")
    numeric = tuple(schema[q].is_numeric() for q in quasi_identifiers)
    missing = [q for q in quasi_identifiers if q not in hierarchies and not hierarchy_optional]
    if missing:
        raise PlanError(f"no hierarchy given for quasi-identifier {missing[0]!r}; add one")
    columns = [*quasi_identifiers, *([sensitive] if sensitive else [])]
    hist = histogram(frame, columns)
    if hist.height == 0:
        raise PlanError("the data has no records; nothing to anonymise")
    for column in columns:
        if hist[column].null_count():
            raise PlanError(
                f"column {column!r} has null values; fill them with a value the hierarchy "
                "lists (e.g. 'unknown') before anonymising"
            )
    built, codes, level_codes, level_groups = [], [], [], []
    for q in quasi_identifiers:
        values = sorted(hist[q].unique().to_list())
        given = hierarchies.get(q)
        if given is None and schema[q].is_numeric():
            values = sorted(values, key=float)
        hierarchy = (
            as_hierarchy(q, given).materialize(q, values)
            if given is not None
            else Hierarchy(q, tuple(values), (tuple(values), tuple(TOP for _ in values)))
        )
        built.append(hierarchy)
        codes.append(_encode(hist[q], values))
        per_level = [hierarchy.group_codes(level) for level in range(hierarchy.height)]
        level_codes.append(tuple(np.asarray(c, dtype=np.int64) for c, _ in per_level))
        level_groups.append(tuple(len(labels) for _, labels in per_level))
    sens_values: tuple[str, ...] = ()
    sens_codes = None
    if sensitive is not None:
        sens_values = tuple(sorted(hist[sensitive].unique().to_list()))
        sens_codes = _encode(hist[sensitive], sens_values)
    return QiTable(
        columns=tuple(quasi_identifiers),
        hierarchies=tuple(built),
        codes=np.stack(codes, axis=0),
        counts=np.asarray(hist[COUNT].to_numpy(), dtype=np.int64),
        sensitive=sens_codes,
        sensitive_values=sens_values,
        level_codes=tuple(level_codes),
        level_groups=tuple(level_groups),
        numeric=numeric,
        free=tuple(q not in hierarchies for q in quasi_identifiers),
    )


def combine(parts: Sequence[IntArray], radices: Sequence[int]) -> tuple[IntArray, int]:
    """One integer key per row from several code columns, and the key's range.

    Mixed radix; when the range would overflow int64 the key so far is compacted to dense ids.
    """
    key = np.zeros(len(parts[0]), dtype=np.int64)
    span = 1
    for codes, radix in zip(parts, radices, strict=True):
        if span * radix >= 2**62:
            uniques, key = np.unique(key, return_inverse=True)
            span = len(uniques)
        key = key * radix + codes
        span *= radix
    return key, span
