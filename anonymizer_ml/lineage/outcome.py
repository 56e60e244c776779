"""What a run produced, as the runners hand it to the report and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from anonymizer_ml.lineage.manifest import RunManifest


@dataclass(frozen=True)
class RunResult:
    """What a run produced: the manifest, where it went, and how long it took."""

    manifest: RunManifest
    manifest_path: Path
    rows: int
    seconds: float
    stale_removed: int = 0
    signed: bool = False
