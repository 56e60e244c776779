"""The privacy section end to end: policy → run → k-anonymous output, manifest, verify."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from anonymizer_ml.errors import PolicyError
from anonymizer_ml.lineage.verify import VerificationError, load_trust, verify_dataset
from anonymizer_ml.policy.load import parse_policy
from tests.conftest import ROOT, run_cli

from .conftest import ADULT, QIS8

POLICY = ROOT / "rules" / "adult-k5.yaml"
QIS = QIS8


@pytest.fixture(scope="module")
def adult_parts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Adult as two Parquet files: k must hold over the dataset, not per file."""
    folder = tmp_path_factory.mktemp("adult")
    frame = pl.read_csv(ADULT, separator=";")
    frame.head(15_000).write_parquet(folder / "part-0.parquet")
    frame.slice(15_000).write_parquet(folder / "part-1.parquet")
    return folder


def _run(policy: Path, source: Path, out: Path, *extra: str) -> None:
    result = run_cli(["run", "-p", str(policy), *extra, str(source), str(out)])
    assert result.returncode == 0, result.stderr


def test_shipped_policy_releases_the_reference_optimum(adult_parts: Path, tmp_path: Path) -> None:
    _run(POLICY, adult_parts, tmp_path / "out")
    released = pl.read_parquet(tmp_path / "out" / "*.parquet")
    assert released.height == 30_162 - 906
    assert released.group_by(QIS).len()["len"].min() >= 5
    assert released["salary-class"].n_unique() == 2
    manifest = json.loads((tmp_path / "out" / "anonymizer-manifest.json").read_text())
    record = manifest["privacy"]
    assert record["levels"] == dict(zip(QIS, [1, 0, 1, 1, 3, 2, 2, 0], strict=True))
    assert record["information_loss"] == pytest.approx(231141.729904, rel=1e-9)
    assert record["records_suppressed"] == 906 and record["k_achieved"] == 5
    assert len(record["hierarchies"]["age"]["sha256"]) == 64
    actions = {step["column"]: step["action"] for step in manifest["plan"]}
    assert actions["age"] == "privacy" and actions["salary-class"] == "keep"


def _variant(tmp_path: Path, **changes: str) -> Path:
    text = POLICY.read_text()
    for old, new in changes.items():
        assert old in text
        text = text.replace(old, new)
    shutil.copytree(POLICY.parent / "hierarchies", tmp_path / "hierarchies", dirs_exist_ok=True)
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return path


def test_star_suppression_keeps_every_row(adult_parts: Path, tmp_path: Path) -> None:
    policy = _variant(tmp_path, **{"suppression: drop": "suppression: star"})
    _run(policy, adult_parts, tmp_path / "out")
    released = pl.read_parquet(tmp_path / "out" / "*.parquet")
    assert released.height == 30_162
    starred = released.filter(pl.all_horizontal(pl.col(q) == "*" for q in QIS))
    assert starred.height >= 906


def test_mondrian_policy(adult_parts: Path, tmp_path: Path) -> None:
    policy = _variant(
        tmp_path,
        **{
            "algorithm: full_domain": "algorithm: mondrian",
            "suppression_limit: 0.04": "suppression_limit: 0",
            "age: {file: hierarchies/adult/age.csv}": "age: {}",
        },
    )
    _run(policy, adult_parts, tmp_path / "out")
    released = pl.read_parquet(tmp_path / "out" / "*.parquet")
    assert released.height == 30_162
    assert released.group_by(QIS).len()["len"].min() >= 5
    record = json.loads((tmp_path / "out" / "anonymizer-manifest.json").read_text())["privacy"]
    assert record["algorithm"] == "mondrian" and record["classes"] > 1046


def test_mondrian_policy_with_t_closeness(adult_parts: Path, tmp_path: Path) -> None:
    policy = _variant(
        tmp_path,
        **{
            "algorithm: full_domain": "algorithm: mondrian",
            "suppression_limit: 0.04": "suppression_limit: 0",
            "age: {file: hierarchies/adult/age.csv}": "age: {}",
            "  quasi_identifiers:": "  sensitive: salary-class\n  t_closeness: {t: 0.15}\n"
            "  quasi_identifiers:",
        },
    )
    _run(policy, adult_parts, tmp_path / "out")
    released = pl.read_parquet(tmp_path / "out" / "*.parquet")
    record = json.loads((tmp_path / "out" / "anonymizer-manifest.json").read_text())["privacy"]
    assert record["algorithm"] == "mondrian" and record["t_achieved"] <= 0.15
    overall = released["salary-class"].value_counts(normalize=True)
    share = dict(zip(overall["salary-class"], overall["proportion"], strict=True))
    for group in released.partition_by(QIS):
        local = group["salary-class"].value_counts(normalize=True)
        mine = dict(zip(local["salary-class"], local["proportion"], strict=True))
        assert 0.5 * sum(abs(mine.get(v, 0.0) - p) for v, p in share.items()) <= 0.15 + 1e-9


def test_trust_file_can_require_a_minimum_k(adult_parts: Path, tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    assert run_cli(["keys", "init", str(keys)]).returncode == 0
    _run(POLICY, adult_parts, tmp_path / "out", "-k", str(keys))
    exported = run_cli(["keys", "export-public", "-k", str(keys)]).stdout
    trust = tmp_path / "trust.yaml"
    trust.write_text(exported + "require:\n  min_k: 5\n")
    verify_dataset(tmp_path / "out", load_trust(trust))
    trust.write_text(exported + "require:\n  min_k: 10\n")
    with pytest.raises(VerificationError, match=r"achieved k 5; the trust file requires k >= 10"):
        verify_dataset(tmp_path / "out", load_trust(trust))
    refused = run_cli(["verify", str(tmp_path / "out"), "--trust", str(trust)])
    assert refused.returncode == 1


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("k: 0", "privacy.k"),
        ("suppression_limit: 2", "privacy.suppression_limit"),
        ("l_diversity: {l: 2}", "need a 'sensitive' column"),
        ("sensitive: age", "cannot be both sensitive and a QI"),
    ],
)
def test_bad_privacy_sections(yaml_text: str, message: str) -> None:
    base = "name: p\nprivacy:\n  k: 2\n  quasi_identifiers:\n    age: {intervals: [5]}\n"
    key = yaml_text.split(":", maxsplit=1)[0]
    text = "\n".join(ln for ln in base.splitlines() if not ln.strip().startswith(f"{key}:"))
    with pytest.raises(PolicyError) as caught:
        parse_policy(text + f"\n  {yaml_text}\n")
    assert any(message in p for p in caught.value.problems), caught.value.problems


def test_run_refuses_bad_privacy_input_without_output(adult_parts: Path, tmp_path: Path) -> None:
    policy = _variant(
        tmp_path, **{"age: {file: hierarchies/adult/age.csv}": "age: {file: nope.csv}"}
    )
    result = run_cli(["run", "-p", str(policy), str(adult_parts), str(tmp_path / "out")])
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "nope.csv: cannot read hierarchy" in result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    policy = _variant(tmp_path)
    (tmp_path / "hierarchies" / "adult" / "race.csv").write_text("White;*\n")
    result = run_cli(["run", "-p", str(policy), str(adult_parts), str(tmp_path / "out2")])
    assert "hierarchy for 'race' has no row for" in result.stderr
    assert not (tmp_path / "out2").exists() or not any((tmp_path / "out2").iterdir())
