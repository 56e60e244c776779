"""Paths to the Adult fixture and ARX's hierarchies."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ADULT = ROOT / "fixtures" / "adult" / "adult.csv"
REFERENCE = ROOT / "fixtures" / "adult" / "reference_optima.csv"
HIERARCHIES = ROOT / "rules" / "hierarchies" / "adult"
# Adult's columns without the salary class (the usual training target).
QIS8 = [
    "sex",
    "age",
    "race",
    "marital-status",
    "education",
    "native-country",
    "workclass",
    "occupation",
]


def adult_hierarchies(columns: list[str]) -> dict[str, Path]:
    """ARX's hierarchy file for each named Adult column."""
    return {c: HIERARCHIES / f"{c}.csv" for c in columns}
