"""Every shell command in the README runs as written, in order, in a fresh directory.

The directory holds ``fixtures/`` and ``rules/`` as a clone has them; ``anonymizer`` and
``python`` are this venv's (as after ``source .venv/bin/activate``). The ``make`` lines are the
build itself and are not run here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl

from tests.conftest import ROOT

BLOCK = re.compile(r"```sh\n(.*?)```", re.DOTALL)


def shell_blocks() -> list[str]:
    """The README's ``sh`` blocks, without the ``make`` lines."""
    blocks = []
    for block in BLOCK.findall((ROOT / "README.md").read_text(encoding="utf-8")):
        lines = [line for line in block.splitlines() if not line.startswith("make ")]
        if any(line.strip() for line in lines):
            blocks.append("\n".join(lines))
    return blocks


def test_the_readme_has_the_commands_it_promises() -> None:
    text = "\n".join(shell_blocks())
    for command in ("keys init", "run --policy", "decrypt", "keys forget", "verify", "risk"):
        assert f"anonymizer {command}" in text


def test_every_readme_shell_block_runs_as_written(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    (tmp_path / "fixtures").symlink_to(ROOT / "fixtures")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANONYMIZER_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    printed = []
    for number, block in enumerate(shell_blocks(), start=1):
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert result.returncode == 0, f"README block {number} failed:\n{block}\n{result.stderr}"
        assert "Traceback" not in result.stderr, result.stderr
        printed.append(result.stdout)
    assert any("erased: subject subject-" in out for out in printed)
    erased = pl.read_parquet(tmp_path / "erased.parquet")
    assert erased["email"].null_count() == 1 and erased.height == 5000
    assert pl.read_parquet(tmp_path / "plain.parquet")["salary"].null_count() < 5000
