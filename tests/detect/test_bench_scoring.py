"""The detection benchmark's own arithmetic: span matching (type-agnostic and typed, ignored
regions, the confusion table), the development sets, and the two sides timed in turns."""

from __future__ import annotations

from collections import Counter

import pytest

from benchmarks import detection_speed as detection
from benchmarks.detection import kind_figures, of_kind, prose_dates
from benchmarks.detection_sets import (
    Sample,
    gum_news_samples,
    marked_sample,
    score_set,
    tab_samples,
)


def test_spans_match_one_to_one_at_the_iou_threshold() -> None:
    sample = [Sample("x" * 40, ((0, 10, "PERSON"), (20, 30, "PERSON")))]
    # (0, 9) has IoU 0.9 with (0, 10); (21, 30) too with (20, 30); (0, 10) again matches nothing.
    found = score_set(sample, [[(0, 9, "PERSON"), (21, 30, "PERSON"), (0, 10, "PERSON")]], 0.9)
    assert found.agnostic.figures()["recall"] == 1.0
    assert found.agnostic.figures()["precision"] == pytest.approx(2 / 3)
    assert score_set(sample, [[(0, 8, "PERSON")]], 0.9).agnostic.figures()["recall"] == 0.0
    assert score_set(sample, [[(0, 8, "PERSON")]], 0.7).agnostic.figures()["recall"] == 0.5
    empty = score_set([Sample("", ())], [[]], 0.9).agnostic.figures()
    assert empty == {"precision": 0.0, "recall": 0.0, "f2": 0.0, "support": 0.0}


def test_a_span_of_the_wrong_kind_counts_only_type_agnostic_and_shows_in_the_confusion() -> None:
    sample = [Sample("On 16 January 1999 he left.", ((3, 18, "DATE_TIME"),))]
    found = score_set(sample, [[(3, 18, "STREET_ADDRESS")]], 0.9)
    assert found.agnostic.figures()["recall"] == 1.0
    assert found.typed.figures()["recall"] == 0.0 and found.typed.figures()["precision"] == 0.0
    assert found.typed.figures("DATE_TIME")["recall"] == 0.0
    assert found.confusion == Counter({("DATE_TIME", "STREET_ADDRESS"): 1})
    missed = score_set(sample, [[]], 0.9)
    assert missed.confusion == Counter({("DATE_TIME", "-"): 1})


def test_a_prediction_inside_an_ignored_region_is_neither_right_nor_wrong() -> None:
    sample = [Sample("a Samsung Galaxy and Ann", ((21, 24, "PERSON"),), ignored=((2, 16),))]
    found = score_set(sample, [[(2, 9, "ORGANIZATION"), (21, 24, "PERSON")]], 0.9)
    assert found.agnostic.figures()["precision"] == 1.0  # "Samsung" lies inside a product
    outside = score_set(sample, [[(0, 1, "ORGANIZATION"), (21, 24, "PERSON")]], 0.9)
    assert outside.agnostic.figures()["precision"] == 0.5


def test_prose_dates_are_calendar_dates_not_durations() -> None:
    text = "On 5 April 1993, for six months, born in 1965."
    gold = ((3, 15, "DATE_TIME"), (21, 31, "DATE_TIME"), (41, 45, "DATE_TIME"), (0, 2, "X"))
    [only] = prose_dates([Sample(text, gold)])
    assert [text[a:b] for a, b, _ in only.gold] == ["5 April 1993", "1965"]


def test_the_tab_sample_is_whole_and_its_parts_kept_apart() -> None:
    """The shipped court-judgment sample (the other sets live in ../shared, outside the repo)."""
    dev, held = tab_samples("dev"), tab_samples("heldout")
    assert (len(dev), len(held)) == (6, 2)
    assert (sum(len(s.gold) for s in dev), sum(len(s.gold) for s in held)) == (201, 120)
    for sample in dev + held:
        assert all(0 <= a < b <= len(sample.text) for a, b, _ in sample.gold)
        assert {kind for _, _, kind in sample.gold} <= {
            "PERSON",
            "DATE_TIME",
            "ORGANIZATION",
            "LOCATION",
            "CASE_NUMBER",
        }  # TAB's DEM, QUANTITY and MISC are ignored regions, not gold
    assert not {s.text for s in dev} & {s.text for s in held}


def test_a_marked_text_gives_its_gold_and_ignored_spans_without_the_brackets() -> None:
    sample = marked_sample('[[Jeff Rathke]] met "{{Anonymous}}" and [[Rathke]].', "PERSON")
    assert sample.text == 'Jeff Rathke met "Anonymous" and Rathke.'
    assert [(sample.text[a:b], kind) for a, b, kind in sample.gold] == [
        ("Jeff Rathke", "PERSON"),
        ("Rathke", "PERSON"),
    ]
    assert [sample.text[a:b] for a, b in sample.ignored] == ["Anonymous"]
    assert marked_sample("no names here", "PERSON") == Sample("no names here", ())


def test_the_news_sample_is_whole_and_holds_no_markup() -> None:
    samples = gum_news_samples()
    assert [len(s.gold) for s in samples] == [7, 65, 8]
    for sample in samples:
        assert "[[" not in sample.text and "{{" not in sample.text
        names = [sample.text[a:b] for a, b, _ in sample.gold]
        assert all(name[0].isupper() and name == name.strip() for name in names)


def test_a_one_kind_set_scores_only_predictions_of_that_kind() -> None:
    sample = [Sample("Ann Lee of DAB", ((0, 7, "PERSON"),))]
    predicted = [[(0, 7, "PERSON"), (11, 14, "ORGANIZATION"), (11, 14, "PERSON")]]
    kept = of_kind(predicted, "PERSON")
    assert kept == [[(0, 7, "PERSON"), (11, 14, "PERSON")]]
    rows = kind_figures(
        "news", score_set(sample, kept, 0.9), score_set(sample, [[]], 0.9), "PERSON", ""
    )
    assert rows["news_PERSON_recall"]["value"] == 1.0
    assert rows["news_PERSON_precision"]["value"] == 0.5  # the party acronym typed as a person
    assert rows["news_PERSON_recall"]["baseline"] == 0.0


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
