"""Canaries: planting, commitments, survival through a run, exposure and membership inference."""

from __future__ import annotations

import json
import math
import stat
import zlib
from pathlib import Path

import polars as pl
import pytest

from anonymizer_ml.detect.validators import luhn_ok
from anonymizer_ml.dp import CanarySet, exposure, exposure_by_repetitions, loss_threshold_tpr, plant
from anonymizer_ml.dp.canaries import TEMPLATES, random_secret
from anonymizer_ml.errors import PlanError
from anonymizer_ml.lineage.manifest import read_manifest
from tests.conftest import run_cli

NOTES = pl.DataFrame(
    {"id": list(range(200)), "notes": [f"call about order {i}" for i in range(200)]}
)


def test_plant_puts_each_canary_in_its_count_of_distinct_rows() -> None:
    planted, canaries = plant(NOTES, "notes", counts=(1, 4), per_count=2, seed=3)
    assert len(canaries.canaries) == 4 * 2 * 2
    rows = [r for c in canaries.canaries for r in c.rows]
    assert len(rows) == len(set(rows))  # no row holds two canaries
    texts = planted["notes"].to_list()
    for canary in canaries.canaries:
        assert len(canary.rows) == canary.repetitions
        assert sum(canary.text in t for t in texts) == canary.repetitions
        assert texts[canary.rows[0]].startswith("call about order")  # appended, not replaced
    cards = [c.secret for c in canaries.canaries if c.kind == "card"]
    assert all(luhn_ok(c) for c in cards)


def test_commitments_hide_secrets_and_file_is_private(tmp_path: Path) -> None:
    _, canaries = plant(NOTES, "notes", counts=(1,), per_count=1, seed=1)
    published = json.dumps(canaries.commitments())
    assert not any(c.secret in published for c in canaries.canaries)
    path = tmp_path / "canaries.json"
    canaries.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert CanarySet.load(path) == canaries


def test_plant_refuses_bad_columns_and_too_few_rows() -> None:
    with pytest.raises(PlanError, match="not one in the data"):
        plant(NOTES, "id")
    with pytest.raises(PlanError, match="canary rows are needed"):
        plant(NOTES.head(10), "notes")


def test_survival_through_a_run_and_the_cli(tmp_path: Path) -> None:
    raw = tmp_path / "raw.parquet"
    NOTES.write_parquet(raw)
    secret = tmp_path / "canaries.json"
    planted = tmp_path / "planted.parquet"
    done = run_cli(
        [
            "canaries",
            "plant",
            str(raw),
            str(planted),
            "--column",
            "notes",
            "--canaries",
            str(secret),
        ]
    )
    assert done.returncode == 0, done.stderr
    commitments = tmp_path / "canaries.commitments.json"
    policy = tmp_path / "p.yaml"
    policy.write_text("name: p\ncolumns:\n  id: keep\n  notes: {action: detect}\n")
    out = tmp_path / "out"
    ran = run_cli(
        ["run", "-q", "-p", str(policy), "--canaries", str(commitments), str(planted), str(out)]
    )
    assert ran.returncode == 0, ran.stderr
    manifest = read_manifest(out / "anonymizer-manifest.json")
    assert manifest.canaries is not None and len(manifest.canaries) == 4 * 3 * 2
    audit = run_cli(["audit", "canaries", str(out), "--canaries", str(secret), "--json"])
    report = json.loads(audit.stdout)
    for kind in ("ssn", "card", "email"):
        assert report[kind] == {"planted": 6, "survived": 0}, kind
    assert report["name"]["planted"] == 6  # names need NER: reported, whatever survives
    unchanged = run_cli(["audit", "canaries", str(planted), "--canaries", str(secret), "--json"])
    assert all(v["survived"] == v["planted"] for v in json.loads(unchanged.stdout).values())


def test_exposure_is_maximal_when_the_model_prefers_the_canary() -> None:
    _, canaries = plant(NOTES, "notes", counts=(1, 4), per_count=1, kinds=("ssn",), seed=5)
    memorised = {c.text for c in canaries.canaries if c.repetitions == 4}

    def loss(texts: list[str]) -> list[float]:
        # crc32, not hash(): str hashes change per process, which made this test flaky.
        return [0.0 if t in memorised else 1 + zlib.crc32(t.encode()) % 1000 / 1000 for t in texts]

    results = exposure(canaries, loss, candidates=255)
    buckets = exposure_by_repetitions(results)
    assert buckets[4] == pytest.approx(math.log2(256))  # ranked first among 256
    assert buckets[1] < 8


def test_candidates_have_the_canary_form() -> None:
    from random import Random

    rng = Random(1)
    for kind in TEMPLATES:
        assert random_secret(kind, rng) != random_secret(kind, rng)
    with pytest.raises(PlanError):
        random_secret("iban", rng)


def test_loss_threshold_tpr() -> None:
    nonmembers = [1.0 + i / 100 for i in range(100)]  # threshold at FPR 1e-2: 1.01
    members = [0.5, 0.9, 1.005, 1.5]
    assert loss_threshold_tpr(members, nonmembers) == 0.75
    with pytest.raises(PlanError, match="at least 100 non-members"):
        loss_threshold_tpr(members, nonmembers[:50])


def test_exposure_cli_with_a_scorer(tmp_path: Path) -> None:
    _, canaries = plant(NOTES, "notes", counts=(1, 4), per_count=1, kinds=("ssn",), seed=9)
    secret = tmp_path / "canaries.json"
    canaries.save(secret)
    texts = json.dumps([c.text for c in canaries.canaries if c.repetitions == 4])
    args = ["audit", "exposure", "--canaries", str(secret), "--candidates", "63", "--json"]
    done = run_cli([*args, "--scorer", "tests.dp.fake_scorer:losses"], env={"CANARY_TEXTS": texts})
    assert done.returncode == 0, done.stderr
    buckets = json.loads(done.stdout)
    assert buckets["4"] == pytest.approx(6.0)  # first of 64
    assert buckets["1"] == pytest.approx(6.0 - math.log2(1 + 63 / 2))  # all tied: middle rank
    bad = run_cli([*args, "--scorer", "no.such:thing"])
    assert bad.returncode == 1 and "cannot import it" in bad.stderr
