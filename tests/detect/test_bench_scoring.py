"""The detection benchmark's own arithmetic: span matching and the median of short calls."""

from __future__ import annotations

import itertools

import pytest

from benchmarks import detection


def test_spans_match_one_to_one_at_the_iou_threshold() -> None:
    gold = [[(0, 10), (20, 30)]]
    # (0, 9) has IoU 0.9 with (0, 10); (21, 30) too with (20, 30); (0, 10) again matches nothing.
    found = detection.score(gold, [[(0, 9), (21, 30), (0, 10)]], 0.9)
    assert found["recall"] == 1.0 and found["precision"] == pytest.approx(2 / 3)
    assert detection.score(gold, [[(0, 8)]], 0.9)["recall"] == 0.0  # IoU 0.8
    assert detection.score(gold, [[(0, 8)]], 0.7)["recall"] == 0.5
    assert detection.score([[]], [[]], 0.9) == {"precision": 0.0, "recall": 0.0, "f2": 0.0}


def test_a_short_call_is_timed_several_times_and_the_median_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rates = iter([3.0, 1.0, 2.0, 5.0, 4.0, 9.0])
    made: list[float] = []

    def rate(call: object, texts: list[str]) -> float:
        made.append(next(rates))
        return made[-1]

    monkeypatch.setattr(detection, "_rate", rate)
    assert detection._median_rate(None, [], calls=5) == 3.0 and len(made) == 5
    # A long call spends the budget: it is timed once.
    made.clear()
    clock = itertools.count(step=100.0)
    monkeypatch.setattr(detection.time, "perf_counter", lambda: next(clock))
    assert detection._median_rate(None, [], calls=5, budget_s=10.0) == 9.0 and made == [9.0]
