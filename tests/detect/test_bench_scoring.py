"""The detection benchmark's own arithmetic: span matching, and the two sides timed in turns."""

from __future__ import annotations

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


def test_the_two_sides_are_timed_in_turns_ours_as_a_median_theirs_as_a_total(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order: list[str] = []
    took = iter([0.2, 1.0, 0.1, 1.0, 0.4, 1.0, 0.3, 1.0, 0.5, 2.0])  # ours, theirs, ...

    def seconds(call: object, texts: list[str]) -> float:
        order.append(f"{call}:{len(texts)}")
        return next(took)

    monkeypatch.setattr(detection, "_seconds", seconds)
    cleared: list[int] = []
    ours, theirs = detection.interleaved_rates(
        "ours", "theirs", ["t"] * 100, ["t"] * 50, rounds=5, before=lambda: cleared.append(1)
    )
    assert order == ["ours:100", "theirs:10"] * 5  # in turns, theirs split in fifths
    assert ours == 100 / 0.3  # the median of 0.2, 0.1, 0.4, 0.3, 0.5 s
    assert theirs == 50 / 6.0  # all their records over all their time
    assert len(cleared) == 5  # before each call of ours


def test_a_long_call_of_ours_is_timed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []

    def seconds(call: object, texts: list[str]) -> float:
        order.append(str(call))
        return 30.0 if call == "ours" else 1.0

    monkeypatch.setattr(detection, "_seconds", seconds)
    ours, theirs = detection.interleaved_rates("ours", "theirs", ["t"] * 60, ["t"] * 5)
    assert order == ["ours"] + ["theirs"] * 5 and ours == 2.0 and theirs == 1.0
