"""The shipped presets: listed, written out to edit (with their hierarchies), loadable, and in
the wheel with the manifest schema and the typing marker."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from anonymizer_ml.errors import OutputError, PolicyError
from anonymizer_ml.policy.load import load_policy
from anonymizer_ml.presets import PRESETS, preset_names, write_preset
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]


def test_the_repository_rules_are_the_shipped_presets() -> None:
    assert (ROOT / "rules").resolve() == PRESETS
    assert preset_names() == ["adult-k5", "customers", "erasable", "vault"]


@pytest.mark.parametrize("name", ["adult-k5", "customers", "erasable", "vault"])
def test_each_preset_written_out_loads_and_equals_the_shipped_file(
    name: str, tmp_path: Path
) -> None:
    target = tmp_path / "mine" / "policy.yaml"
    written = write_preset(name, target)
    assert written[0] == target
    assert target.read_bytes() == (PRESETS / f"{name}.yaml").read_bytes()
    load_policy(target)  # hierarchies resolve beside it
    assert not list(tmp_path.rglob(".*.partial"))


def test_a_preset_with_hierarchies_brings_them() -> None:
    names = {p.name for p in (PRESETS / "hierarchies" / "adult").iterdir()}
    assert {"age.csv", "sex.csv"} <= names


def test_an_unknown_preset_or_an_existing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no preset 'custmers'; presets: adult-k5, customers"):
        write_preset("custmers", tmp_path / "p.yaml")
    (tmp_path / "p.yaml").write_text("mine")
    with pytest.raises(OutputError, match="exists; choose another path or pass --overwrite"):
        write_preset("customers", tmp_path / "p.yaml")
    assert (tmp_path / "p.yaml").read_text() == "mine"
    write_preset("customers", tmp_path / "p.yaml", overwrite=True)
    assert (tmp_path / "p.yaml").read_bytes() == (PRESETS / "customers.yaml").read_bytes()


def test_policy_init_on_the_command_line(tmp_path: Path) -> None:
    done = run_cli(["policy", "init", "--preset", "customers", str(tmp_path / "p.yaml")])
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and (tmp_path / "p.yaml").is_file()
    again = run_cli(["policy", "init", "--preset", "customers", str(tmp_path / "p.yaml")])
    assert again.returncode == 1
    assert again.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'p.yaml'} exists; choose another path or pass --overwrite"
    ]
    listed = run_cli(["policy", "presets"])
    assert listed.stdout.split() == ["adult-k5", "customers", "erasable", "vault"]


def test_the_wheel_holds_the_schema_the_typing_marker_and_the_presets(tmp_path: Path) -> None:
    build = ["wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)]
    done = subprocess.run(
        [sys.executable, "-m", "pip", *build],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    [wheel] = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "anonymizer_ml/lineage/schema/run-manifest-v1.schema.json" in names
    assert "anonymizer_ml/py.typed" in names
    assert {f"anonymizer_ml/presets/{n}.yaml" for n in preset_names()} <= names
    assert "anonymizer_ml/presets/hierarchies/adult/age.csv" in names
