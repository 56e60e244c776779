"""Generalisation hierarchies: ARX's CSV format and declarative builders.

A hierarchy maps each original value (level 0) to a coarser label at every level up to the top,
usually ``*``. The search works on a *materialised* hierarchy: the table restricted to the values
that occur in the data, checked to be nested (every level-l group lies inside one level-l+1 group,
which is what makes information loss monotonic over the lattice).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

from anonymizer_ml.errors import PlanError

TOP = "*"


@dataclass(frozen=True)
class Hierarchy:
    """A materialised hierarchy: ``labels[l][i]`` is the level-l label of ``values[i]``."""

    column: str
    values: tuple[str, ...]
    labels: tuple[tuple[str, ...], ...]

    @property
    def height(self) -> int:
        """Number of levels, level 0 (the original values) included."""
        return len(self.labels)

    def mapping(self, level: int) -> dict[str, str]:
        """Original value → label at ``level``."""
        return dict(zip(self.values, self.labels[level], strict=True))

    def group_codes(self, level: int) -> tuple[list[int], list[str]]:
        """Per value, the index of its level-``level`` group; and the group labels."""
        index: dict[str, int] = {}
        codes = [index.setdefault(label, len(index)) for label in self.labels[level]]
        return codes, list(index)


class HierarchySource(Protocol):
    """Anything that can build a hierarchy for the distinct values one column holds."""

    def materialize(self, column: str, values: Sequence[str]) -> Hierarchy:
        """The hierarchy restricted to ``values`` (the column's distinct values, as text)."""


def _checked(column: str, values: Sequence[str], rows: list[list[str]]) -> Hierarchy:
    heights = {len(r) for r in rows}
    if len(heights) > 1:
        raise PlanError(
            f"hierarchy for {column!r}: rows have different numbers of levels "
            f"({sorted(heights)}); give every value the same number of levels"
        )
    levels = tuple(tuple(r[level] for r in rows) for level in range(heights.pop() if rows else 1))
    for level in range(len(levels) - 1):
        parent: dict[str, str] = {}
        for child, up in zip(levels[level], levels[level + 1], strict=True):
            if parent.setdefault(child, up) != up:
                raise PlanError(
                    f"hierarchy for {column!r}: level-{level} group {child!r} splits into "
                    f"{parent[child]!r} and {up!r} at level {level + 1}; a hierarchy must nest"
                )
    return Hierarchy(column, tuple(values), levels)


@dataclass(frozen=True)
class TableHierarchy:
    """An explicit table (ARX CSV): original value followed by its label at each level."""

    rows: dict[str, tuple[str, ...]]
    source: str = "<table>"

    @classmethod
    def from_csv(cls, path: Path, delimiter: str = ";") -> TableHierarchy:
        """Read ARX's format: no header, one row per value, level 0 first, ``*`` last."""
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PlanError(
                f"{path}: cannot read hierarchy ({exc.__class__.__name__}); "
                "give a UTF-8 CSV file, one row per value, ';'-separated"
            ) from None
        rows: dict[str, tuple[str, ...]] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            cells = tuple(line.split(delimiter))
            if cells[0] in rows:
                raise PlanError(f"{path}:{number}: value {cells[0]!r} is listed twice; keep one")
            rows[cells[0]] = cells
        if not rows:
            raise PlanError(f"{path}: hierarchy file is empty; add one row per value")
        return cls(rows, str(path))

    def materialize(self, column: str, values: Sequence[str]) -> Hierarchy:
        """Restrict the table to ``values``; a value it does not list is an error naming it."""
        missing = [v for v in values if v not in self.rows]
        if missing:
            shown = ", ".join(repr(v) for v in sorted(missing)[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise PlanError(
                f"{self.source}: hierarchy for {column!r} has no row for {shown}{more}; "
                "add a row for each value the data holds"
            )
        return _checked(column, values, [list(self.rows[v]) for v in values])


def _number(column: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise PlanError(
            f"hierarchy for {column!r}: value {value!r} is not a number; "
            "interval hierarchies need a numeric column"
        ) from None


def _bound(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


@dataclass(frozen=True)
class IntervalHierarchy:
    """Numeric intervals: level i groups values into bins ``widths[i-1]`` wide from ``origin``.

    Integer data gets closed labels (``35-39``), other numbers half-open ones (``[35, 40)``).
    Each width must be a multiple of the one before, so the levels nest.
    """

    widths: tuple[float, ...]
    origin: float = 0.0

    def _label(self, x: float, width: float, integers: bool) -> str:
        low = self.origin + math.floor((x - self.origin) / width) * width
        if integers and float(width).is_integer() and float(low).is_integer():
            return f"{_bound(low)}-{_bound(low + width - 1)}"
        return f"[{_bound(low)}, {_bound(low + width)})"

    def materialize(self, column: str, values: Sequence[str]) -> Hierarchy:
        """Bin every value at every width; the top level is ``*``."""
        numbers = [_number(column, v) for v in values]
        integers = all(x.is_integer() for x in numbers)
        rows = [
            [v, *(self._label(x, w, integers) for w in self.widths), TOP]
            for v, x in zip(values, numbers, strict=True)
        ]
        return _checked(column, values, rows)


_DATE_STEPS = ("month", "year", "decade")


@dataclass(frozen=True)
class DateHierarchy:
    """Dates (ISO text): day → ``steps`` (any of month, year, decade, in that order) → ``*``."""

    steps: tuple[str, ...] = _DATE_STEPS

    @staticmethod
    def _label(day: date, step: str) -> str:
        if step == "month":
            return f"{day.year:04d}-{day.month:02d}"
        if step == "year":
            return f"{day.year:04d}"
        return f"{day.year // 10 * 10:04d}s"

    def materialize(self, column: str, values: Sequence[str]) -> Hierarchy:
        """Truncate every date at every step."""
        rows = []
        for value in values:
            try:
                day = datetime.fromisoformat(value).date()
            except ValueError:
                raise PlanError(
                    f"hierarchy for {column!r}: {value!r} is not an ISO date; "
                    "date hierarchies need a date or datetime column"
                ) from None
            rows.append([value, *(self._label(day, s) for s in self.steps), TOP])
        return _checked(column, values, rows)


@dataclass(frozen=True)
class PrefixHierarchy:
    """Mask strings from the right, one character per level (``12345`` → ``1234*`` → …)."""

    levels: int
    fill: str = "*"

    def materialize(self, column: str, values: Sequence[str]) -> Hierarchy:
        """Mask 1..levels trailing characters, then ``*``."""
        rows = []
        for value in values:
            masked = [
                value[: max(len(value) - n, 0)] + self.fill * min(n, len(value))
                for n in range(1, self.levels + 1)
            ]
            rows.append([value, *masked, TOP])
        return _checked(column, values, rows)


@dataclass(frozen=True)
class OrderedGroupHierarchy:
    """Ordered values grouped into consecutive runs: level i joins ``sizes[i-1]`` values.

    Labels name the run's first and last value (``Preschool..5th-6th``). Each size must be a
    multiple of the one before so that runs nest.
    """

    order: tuple[str, ...]
    sizes: tuple[int, ...]

    def materialize(self, column: str, values: Sequence[str]) -> Hierarchy:
        """Place each value by its position in ``order``."""
        position = {v: i for i, v in enumerate(self.order)}
        missing = [v for v in values if v not in position]
        if missing:
            raise PlanError(
                f"hierarchy for {column!r}: {missing[0]!r} is not in the ordered list; "
                "add it to 'order'"
            )
        rows = []
        for value in values:
            labels = []
            for size in self.sizes:
                start = position[value] // size * size
                run = self.order[start : start + size]
                labels.append(f"{run[0]}..{run[-1]}" if len(run) > 1 else run[0])
            rows.append([value, *labels, TOP])
        return _checked(column, values, rows)
