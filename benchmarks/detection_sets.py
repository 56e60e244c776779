"""The detection development sets and how both systems are scored on them.

Every set becomes a list of :class:`Sample`: the text, its gold spans with a *kind*, and the
regions that are annotated but are not personal data a detector should find (WNUT-17's products
and creative works; TAB's demographic attributes, quantities and miscellany). A prediction that
lies mostly inside such a region is neither right nor wrong, for both systems alike.

Kinds are one vocabulary for gold labels and for both systems' entity types (``GPE`` and ``LOC``
are ``LOCATION``, TAB's ``CODE`` is our ``CASE_NUMBER``, ``DOMAIN_NAME`` is ``URL``...), so that a
typed score can say when a span was found with the wrong type: a date emitted as a street
address is a miss, because a transform acts on the type.

Matching is greedy one-to-one on character IoU (best first), as ``benchmarks.detection.score``;
typed matching only pairs spans of the same kind. Figures are per set, never pooled.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(os.environ.get("ANONYMIZER_BENCH_DIR", ROOT.parent / "shared/bench"))
TAB_SAMPLE = ROOT / "fixtures/tab/echr_dev_sample.jsonl"
GUM_NEWS = ROOT / "fixtures/gum/news_persons.jsonl"
SYNTH = Path(
    os.environ.get("ANONYMIZER_PRESIDIO_SYNTH", BENCH / "presidio_synth/synth_dataset_v2.json")
)

Span = tuple[int, int]
KindSpan = tuple[int, int, str]

# Gold labels and entity types that name the same kind of thing.
KIND_ALIASES = {
    "GPE": "LOCATION",
    "LOC": "LOCATION",
    "ORG": "ORGANIZATION",
    "DATETIME": "DATE_TIME",
    "CODE": "CASE_NUMBER",
    "DOMAIN_NAME": "URL",
    "PER": "PERSON",
}
NOT_PII = {
    "wnut17": {"OTHER"},
    "tab": {"DEM", "QUANTITY", "MISC"},
}


def kind_of(label: str) -> str:
    """The shared kind of a gold label or an entity type."""
    return KIND_ALIASES.get(label, label)


@dataclass(frozen=True)
class Sample:
    """One text with its gold spans (start, end, kind) and its ignored regions."""

    text: str
    gold: tuple[KindSpan, ...]
    ignored: tuple[Span, ...] = ()


def synth_samples(records: list[dict[str, Any]]) -> list[Sample]:
    """Presidio's synthetic set (already parsed) as samples."""
    return [
        Sample(
            r["full_text"],
            tuple(
                (s["start_position"], s["end_position"], kind_of(s["entity_type"]))
                for s in r["spans"]
            ),
        )
        for r in records
    ]


def _split(spans: list[dict[str, Any]], label: str, ignore: set[str]) -> tuple[Any, Any]:
    gold = tuple((s["start"], s["end"], kind_of(s[label])) for s in spans if s[label] not in ignore)
    ignored = tuple((s["start"], s["end"]) for s in spans if s[label] in ignore)
    return gold, ignored


def wnut17_samples(path: Path | None = None) -> list[Sample]:
    """WNUT-17 dev: persons, locations and organisations; products and creative works ignored."""
    lines = (path or BENCH / "wnut17/dev.jsonl").read_text(encoding="utf-8").splitlines()
    samples = []
    for line in lines:
        record = json.loads(line)
        gold, ignored = _split(record["spans"], "label", NOT_PII["wnut17"])
        samples.append(Sample(record["text"], gold, ignored))
    return samples


def tab_samples(part: str, path: Path = TAB_SAMPLE) -> list[Sample]:
    """Our sample of TAB's ECHR dev split, ``part`` "dev" or "heldout" (see fixtures/README)."""
    samples = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["part"] == part:
            gold, ignored = _split(record["spans"], "type", NOT_PII["tab"])
            samples.append(Sample(record["text"], gold, ignored))
    return samples


_MARK = re.compile(r"\[\[(.+?)\]\]|\{\{(.+?)\}\}")


def marked_sample(marked: str, kind: str) -> Sample:
    """A text written with its gold mentions inline: ``[[name]]`` is a gold span of ``kind``,
    ``{{words}}`` an ignored region; the brackets are not part of the text."""
    parts, gold, ignored, at, length = [], [], [], 0, 0
    for found in _MARK.finditer(marked):
        parts.append(marked[at : found.start()])
        length += found.start() - at
        words = found.group(1) or found.group(2)
        span = (length, length + len(words))
        if found.group(1):
            gold.append((*span, kind))
        else:
            ignored.append(span)
        parts.append(words)
        length += len(words)
        at = found.end()
    parts.append(marked[at:])
    return Sample("".join(parts), tuple(gold), tuple(ignored))


def gum_news_samples(path: Path = GUM_NEWS) -> list[Sample]:
    """Wikinews articles from GUM's training split with every person named (see
    fixtures/README): gold is PERSON only, so only PERSON predictions are scored on it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [marked_sample(json.loads(line)["marked"], "PERSON") for line in lines]


# Sets whose gold names one kind only: predictions of other kinds are neither right nor wrong.
ONE_KIND = {"gum_news": "PERSON"}


def development_sets() -> dict[str, list[Sample]]:
    """Every set by name, in report order."""
    return {
        "synth": synth_samples(json.loads(SYNTH.read_text(encoding="utf-8"))),
        "wnut17": wnut17_samples(),
        "tab_dev": tab_samples("dev"),
        "tab_heldout": tab_samples("heldout"),
        "gum_news": gum_news_samples(),
    }


def _iou(a: Span, b: Span) -> float:
    overlap = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return overlap / union if union else 0.0


def _mostly_ignored(span: Span, ignored: Sequence[Span]) -> bool:
    covered = sum(max(0, min(span[1], e) - max(span[0], s)) for s, e in ignored)
    return covered * 2 >= span[1] - span[0]


def match(
    gold: Sequence[KindSpan], predicted: Sequence[KindSpan], threshold: float, *, typed: bool
) -> list[tuple[int, int]]:
    """(gold index, predicted index) pairs: greedy by IoU, one-to-one, kinds equal when typed."""
    pairs = sorted(
        (
            (_iou(g[:2], p[:2]), i, j)
            for i, g in enumerate(gold)
            for j, p in enumerate(predicted)
            if not typed or g[2] == p[2]
        ),
        reverse=True,
    )
    used_g: set[int] = set()
    used_p: set[int] = set()
    matched = []
    for iou, i, j in pairs:
        if iou < threshold:
            break
        if i not in used_g and j not in used_p:
            used_g.add(i)
            used_p.add(j)
            matched.append((i, j))
    return matched


@dataclass
class Tally:
    """Counts behind precision and recall, overall and per kind."""

    gold: Counter[str]
    predicted: Counter[str]
    hit_gold: Counter[str]
    hit_predicted: Counter[str]

    @classmethod
    def empty(cls) -> Tally:
        """Nothing counted yet."""
        return cls(Counter(), Counter(), Counter(), Counter())

    def figures(self, kind: str | None = None) -> dict[str, float]:
        """Precision, recall and F2, for one kind or (None) all."""

        def total(c: Counter[str]) -> int:
            return c[kind] if kind is not None else sum(c.values())

        p_all, g_all = total(self.predicted), total(self.gold)
        precision = total(self.hit_predicted) / p_all if p_all else 0.0
        recall = total(self.hit_gold) / g_all if g_all else 0.0
        f2 = 5 * precision * recall / (4 * precision + recall) if precision + recall else 0.0
        return {"precision": precision, "recall": recall, "f2": f2, "support": float(g_all)}


@dataclass
class SetScore:
    """One system on one set: type-agnostic and typed tallies and the confusion counts."""

    agnostic: Tally
    typed: Tally
    confusion: Counter[tuple[str, str]]


def score_set(
    samples: Sequence[Sample], predicted: Sequence[Sequence[KindSpan]], threshold: float
) -> SetScore:
    """Score one system's predictions on one set. Confusion pairs come from the type-agnostic
    matching: (gold kind, predicted kind), with "-" for a gold span nothing matched."""
    result = SetScore(Tally.empty(), Tally.empty(), Counter())
    for sample, raw in zip(samples, predicted, strict=True):
        agnostic_hits = match(sample.gold, raw, threshold, typed=False)
        matched_pred = {j for _, j in agnostic_hits}
        kept = [
            p
            for j, p in enumerate(raw)
            if j in matched_pred or not _mostly_ignored(p[:2], sample.ignored)
        ]
        for tally, typed in ((result.agnostic, False), (result.typed, True)):
            hits = match(sample.gold, kept, threshold, typed=typed)
            tally.gold.update(g[2] for g in sample.gold)
            tally.predicted.update(p[2] for p in kept)
            tally.hit_gold.update(sample.gold[i][2] for i, _ in hits)
            tally.hit_predicted.update(kept[j][2] for _, j in hits)
            if not typed:
                found = {i: kept[j][2] for i, j in hits}
                result.confusion.update(
                    (g[2], found.get(i, "-")) for i, g in enumerate(sample.gold)
                )
    return result
