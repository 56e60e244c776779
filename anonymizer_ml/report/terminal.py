"""Rich renderings of plans and runs, and a progress bar for terminals."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from anonymizer_ml.detect.classify import ColumnClass
from anonymizer_ml.detect.entities import NO_NER_WARNING
from anonymizer_ml.lineage.outcome import RunResult
from anonymizer_ml.policy.models import RULE_MODELS
from anonymizer_ml.privacy.risk import RiskReport


def params_text(action: str, params: dict[str, Any]) -> str:
    """Only the parameters the policy set away from their defaults, as one line."""
    if action not in RULE_MODELS:  # the privacy stage's recoding: every parameter matters
        return ", ".join(f"{k}={v}" for k, v in params.items())
    fields = RULE_MODELS[action].model_fields
    shown = {k: v for k, v in params.items() if k not in fields or v != fields[k].default}
    return ", ".join(f"{k}={v}" for k, v in shown.items())


def plan_table(steps: list[dict[str, Any]], title: str) -> Table:
    """A table of plan steps: column, action, parameters, transform version, key id."""
    table = Table(title=title, title_justify="left")
    for name in ("column", "action", "params", "version", "key id"):
        table.add_column(name)
    for step in steps:
        action = step["action"]
        if step.get("source") == "unlisted_columns":
            action += " (unlisted)"
        table.add_row(
            step["column"],
            action,
            params_text(step["action"], step["params"]),
            step["transform_version"],
            step["key_id"] or "",
        )
    return table


def scan_table(classes: list[ColumnClass], title: str) -> Table:
    """Column, kind, share of sampled values, name hint, masked examples, findings in text."""
    table = Table(title=f"scan of {title}", title_justify="left")
    for name in ("column", "type", "kind", "share", "name hint", "examples / findings"):
        table.add_column(name)
    for cls in classes:
        detail = ", ".join(cls.examples) or ", ".join(f"{k} {v}" for k, v in cls.entities.items())
        table.add_row(cls.column, cls.dtype, cls.kind, f"{cls.share:.0%}", cls.hint or "", detail)
    return table


def _journalist_rows(report: RiskReport) -> list[tuple[str, str]]:
    if report.journalist_highest is None or report.k_map is None:
        return [("journalist risk, k-map", "needs population (--population FILE)")]
    return [
        ("population records", f"{report.population_records:,}"),
        ("journalist risk, highest", f"{report.journalist_highest:.2%}"),
        ("journalist risk, average", f"{report.journalist_average or 0:.2%}"),
        ("k-map (smallest population class)", f"{report.k_map:,}"),
    ]


def risk_table(report: RiskReport, title: str) -> Table:
    """The risk report as two columns: figure and value."""
    table = Table(title=f"re-identification risk of {title}", title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        ("quasi-identifiers", ", ".join(report.quasi_identifiers)),
        ("records", f"{report.records:,}"),
        ("equivalence classes", f"{report.classes:,}"),
        ("k achieved (smallest class)", f"{report.k_achieved:,}"),
        ("prosecutor risk, highest", f"{report.prosecutor_highest:.2%}"),
        ("prosecutor risk, average", f"{report.prosecutor_average:.2%}"),
        ("records at highest risk", f"{report.records_at_highest_risk:.2%}"),
        *_journalist_rows(report),
        ("marketer risk", f"{report.marketer:.2%}"),
        (f"records in classes smaller than {report.k}", f"{report.below_k:.2%}"),
        ("sample uniques", f"{report.sample_uniques:.2%}"),
        (
            "class sizes",
            "  ".join(f"{size}: {count:,}" for size, count in report.size_histogram.items()),
        ),
    ]
    if report.sensitive is not None:
        rows += [
            (f"distinct l of {report.sensitive!r}", str(report.l_distinct)),
            (f"entropy l of {report.sensitive!r}", f"{report.l_entropy:.2f}"),
            (f"t-closeness of {report.sensitive!r}", f"{report.t_closeness:.3f}"),
        ]
    for figure, value in rows:
        table.add_row(figure, value)
    return table


def privacy_line(record: dict[str, Any]) -> str:
    """One line on what the privacy stage achieved."""
    parts = [
        f"privacy: {record['algorithm']}",
        f"k={record['k']} (achieved {record['k_achieved']})",
        f"{record['classes']:,} classes",
        f"{record['records_suppressed']:,} records suppressed ({record['suppression']})",
    ]
    if record.get("levels"):
        parts.append("levels " + ", ".join(f"{c}={v}" for c, v in record["levels"].items()))
    if record.get("l_achieved") is not None:
        parts.append(f"l achieved {record['l_achieved']:g}")
    return "; ".join(parts)


def print_run_summary(console: Console, result: RunResult) -> None:
    """Columns and actions, rows, time, and where the output and manifest went."""
    manifest = result.manifest
    console.print(
        plan_table(manifest.plan, f"policy {manifest.policy.name} v{manifest.policy.version}")
    )
    rate = result.rows / result.seconds if result.seconds > 0 else float("inf")
    engine = manifest.tool.engine
    where = f", on Ray ({engine['workers']} workers)" if engine.get("runner") == "ray" else ""
    console.print(
        f"rows: {result.rows:,} in {result.seconds:.2f} s ({rate:,.0f} rows/s), "
        f"{len(manifest.inputs)} file(s){where}"
    )
    if manifest.privacy is not None:
        console.print(privacy_line(manifest.privacy))
    out_dir = result.manifest_path.parent
    for record in manifest.outputs:
        console.print(f"safe data: {out_dir / record.path}")
    console.print(f"manifest:  {result.manifest_path}")


def run_warnings(result: RunResult) -> list[str]:
    """What a user must hear about a finished run, even with --quiet (printed on stderr)."""
    warnings = []
    if result.stale_removed:
        warnings.append(
            f"removed {result.stale_removed} temporary file(s) that an earlier, interrupted run "
            f"left in {result.manifest_path.parent}"
        )
    for step in result.manifest.plan:
        params = step["params"]
        if params.get("ner") == "auto" and params.get("detectors", {}).get("ner") == "none":
            warnings.append(f"column {step['column']!r}: {NO_NER_WARNING}")
    if not result.signed:
        warnings.append(
            f"{result.manifest_path}: not signed (the keyset has no sign key), so verify and the "
            "training hooks will refuse this release; add one: anonymizer keys add KEYSET "
            "--purpose sign, then run again"
        )
    return warnings


def run_document(result: RunResult) -> dict[str, object]:
    """The result of a run as one JSON document (``run --json``)."""
    manifest = result.manifest
    out_dir = result.manifest_path.parent
    return {
        "run_id": manifest.run_id,
        "rows": result.rows,
        "seconds": round(result.seconds, 3),
        "policy": {"name": manifest.policy.name, "digest": manifest.policy.digest},
        "outputs": [{"path": str(out_dir / o.path), "rows": o.rows} for o in manifest.outputs],
        "manifest": str(result.manifest_path),
        "signed": result.signed,
        "privacy": manifest.privacy,
        "warnings": run_warnings(result),
    }


class RichProgress:
    """A progress bar with rows/s, shown only while it is used as a context manager."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("anonymizing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rows"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._task = self._progress.add_task("rows", total=None, rate="")

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def start(self, total_rows: int) -> None:
        """Set the number of rows the bar counts up to."""
        self._progress.update(self._task, total=total_rows)

    def advance(self, rows: int) -> None:
        """Count one streamed batch."""
        self._progress.advance(self._task, rows)
        speed = self._progress.tasks[0].speed
        self._progress.update(self._task, rate=f"{speed:,.0f} rows/s" if speed else "")
