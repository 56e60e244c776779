"""Re-identification risk of a table as released, from one streaming aggregation.

The equivalence classes are the distinct tuples of the named QIs. Prosecutor risk assumes the
attacker knows the target is in the data (risk 1/|class|); marketer risk is the expected share of
records re-identified when every record is attacked (classes / records). Journalist risk — the
attacker does not know whether the target is in the release — needs the population the data was
drawn from: given a population table (one row per person, the same quasi-identifiers in the same
representation as the data measured), a record's risk is 1/|its class in the population|, and
k-map is the smallest such class. Without one both are reported as not measured, never as a
copy of prosecutor risk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from anonymizer_ml.errors import PlanError
from anonymizer_ml.privacy.criteria import FloatArray, LDiversity, TCloseness, l_values, t_values
from anonymizer_ml.privacy.table import (
    COUNT,
    Source,
    as_lazy,
    check_columns,
    class_sizes,
    histogram,
)

SIZE = "__anonymizer_size"
CLASS = "__anonymizer_class"
SIZE_BINS: tuple[tuple[int, int | None], ...] = (
    (1, 1),
    (2, 2),
    (3, 4),
    (5, 9),
    (10, 19),
    (20, 49),
    (50, 99),
    (100, None),
)


@dataclass(frozen=True)
class RiskReport:
    """Risk figures for one QI set (and ℓ/t of a sensitive column when named)."""

    quasi_identifiers: tuple[str, ...]
    records: int
    classes: int
    k: int
    k_achieved: int
    prosecutor_highest: float
    prosecutor_average: float
    records_at_highest_risk: float
    journalist_highest: float | None
    marketer: float
    below_k: float
    sample_uniques: float
    size_histogram: dict[str, int]
    sensitive: str | None = None
    l_distinct: int | None = None
    l_entropy: float | None = None
    t_closeness: float | None = None
    journalist_average: float | None = None
    k_map: int | None = None
    population_records: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _label(low: int, high: int | None) -> str:
    if high is None:
        return f"{low}+"
    return str(low) if low == high else f"{low}-{high}"


def risk_report(
    source: Source,
    quasi_identifiers: Sequence[str],
    *,
    sensitive: str | None = None,
    k: int = 5,
    ordered_sensitive: bool | None = None,
    population: Source | None = None,
) -> RiskReport:
    """Measure k, the three attacker models' risks, uniques and (with ``sensitive``) ℓ and t;
    journalist risk and k-map only with a ``population`` table."""
    frame = as_lazy(source)
    schema = frame.collect_schema()
    check_columns(schema, quasi_identifiers, "quasi-identifier")
    columns = list(quasi_identifiers)
    if sensitive is not None:
        check_columns(schema, [sensitive], "sensitive")
        columns.append(sensitive)
    hist, classes = None, None
    if sensitive is None and population is None:  # the class sizes are all that is needed
        sizes = class_sizes(frame, columns)
    else:
        hist = histogram(frame, columns, text=False)
        classes = (
            hist.group_by(list(quasi_identifiers))
            .agg(pl.col(COUNT).sum().alias(SIZE))
            .with_row_index(CLASS)
        )
        sizes = np.asarray(classes[SIZE].to_numpy(), dtype=np.int64)
    records = int(sizes.sum())
    if records == 0:
        raise PlanError("the data has no records; nothing to measure")
    smallest = int(sizes.min())
    report: dict[str, Any] = {
        "quasi_identifiers": tuple(quasi_identifiers),
        "records": records,
        "classes": int(sizes.size),
        "k": k,
        "k_achieved": smallest,
        "prosecutor_highest": 1.0 / smallest,
        "prosecutor_average": sizes.size / records,
        "records_at_highest_risk": float(sizes[sizes == smallest].sum()) / records,
        "journalist_highest": None,
        "marketer": sizes.size / records,
        "below_k": float(sizes[sizes < k].sum()) / records,
        "sample_uniques": float(sizes[sizes == 1].sum()) / records,
        "size_histogram": {
            _label(low, high): int(((sizes >= low) & (sizes <= (high or sizes.max()))).sum())
            for low, high in SIZE_BINS
        },
    }
    if population is not None and classes is not None:
        report.update(_journalist(population, quasi_identifiers, classes, records))
    if sensitive is not None and hist is not None and classes is not None:
        ordered = schema[sensitive].is_numeric() if ordered_sensitive is None else ordered_sensitive
        matrix = _sensitive_matrix(hist, classes, quasi_identifiers, sensitive, ordered)
        report["sensitive"] = sensitive
        report["l_distinct"] = int(l_values(matrix, LDiversity(1))[1].min())
        report["l_entropy"] = float(l_values(matrix, LDiversity(1, "entropy"))[1].min())
        report["t_closeness"] = float(t_values(matrix, TCloseness(1.0, ordered)).max())
    return RiskReport(**report)


def _journalist(
    population: Source, quasi_identifiers: Sequence[str], classes: pl.DataFrame, records: int
) -> dict[str, Any]:
    """Journalist risk and k-map from the population's class sizes (joined as text)."""
    frame = as_lazy(population)
    check_columns(frame.collect_schema(), quasi_identifiers, "population quasi-identifier")
    keys = list(quasi_identifiers)
    people = histogram(frame, keys, text=True).rename({COUNT: "__anonymizer_population"})
    sample = classes.select([*(pl.col(c).cast(pl.String) for c in keys), pl.col(SIZE)])
    joined = sample.join(people, on=keys, how="left", nulls_equal=True)
    sizes = joined["__anonymizer_population"]
    short = int((sizes.is_null() | (sizes < joined[SIZE])).sum())
    if short:
        raise PlanError(
            f"population table: {short:,} of the data's {joined.height:,} classes are missing "
            "or smaller there than in the data; it must include every released record "
            "(the same quasi-identifiers, generalised as the data is)"
        )
    big = np.asarray(sizes.to_numpy(), dtype=np.float64)
    small = np.asarray(joined[SIZE].to_numpy(), dtype=np.float64)
    return {
        "journalist_highest": float(1.0 / big.min()),
        "journalist_average": float((small / big).sum() / records),
        "k_map": int(big.min()),
        "population_records": int(people["__anonymizer_population"].sum()),
    }


def _sensitive_matrix(
    hist: pl.DataFrame,
    classes: pl.DataFrame,
    quasi_identifiers: Sequence[str],
    sensitive: str,
    ordered: bool,
) -> FloatArray:
    """Records per (class, sensitive value), values in their natural order when ``ordered``."""
    values = hist[sensitive].unique().to_list()
    if ordered:
        values.sort(key=lambda v: float(v) if v is not None else float("-inf"))
    else:
        values.sort(key=lambda v: (v is None, str(v)))
    position = {v: i for i, v in enumerate(values)}
    joined = hist.join(
        classes.select([*quasi_identifiers, CLASS]), on=list(quasi_identifiers), nulls_equal=True
    )
    row = np.asarray(joined[CLASS].to_numpy(), dtype=np.int64)
    column = np.array([position[v] for v in joined[sensitive].to_list()], dtype=np.int64)
    flat = row * len(values) + column
    counts = np.bincount(
        flat, weights=joined[COUNT].to_numpy(), minlength=classes.height * len(values)
    )
    return np.asarray(counts, dtype=np.float64).reshape(classes.height, len(values))
