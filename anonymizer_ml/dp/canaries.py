"""Canaries: synthetic secrets planted in raw text, to measure what survives and what is learnt.

``plant`` inserts canaries (fake SSNs, card numbers, e-mail addresses, names, each in a fixed
template) into a text column at repetition counts such as 1, 4 and 16, before anonymisation. The
auditor keeps the canary file (the secrets and an HMAC key); the manifest gets only keyed
commitments. After the pipeline, ``survival`` counts canaries still present in the output
(detector recall). After training, ``exposure`` ranks each canary against random candidates of
the same form under the model's loss (Carlini et al., "The Secret Sharer", 2019):
exposure = log2(|candidates| + 1) − log2(rank).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from random import Random, SystemRandom
from typing import Any

import polars as pl

from anonymizer_ml.detect.validators import luhn_ok
from anonymizer_ml.errors import InputError, PlanError

FIRST = (
    "Avery", "Quinn", "Rowan", "Sage", "Emery", "Finley", "Harper", "Kendall", "Marlow", "Ellis",
    "Reese", "Tatum", "Blair", "Sloane", "Arden", "Lennox", "Hollis", "Briar", "Linden", "Perrin",
    "Corin", "Darcy", "Evander", "Fennel", "Garnet", "Idris", "Jory", "Kestrel", "Lorcan", "Maren",
    "Niall", "Oriel", "Piers", "Roswell", "Soren", "Tamsin", "Ulric", "Vesper", "Wren", "Yorick",
)  # fmt: skip
LAST = (
    "Thornbury", "Wexley", "Calloway", "Ashdown", "Pemberton", "Larkspur", "Fairweather", "Hale",
    "Merriweather", "Oakhurst", "Quillfeather", "Ravenscroft", "Stanbridge", "Underhill", "Vance",
    "Whitlock", "Yardley", "Ainsworth", "Blackwood", "Cromwell", "Dunmore", "Everly", "Fenwick",
    "Goldsworth", "Hawthorne", "Ingram", "Jessup", "Kingsley", "Lockwood", "Marchbank", "Ormsby",
    "Northcote", "Prescott", "Radley", "Sutcliffe", "Thackeray", "Upton", "Waverley", "Yelland",
    "Zell",
)  # fmt: skip
TEMPLATES = {
    "ssn": "my social security number is {secret}",
    "card": "please charge card {secret} for the renewal",
    "email": "write to me at {secret} about the claim",
    "name": "the account holder is {secret} as agreed",
}
KINDS = tuple(TEMPLATES)


def _luhn_complete(digits: str) -> str:
    """``digits`` plus the check digit that makes the number pass Luhn."""
    return next(digits + d for d in "0123456789" if luhn_ok(digits + d))


def random_secret(kind: str, rng: Random) -> str:
    """A fresh secret of ``kind`` — valid in form (SSN ranges, Luhn), never a real person's."""
    if kind == "ssn":
        area = rng.choice([a for a in range(1, 900) if a != 666])
        return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
    if kind == "card":
        return _luhn_complete("4" + "".join(str(rng.randint(0, 9)) for _ in range(14)))
    if kind == "email":
        user = f"{rng.choice(FIRST).lower()}.{rng.choice(LAST).lower()}{rng.randint(10, 99)}"
        return f"{user}@example.org"
    if kind == "name":
        return f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    raise PlanError(f"unknown canary kind {kind!r}; use one of: {', '.join(KINDS)}")


@dataclass(frozen=True)
class Canary:
    """One planted secret: its kind, value, sentence, repetitions and the rows it went into."""

    kind: str
    secret: str
    text: str
    repetitions: int
    rows: tuple[int, ...]


@dataclass(frozen=True)
class CanarySet:
    """What the auditor keeps: the canaries, the column, and the commitment key."""

    column: str
    key: bytes
    canaries: tuple[Canary, ...]

    def commitments(self) -> list[dict[str, Any]]:
        """Keyed commitments (HMAC-SHA-256 of each secret): safe to publish in a manifest."""
        return [
            {
                "kind": c.kind,
                "repetitions": c.repetitions,
                "commitment": hmac.new(self.key, c.secret.encode(), hashlib.sha256).hexdigest(),
            }
            for c in self.canaries
        ]

    def save(self, path: Path) -> None:
        """Write the canary file, readable by its owner only (it holds the secrets)."""
        document = {
            "column": self.column,
            "key": self.key.hex(),
            "canaries": [asdict(c) for c in self.canaries],
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)

    @classmethod
    def load(cls, path: Path) -> CanarySet:
        """Read a canary file written by ``save``."""
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            canaries = tuple(
                Canary(**{**c, "rows": tuple(c["rows"])}) for c in document["canaries"]
            )
            return cls(document["column"], bytes.fromhex(document["key"]), canaries)
        except FileNotFoundError:
            raise InputError(f"{path}: canary file not found; check the path") from None
        except (OSError, ValueError, KeyError, TypeError):
            raise InputError(f"{path}: not a canary file written by 'canaries plant'") from None


def plant(
    frame: pl.DataFrame,
    column: str,
    *,
    counts: Sequence[int] = (1, 4, 16),
    per_count: int = 2,
    kinds: Sequence[str] = KINDS,
    seed: int | None = None,
) -> tuple[pl.DataFrame, CanarySet]:
    """Append canary sentences to ``column`` in distinct rows; return the frame and the set."""
    if column not in frame.columns or frame.schema[column] != pl.String:
        raise PlanError(f"canaries go into a text column; {column!r} is not one in the data")
    # Unseeded, the secrets come from the OS; a seed is for reproducible tests and examples.
    rng: Random = SystemRandom() if seed is None else Random(seed)  # noqa: S311
    needed = sum(counts) * per_count * len(kinds)
    if needed > frame.height:
        raise PlanError(f"{needed} canary rows are needed but the data has {frame.height} rows")
    free = rng.sample(range(frame.height), needed)
    planted: list[Canary] = []
    for kind in kinds:
        for count in counts:
            for _ in range(per_count):
                secret = random_secret(kind, rng)
                rows = tuple(sorted(free[:count]))
                free = free[count:]
                planted.append(
                    Canary(kind, secret, TEMPLATES[kind].format(secret=secret), count, rows)
                )
    texts = frame[column].to_list()
    for canary in planted:
        for row in canary.rows:
            texts[row] = f"{texts[row] or ''} {canary.text}".strip()
    key = secrets.token_bytes(32)
    out = frame.with_columns(pl.Series(column, texts, dtype=pl.String))
    return out, CanarySet(column, key, tuple(planted))


def survival(canaries: CanarySet, frames: Sequence[pl.LazyFrame]) -> dict[str, dict[str, int]]:
    """Per kind: canaries planted, and how many still appear anywhere in the output's text."""
    found: set[str] = set()
    for frame in frames:
        text = [c for c, t in frame.collect_schema().items() if t == pl.String]
        if not text:
            continue
        checks = [
            pl.any_horizontal(pl.col(c).str.contains(c_.secret, literal=True) for c in text)
            .any()
            .alias(str(i))
            for i, c_ in enumerate(canaries.canaries)
        ]
        row = frame.select(checks).collect(engine="streaming").row(0)
        found |= {canaries.canaries[i].secret for i, hit in enumerate(row) if hit}
    report: dict[str, dict[str, int]] = {}
    for canary in canaries.canaries:
        entry = report.setdefault(canary.kind, {"planted": 0, "survived": 0})
        entry["planted"] += 1
        entry["survived"] += canary.secret in found
    return report


@dataclass(frozen=True)
class Exposure:
    """Exposure of one canary: its rank among candidates under the model's loss."""

    kind: str
    repetitions: int
    rank: float
    candidates: int

    @property
    def bits(self) -> float:
        """log2(candidates + 1) − log2(rank): the maximum means the canary ranks first."""
        return math.log2(self.candidates + 1) - math.log2(self.rank)


def exposure(
    canaries: CanarySet,
    loss: Callable[[list[str]], Sequence[float]],
    *,
    candidates: int = 1000,
    seed: int = 0,
) -> list[Exposure]:
    """Rank every canary's sentence against ``candidates`` random ones of the same form."""
    rng = Random(seed)  # noqa: S311 - candidates need to be reproducible, not secret
    results = []
    for canary in canaries.canaries:
        others: set[str] = set()
        for _ in range(candidates * 50):
            if len(others) == candidates:
                break
            other = random_secret(canary.kind, rng)
            if other != canary.secret:
                others.add(other)
        if len(others) < candidates:
            raise PlanError(f"fewer than {candidates} distinct {canary.kind} candidates exist")
        template = TEMPLATES[canary.kind]
        texts = [canary.text, *(template.format(secret=o) for o in sorted(others))]
        scores = list(loss(texts))
        lower = sum(1 for s in scores[1:] if s < scores[0])
        ties = sum(1 for s in scores[1:] if s == scores[0])
        # Ties share the middle rank: a model that scores everything alike exposes nothing.
        rank = 1 + lower + ties / 2
        results.append(Exposure(canary.kind, canary.repetitions, rank, candidates))
    return results


def exposure_by_repetitions(results: Sequence[Exposure]) -> dict[int, float]:
    """Mean exposure (bits) per repetition bucket."""
    buckets: dict[int, list[float]] = {}
    for result in results:
        buckets.setdefault(result.repetitions, []).append(result.bits)
    return {count: sum(v) / len(v) for count, v in sorted(buckets.items())}


def loss_threshold_tpr(
    member_losses: Sequence[float], nonmember_losses: Sequence[float], fpr: float = 0.01
) -> float:
    """Loss-threshold membership inference: TPR when the threshold lets ``fpr`` of non-members
    through (a record is called a member when its loss is below the threshold)."""
    if not member_losses or len(nonmember_losses) < math.ceil(1 / fpr):
        raise PlanError(f"need members and at least {math.ceil(1 / fpr)} non-members for FPR {fpr}")
    ordered = sorted(nonmember_losses)
    threshold = ordered[math.floor(fpr * len(ordered))]
    return sum(1 for x in member_losses if x < threshold) / len(member_losses)
