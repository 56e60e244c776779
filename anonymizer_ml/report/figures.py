"""Every figure of a run's report, gathered from its output directory (the ``--json`` document).

The manifest is read without trusting it first, so a tampered release still gets a report whose
first line says verification failed. What is checked: with a trust file, the same checks as
``anonymizer verify`` (signature, file list, trust rules); always, every output file's SHA-256.
Risk is measured on the released files and, when the raw input is still where the run read it
(and hashes as the manifest says), on the input's same columns: before and after. Only
aggregates enter the report, never values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from anonymizer_ml.dp.canaries import CanarySet, survival
from anonymizer_ml.dp.ledger import receipts
from anonymizer_ml.errors import AnonymizerError
from anonymizer_ml.lineage.manifest import (
    MANIFEST_NAME,
    FileRecord,
    RunManifest,
    read_manifest,
    sha256_file,
)
from anonymizer_ml.lineage.verify import TrustPolicy, verify_manifest
from anonymizer_ml.privacy.risk import risk_report
from anonymizer_ml.report.terminal import params_text

REPORT_VERSION: Literal["1"] = "1"
Status = Literal["verified", "failed", "not verified"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Check(_Model):
    """One verification check: passed (True), failed (False) or not run (None), and why."""

    name: str
    passed: bool | None
    detail: str


class Verification(_Model):
    """The overall status, the one line that opens the report, and each check."""

    status: Status
    headline: str
    signed_by: str | None
    checks: list[Check]


class RunSummary(_Model):
    """What ran, when, over how much."""

    run_id: str
    policy: dict[str, Any]
    tool: dict[str, Any]
    started_at: str
    finished_at: str
    input_files: int
    output_files: int
    rows_in: int
    rows_out: int


class PlanRow(_Model):
    """One input column: its action, parameters set, transform version and key id."""

    column: str
    action: str
    params: str
    transform_version: str
    key_id: str | None
    source: str


class RiskSection(_Model):
    """The privacy model's record and the risk of the same columns before and after."""

    record: dict[str, Any] | None
    quasi_identifiers: list[str]
    chosen_by: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    notes: list[str]


class DpSection(_Model):
    """The release's DP budget and the verified receipts of training runs on it."""

    budget: dict[str, Any] | None
    receipts: list[dict[str, Any]]
    spent: float
    notes: list[str]


class CanarySection(_Model):
    """Canaries committed in the manifest, and (with the canary file) how many survived."""

    committed: dict[str, int]
    audit: dict[str, dict[str, int]] | None
    notes: list[str]


class UtilitySection(_Model):
    """Classifiers trained on raw vs anonymised data, and where the figures come from."""

    source: Literal["manifest (signed)", "computed by this report (not signed)"]
    figures: dict[str, Any]


class Report(_Model):
    """The report document (``anonymizer report --json``), version ``report_version``."""

    report_version: Literal["1"] = REPORT_VERSION
    generated_at: str
    output_dir: str
    verification: Verification
    run: RunSummary
    plan: list[PlanRow]
    detections: list[dict[str, Any]]
    residual: list[dict[str, Any]]
    risk: RiskSection
    encryption: list[dict[str, Any]]
    dp: DpSection
    canaries: CanarySection
    utility: UtilitySection | None = None
    notes: list[str] = Field(default_factory=list)


def _hash_checks(root: Path, outputs: Sequence[FileRecord]) -> Iterator[Check]:
    for record in outputs:
        path = root / record.path
        if not path.is_file():
            yield Check(name=f"hash {record.path}", passed=False, detail="file is missing")
        elif sha256_file(path) != record.sha256:
            yield Check(
                name=f"hash {record.path}", passed=False, detail="content differs from the manifest"
            )
        else:
            yield Check(name=f"hash {record.path}", passed=True, detail="SHA-256 matches")


def verification(root: Path, manifest: RunManifest, trust: TrustPolicy | None) -> Verification:
    """Signature, file list and trust rules (with ``trust``), then every output's hash."""
    checks, signed_by = [], None
    if trust is None:
        checks.append(
            Check(
                name="signature, file list and trust rules",
                passed=None,
                detail="not checked: pass --trust TRUST (anonymizer keys export-public)",
            )
        )
    else:
        try:
            signed_by = verify_manifest(root, trust).key_id
            checks.append(
                Check(
                    name="signature, file list and trust rules",
                    passed=True,
                    detail=f"signed by {signed_by}; the files are the manifest's; rules hold",
                )
            )
        except AnonymizerError as exc:
            checks.append(
                Check(name="signature, file list and trust rules", passed=False, detail=str(exc))
            )
    checks += _hash_checks(root, manifest.outputs)
    failed = [c for c in checks if c.passed is False]
    if failed:
        return Verification(
            status="failed",
            headline=f"Verification FAILED: {failed[0].name}: {failed[0].detail}",
            signed_by=signed_by,
            checks=checks,
        )
    if trust is None:
        return Verification(
            status="not verified",
            headline="Not verified: the signature was not checked (no --trust); file hashes match",
            signed_by=None,
            checks=checks,
        )
    return Verification(
        status="verified",
        headline=f"Verified: signed by {signed_by}, every file matches the signed manifest",
        signed_by=signed_by,
        checks=checks,
    )


def _summary(manifest: RunManifest) -> RunSummary:
    return RunSummary(
        run_id=manifest.run_id,
        policy=manifest.policy.model_dump(),
        tool=manifest.tool.model_dump(),
        started_at=manifest.started_at,
        finished_at=manifest.finished_at,
        input_files=len(manifest.inputs),
        output_files=len(manifest.outputs),
        rows_in=sum(r.rows for r in manifest.inputs),
        rows_out=sum(r.rows for r in manifest.outputs),
    )


def _plan_rows(manifest: RunManifest) -> list[PlanRow]:
    return [
        PlanRow(
            column=str(step["column"]),
            action=str(step["action"]),
            params=params_text(str(step["action"]), step["params"]),
            transform_version=str(step["transform_version"]),
            key_id=step.get("key_id"),
            source=str(step.get("source", "policy")),
        )
        for step in manifest.plan
    ]


def quasi_identifiers(manifest: RunManifest, chosen: Sequence[str] | None) -> tuple[list[str], str]:
    """The columns risk is measured over, and who chose them."""
    if chosen:
        return list(chosen), "--qi"
    if manifest.privacy is not None:
        return list(manifest.privacy["quasi_identifiers"]), "the policy's privacy section"
    generalised = [str(s["column"]) for s in manifest.plan if s["action"] == "generalize"]
    return generalised, "the columns the policy generalised (pass --qi to choose)"


def input_files(manifest: RunManifest, base: Path | None = None) -> tuple[list[Path], str | None]:
    """The raw input files the run read, or why they cannot be used (moved, changed)."""
    root = Path(manifest.input_root)
    if not root.is_absolute() and base is not None:
        root = base / root
    paths = []
    for record in manifest.inputs:
        path = root / record.path
        if not path.is_file():
            return [], f"the raw input {path} is no longer there: no before figures"
        if path.stat().st_size != record.bytes or sha256_file(path) != record.sha256:
            return [], f"the raw input {path} changed since the run: no before figures"
        paths.append(path)
    return paths, None


def _measured(
    what: str, measure: Callable[[], dict[str, Any]], notes: list[str]
) -> dict[str, Any] | None:
    try:
        return measure()
    except (AnonymizerError, pl.exceptions.PolarsError, OSError) as exc:
        reason = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0][:160]
        notes.append(f"{what} not measured: {reason}")
        return None


def _risk(
    root: Path,
    manifest: RunManifest,
    qis: tuple[list[str], str],
    raw: tuple[list[Path], str | None],
    population: pl.LazyFrame | None,
) -> RiskSection:
    columns, chosen_by = qis
    notes: list[str] = []
    record = manifest.privacy
    if not columns:
        notes.append("no quasi-identifiers: the run has no privacy section and generalised none")
        return RiskSection(
            record=record,
            quasi_identifiers=[],
            chosen_by=chosen_by,
            before=None,
            after=None,
            notes=notes,
        )
    k = int(record["k"]) if record is not None else 5
    sensitive = record.get("sensitive") if record is not None else None
    outputs = [root / o.path for o in manifest.outputs]

    def measure(paths: list[Path], people: pl.LazyFrame | None) -> Callable[[], dict[str, Any]]:
        return lambda: risk_report(
            pl.scan_parquet(paths), columns, sensitive=sensitive, k=k, population=people
        ).as_dict()

    after = _measured("risk after", measure(outputs, population), notes)
    paths, missing = raw
    before = None
    if missing is not None:
        notes.append(missing)
    else:
        before = _measured("risk before", measure(paths, None), notes)
    return RiskSection(
        record=record,
        quasi_identifiers=columns,
        chosen_by=chosen_by,
        before=before,
        after=after,
        notes=notes,
    )


def _dp(root: Path, manifest: RunManifest, trust: TrustPolicy | None) -> DpSection:
    notes: list[str] = []
    found: list[dict[str, Any]] = []
    if trust is None:
        notes.append("the DP ledger is read only with --trust (its receipts are signed)")
    else:
        try:
            found = receipts(root, {k.keyid: k.public_key for k in trust.keys})
        except AnonymizerError as exc:
            notes.append(str(exc))
    found.sort(key=lambda r: str(r.get("finished_at", "")))
    return DpSection(
        budget=manifest.dp,
        receipts=found,
        spent=float(sum(float(r["epsilon"]) for r in found)),
        notes=notes,
    )


def _canaries(root: Path, manifest: RunManifest, secret: Path | None) -> CanarySection:
    committed: dict[str, int] = {}
    for entry in manifest.canaries or []:
        committed[str(entry["kind"])] = committed.get(str(entry["kind"]), 0) + 1
    if secret is None:
        note = "pass --canaries FILE to audit them" if committed else "no canaries in this run"
        return CanarySection(committed=committed, audit=None, notes=[note])
    frames = [pl.scan_parquet(root / o.path) for o in manifest.outputs]
    return CanarySection(
        committed=committed, audit=survival(CanarySet.load(secret), frames), notes=[]
    )


def gather(
    root: Path,
    *,
    trust: TrustPolicy | None = None,
    qis: Sequence[str] | None = None,
    population: pl.LazyFrame | None = None,
    canaries: Path | None = None,
    target: str | None = None,
) -> Report:
    """Every figure of the report for the run whose output is ``root``.

    With ``target``, classifiers for that label are trained on the raw input and on the release
    (unless the manifest already carries these figures, signed, from ``run --target``).
    """
    manifest = read_manifest(root / MANIFEST_NAME)  # not trusted yet: checked below
    # The raw input's hash and the release's (in verification) overlap: hashlib releases the GIL.
    with ThreadPoolExecutor(max_workers=1) as pool:
        raw_check = pool.submit(input_files, manifest)
        checked = verification(root, manifest, trust)
        raw = raw_check.result()
    notes: list[str] = []
    utility_section = None
    if manifest.report is not None and "utility" in manifest.report:
        utility_section = UtilitySection(
            source="manifest (signed)", figures=manifest.report["utility"]
        )
    elif target is not None:
        if raw[1] is not None:
            notes.append(f"utility not measured: {raw[1]}")
        else:
            from anonymizer_ml.report.utility import release_utility  # noqa: PLC0415 - sklearn

            outputs = [root / o.path for o in manifest.outputs]
            figures = release_utility(raw[0], outputs, target)
            utility_section = UtilitySection(
                source="computed by this report (not signed)", figures=figures
            )
    return Report(
        generated_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        output_dir=str(root),
        verification=checked,
        run=_summary(manifest),
        plan=_plan_rows(manifest),
        detections=list(manifest.detections),
        residual=list(manifest.residual),
        risk=_risk(root, manifest, quasi_identifiers(manifest, qis), raw, population),
        encryption=list(manifest.encryption),
        dp=_dp(root, manifest, trust),
        canaries=_canaries(root, manifest, canaries),
        utility=utility_section,
        notes=notes,
    )
