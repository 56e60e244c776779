from __future__ import annotations

from pathlib import Path

import pytest

from anonymizer_ml.errors import PlanError
from anonymizer_ml.privacy import (
    DateHierarchy,
    IntervalHierarchy,
    OrderedGroupHierarchy,
    PrefixHierarchy,
    TableHierarchy,
)

from .conftest import HIERARCHIES


def test_arx_csv_reads_levels_in_order() -> None:
    table = TableHierarchy.from_csv(HIERARCHIES / "age.csv")
    h = table.materialize("age", ["39", "17"])
    assert h.height == 5
    assert h.labels[1] == ("35-39", "15-19")
    assert h.labels[-1] == ("*", "*")
    assert h.mapping(2) == {"39": "30-39", "17": "10-19"}


def test_value_missing_from_hierarchy_is_named(tmp_path: Path) -> None:
    table = TableHierarchy.from_csv(HIERARCHIES / "sex.csv")
    with pytest.raises(PlanError, match=r"sex.csv: hierarchy for 'sex' has no row for 'Other'"):
        table.materialize("sex", ["Male", "Other"])


def test_hierarchy_that_does_not_nest_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("a;x;*\nb;x;*\nc;y;*\n")
    TableHierarchy.from_csv(path).materialize("c", ["a", "b", "c"])  # nests: fine
    path.write_text("a;x;p;*\nb;x;q;*\n")
    with pytest.raises(PlanError, match="group 'x' splits into 'p' and 'q'"):
        TableHierarchy.from_csv(path).materialize("c", ["a", "b"])


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "is empty"), ("a;*\na;*\n", "listed twice"), ("a;*\nb;x;*\n", "different numbers")],
)
def test_bad_hierarchy_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "h.csv"
    path.write_text(text)
    with pytest.raises(PlanError, match=message):
        TableHierarchy.from_csv(path).materialize("c", ["a", "b"])


def test_missing_hierarchy_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match=r"nope.csv: cannot read hierarchy"):
        TableHierarchy.from_csv(tmp_path / "nope.csv")


def test_intervals_label_integers_closed_and_floats_half_open() -> None:
    h = IntervalHierarchy((5, 10)).materialize("age", ["37", "42"])
    assert h.labels == (("37", "42"), ("35-39", "40-44"), ("30-39", "40-49"), ("*", "*"))
    f = IntervalHierarchy((0.5,)).materialize("x", ["1.2", "1.7"])
    assert f.labels[1] == ("[1, 1.5)", "[1.5, 2)")
    with pytest.raises(PlanError, match="not a number"):
        IntervalHierarchy((5,)).materialize("age", ["old"])


def test_dates_truncate_by_step() -> None:
    h = DateHierarchy().materialize("d", ["2019-03-04", "2021-12-31 10:00:00"])
    assert h.labels[1:] == (
        ("2019-03", "2021-12"),
        ("2019", "2021"),
        ("2010s", "2020s"),
        ("*", "*"),
    )
    with pytest.raises(PlanError, match="not an ISO date"):
        DateHierarchy().materialize("d", ["yesterday"])


def test_prefix_masks_from_the_right() -> None:
    h = PrefixHierarchy(2).materialize("zip", ["12345", "9"])
    assert h.labels[1:] == (("1234*", "*"), ("123**", "*"), ("*", "*"))


def test_ordered_groups_join_consecutive_runs() -> None:
    order = ("a", "b", "c", "d", "e")
    h = OrderedGroupHierarchy(order, (2, 4)).materialize("g", ["a", "c", "e"])
    assert h.labels[1:] == (("a..b", "c..d", "e"), ("a..d", "a..d", "e"), ("*", "*", "*"))
    with pytest.raises(PlanError, match="'z' is not in the ordered list"):
        OrderedGroupHierarchy(order, (2,)).materialize("g", ["z"])
