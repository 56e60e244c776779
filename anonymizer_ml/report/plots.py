"""The report's plots: matplotlib figures rendered to inline SVG (no network, no JavaScript).

matplotlib, not a JavaScript charting library: its SVG is static, prints as vector graphics,
needs no browser runtime or CDN, and renders offline in the same process; Altair would need a
separate renderer (vl-convert) for the same result. Text stays text (``svg.fonttype: none``), so
the numbers on a plot can be searched and read by a screen reader; the output is deterministic.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
from matplotlib.figure import Figure

_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)  # RDF boilerplate
RAW, SAFE, LINE = "#8c8c8c", "#1f6f8b", "#c0392b"
_STYLE: dict[str, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "anonymizer-report",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _svg(figure: Figure, title: str) -> str:
    """The figure as an ``<svg>`` element with a title (for screen readers), header stripped."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = _METADATA.sub("", buffer.getvalue())
    start = text.index("<svg")
    head_end = text.index(">", start) + 1
    return f"{text[start:head_end]}<title>{title}</title>{text[head_end:]}"


def _label(value: float, percent: bool) -> str:
    if percent:
        return f"{value:.1%}"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.3g}"


def _bars(
    labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    title: str,
    xlabel: str,
    percent: bool = False,
) -> str:
    """Horizontal grouped bars, one group per label, each bar's value written beside it."""
    with matplotlib.rc_context(_STYLE):  # type: ignore[arg-type]
        height = max(1.6, 0.32 * len(labels) * len(series) + 0.8)
        figure = Figure(figsize=(7.0, height))  # no pyplot: no global figure registry
        axes = figure.subplots()
        width = 0.8 / len(series)
        colours = [RAW, SAFE] if len(series) == 2 else [SAFE]
        for n, (name, values) in enumerate(series.items()):
            positions = [i + (n - (len(series) - 1) / 2) * width for i in range(len(labels))]
            bars = axes.barh(positions, values, height=width, label=name, color=colours[n % 2])
            shown = [_label(v, percent) for v in values]
            axes.bar_label(bars, labels=shown, padding=2, fontsize=8)
        axes.set_yticks(range(len(labels)), labels)
        axes.invert_yaxis()
        axes.set_xlabel(xlabel)
        axes.set_title(title, loc="left")
        if len(series) > 1:
            axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
        axes.margins(x=0.15)
        return _svg(figure, title)


def entities_chart(detections: list[dict[str, Any]]) -> str | None:
    """Findings per column and entity type, summed over files."""
    totals: dict[str, int] = {}
    for entry in detections:
        for entity, count in entry["entities"].items():
            key = f"{entry['column']} · {entity}"
            totals[key] = totals.get(key, 0) + int(count)
    if not totals:
        return None
    ordered = sorted(totals.items(), key=lambda kv: -kv[1])
    return _bars(
        [k for k, _ in ordered],
        {"findings": [float(v) for _, v in ordered]},
        title="Entities found, per column and type",
        xlabel="findings",
    )


def class_sizes_chart(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str | None:
    """Equivalence classes per size band, before and after."""
    if after is None:
        return None
    bands = list(after["size_histogram"])
    series = {}
    if before is not None:
        series["raw input"] = [float(before["size_histogram"][b]) for b in bands]
    series["release"] = [float(after["size_histogram"][b]) for b in bands]
    return _bars(
        [f"size {b}" for b in bands],
        series,
        title="Equivalence classes by size",
        xlabel="classes",
    )


RISK_FIGURES = (
    ("prosecutor_highest", "prosecutor risk, highest"),
    ("prosecutor_average", "prosecutor risk, average"),
    ("journalist_highest", "journalist risk, highest"),
    ("marketer", "marketer risk"),
    ("sample_uniques", "sample uniques"),
    ("below_k", "records in classes below k"),
)


def risk_chart(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str | None:
    """The attacker models' risks before and after."""
    if after is None:
        return None
    shown = [(key, label) for key, label in RISK_FIGURES if after.get(key) is not None]
    series = {}
    if before is not None:
        series["raw input"] = [float(before.get(key) or 0.0) for key, _ in shown]
    series["release"] = [float(after[key]) for key, _ in shown]
    return _bars(
        [label for _, label in shown],
        series,
        title="Re-identification risk",
        xlabel="share",
        percent=True,
    )


def loss_chart(record: dict[str, Any] | None) -> str | None:
    """Information loss (GCP) per quasi-identifier."""
    if record is None or not record.get("gcp_by_qi"):
        return None
    losses = record["gcp_by_qi"]
    return _bars(
        list(losses),
        {"GCP": [float(v) for v in losses.values()]},
        title="Information loss per quasi-identifier (GCP: 0 exact, 1 fully generalised)",
        xlabel="GCP",
        percent=True,
    )


def dp_chart(receipts: list[dict[str, Any]], budget: dict[str, Any] | None) -> str | None:
    """ε spent after each training run, against the release's budget."""
    if not receipts:
        return None
    with matplotlib.rc_context(_STYLE):  # type: ignore[arg-type]
        figure = Figure(figsize=(7.0, 2.6))
        axes = figure.subplots()
        spent, total = [], 0.0
        for receipt in receipts:
            total += float(receipt["epsilon"])
            spent.append(total)
        runs = list(range(1, len(spent) + 1))
        axes.step(runs, spent, where="post", color=SAFE, label="ε spent")
        axes.plot(runs, spent, "o", color=SAFE)
        if budget is not None and budget.get("max_epsilon") is not None:
            axes.axhline(float(budget["max_epsilon"]), color=LINE, linestyle="--", label="budget")
        axes.set_xticks(
            runs, [str(r.get("finished_at", ""))[:16] for r in receipts], rotation=20, ha="right"
        )
        axes.set_ylabel("ε")
        axes.set_title("Privacy budget spent by training runs", loc="left")
        axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
        axes.set_ylim(bottom=0)
        return _svg(figure, "Privacy budget spent by training runs")


def utility_chart(figures: dict[str, Any] | None) -> str | None:
    """Accuracy and AUC of each model on raw and anonymised data."""
    if figures is None:
        return None
    labels, raw, safe = [], [], []
    for entry in figures["models"]:
        for metric in ("accuracy", "auc"):
            labels.append(f"{entry['model'].replace('_', ' ')} · {metric}")
            raw.append(float(entry["raw"][metric]))
            safe.append(float(entry["anonymised"][metric]))
    return _bars(
        labels,
        {"raw input": raw, "release": safe},
        title=f"Utility for training: predicting {figures['target']!r}",
        xlabel="score on the held-out 30 %",
        percent=True,
    )
