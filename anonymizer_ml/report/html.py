"""The run report as one self-contained HTML file: Jinja2 template, inline CSS and SVG plots.

No script, no external resource (a Content-Security-Policy forbids any), so it renders the
same offline, without JavaScript and on paper. Jinja2 and matplotlib are the ``report`` extra.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jinja2

from anonymizer_ml.errors import OutputError
from anonymizer_ml.report import plots
from anonymizer_ml.report.figures import Report

TEMPLATES = Path(__file__).with_name("templates")


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value) if isinstance(value, str | bool) else "–"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"
    return str(value)


def _percent(value: Any) -> str:
    return f"{float(value):.2%}" if isinstance(value, int | float) else "–"


def _fixed(value: Any, digits: int = 2) -> str:
    return f"{float(value):.{digits}f}" if isinstance(value, int | float) else "–"


def plots_of(report: Report) -> dict[str, str]:
    """Every plot the report's figures call for, by name, as inline SVG."""
    risk = report.risk
    made = {
        "entities": plots.entities_chart(report.detections),
        "loss": plots.loss_chart(risk.record),
        "class_sizes": plots.class_sizes_chart(risk.before, risk.after),
        "risk": plots.risk_chart(risk.before, risk.after),
        "dp": plots.dp_chart(report.dp.receipts, report.dp.budget),
        "utility": plots.utility_chart(report.utility.figures if report.utility else None),
    }
    return {name: svg for name, svg in made.items() if svg is not None}


def render_html(report: Report) -> str:
    """The whole page."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(num=_number, pct=_percent, fixed=_fixed)
    template = environment.get_template("report.html.j2")
    return template.render(
        r=report,
        plots=plots_of(report),
        risk_figures=plots.RISK_FIGURES,
        css=(TEMPLATES / "report.css").read_text(encoding="utf-8"),
    )


def write_html(report: Report, path: Path) -> Path:
    """Render the report to ``path`` atomically (temporary file, then rename)."""
    page = render_html(report)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(page, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(
            f"{path}: cannot write the report ({exc.strerror}); choose another path"
        ) from None
    return path
