"""Detection in worker processes gives the spans one process gives, and survives a dead worker."""

from __future__ import annotations

import os
import signal

import pytest

from anonymizer_ml import detect_entities
from anonymizer_ml.detect import pool

TEXTS = [
    "Mr Cengiz Polat was arrested on 6 February 1993 in Istanbul.",
    "Call Ann on +44 20 7946 0958 or mail ann@example.org.",
    "The Warsaw District Court heard Mr J. Wołąsiewicz on 8 July 1994.",
    None,
    "nothing to see here",
    "Ship it to 24 Clarke Avenue, Springfield, IL 62704.",
] * 5


@pytest.fixture
def small_pool_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool, "MIN_CHARS", 0)


@pytest.mark.parametrize("ner", ["none", "auto"])
@pytest.mark.usefixtures("small_pool_threshold")
def test_two_workers_find_what_one_process_finds(ner: str) -> None:
    texts = [t if t is None else f"{t} [{i}]" for i, t in enumerate(TEXTS)]  # all distinct
    one = detect_entities(texts, ner=ner)
    two = detect_entities(texts, ner=ner, processes=2)
    assert [list(s) for s in two] == [list(s) for s in one]
    assert any(pool._POOLS)  # the workers did the work


def test_shares_keep_order_and_balance_characters() -> None:
    texts = ["a" * 10, None, "b" * 10, "c" * 30, "d" * 10]
    parts = pool.shares(texts, 3)
    assert [t for part in parts for t in part] == texts
    assert len(parts) <= 3 and all(parts)


def test_little_text_stays_in_process() -> None:
    assert pool.pooled_spans(["short text"], None, None, 2, False) is None
    assert pool.pooled_spans(["x" * (pool.MIN_CHARS + 1)], None, None, 1, False) is None


@pytest.mark.usefixtures("small_pool_threshold")
def test_a_dead_worker_makes_the_call_run_in_process() -> None:
    texts = [t if t is None else f"{t} <{i}>" for i, t in enumerate(TEXTS)]
    expected = detect_entities(texts, ner="none")
    detect_entities(texts[:3], ner="none", processes=2)  # the pool is up
    workers = pool._POOLS[(None, 2)]._processes  # to kill one
    os.kill(next(iter(workers)), signal.SIGKILL)
    with pytest.warns(UserWarning, match="worker process died"):
        found = detect_entities(texts, ner="none", processes=2)
    assert [list(s) for s in found] == [list(s) for s in expected]
    assert (None, 2) not in pool._POOLS  # a fresh pool next time
