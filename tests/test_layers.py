"""Lower layers never import higher ones (cli → runners → policy/report/dp/hooks →
transforms/lineage → detect/crypto/privacy): a walk over every module's imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "anonymizer_ml"
ABOVE_THE_PRIMITIVES = ("transforms", "runners", "api", "hooks", "report", "dp", "cli")


def imported(path: Path) -> set[str]:
    """The ``anonymizer_ml.*`` modules a file imports (from-imports and plain imports)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {n for n in names if n == "anonymizer_ml" or n.startswith("anonymizer_ml.")}


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


@pytest.mark.parametrize("layer", ["crypto", "detect", "privacy"])
def test_primitives_import_no_higher_layer(layer: str) -> None:
    offending = [
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in sorted((PACKAGE / layer).rglob("*.py"))
        for module in imported(path)
        if _top(module).startswith(ABOVE_THE_PRIMITIVES)
    ]
    assert offending == []


@pytest.mark.parametrize("layer", ["policy", "report", "dp", "hooks", "transforms", "lineage"])
def test_the_middle_layers_import_no_runner(layer: str) -> None:
    offending = [
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in sorted((PACKAGE / layer).rglob("*.py"))
        for module in imported(path)
        if _top(module).startswith(("runners", "api", "cli"))
    ]
    assert offending == []


def test_runners_reach_the_dp_budget_only_through_the_plan() -> None:
    offending = [
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in sorted((PACKAGE / "runners").rglob("*.py"))
        for module in imported(path)
        if _top(module) == "dp"
    ]
    assert offending == []


def test_the_run_executors_never_read_the_policy() -> None:
    """The local and the Ray runner execute a RunPlan: they hand the Policy to ``compile_run``
    and read none of its fields, neither directly nor through a Plan (``plan.policy.dp``).
    Re-encryption after a key rotation is not a run and reads the dataset id it seals for."""
    offending = []
    for name in ("local.py", "ray.py", "kernel.py", "release.py", "commit.py", "inputs.py"):
        path = PACKAGE / "runners" / name
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Attribute):
                continue
            inner = node.value
            named = isinstance(inner, ast.Name) and inner.id in {"policy", "rules"}
            through = isinstance(inner, ast.Attribute) and inner.attr == "policy"
            if named or through:
                offending.append(f"{name}:{node.lineno} reads .{node.attr} of a policy")
    assert offending == []


def test_only_the_cli_imports_the_cli() -> None:
    offending = [
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if not path.name.startswith("cli") and path.name != "__main__.py"
        for module in imported(path)
        if _top(module).startswith("cli")
    ]
    assert offending == []


def test_the_walk_sees_imports() -> None:
    """The check above would pass vacuously if the walk found nothing."""
    assert "anonymizer_ml.crypto.field" in imported(PACKAGE / "crypto" / "decrypt.py")
    assert "anonymizer_ml.transforms" in imported(PACKAGE / "runners" / "reencrypt.py")


def test_training_code_importing_the_hooks_loads_no_pipeline() -> None:
    """``anonymizer_ml``'s public names load on first use: the hooks pull no plan or detector."""
    code = (
        "import sys, anonymizer_ml.hooks; "
        "heavy = ['anonymizer_ml.api', 'anonymizer_ml.policy.compile', "
        "'anonymizer_ml.detect.entities', 'anonymizer_ml.transforms']; "
        "print([m for m in heavy if m in sys.modules]); "
        "anonymizer_ml.anonymize_frame; print('anonymizer_ml.api' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split("\n")[:2] == ["[]", "True"]
