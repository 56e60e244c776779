"""The report's cost against the run it reports on: a customer-like policy over generated rows,
then ``anonymizer report`` (hash checks, signature, risk before and after, plots) of its output,
each in its own process, in the same benchmark run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from anonymizer_ml.crypto.keyset import generate_keyset, write_keyset
from benchmarks.measure import figure, measure, run_args
from fixtures.make_large import LARGE_POLICY

# The crash tests' customer-style policy (token, surrogates, mask, generalisations, redaction).
REPORT_POLICY = LARGE_POLICY.replace("unlisted_columns: error", "unlisted_columns: drop")


def report_figures(data: Path, rows: int) -> dict[str, dict[str, object]]:
    """Wall time and peak RSS of the report against those of the run, on ``rows`` rows."""
    source = data / f"customers-{rows // 1_000_000}m-rows.parquet"
    if not source.exists():  # in a subprocess, so this process stays small
        subprocess.run(
            [sys.executable, "-m", "fixtures.make_large", str(rows), str(source)], check=True
        )
    keyset, trust, policy = data / "report-keys.json", data / "report-trust.yaml", data / "r.yaml"
    write_keyset(generate_keyset(), keyset)
    exported = subprocess.run(
        [sys.executable, "-m", "anonymizer_ml", "keys", "export-public", "-k", str(keyset)],
        capture_output=True,
        text=True,
        check=True,
    )
    trust.write_text(exported.stdout)
    policy.write_text(REPORT_POLICY)
    out, html = data / "out-report", data / "report.html"
    run = measure(*run_args(policy, keyset, source, out))
    report = measure(
        "-m", "anonymizer_ml", ["report", str(out), "--trust", str(trust), "--html", str(html)]
    )
    tag = f"{rows // 1_000_000}m_rows"
    return {
        f"report_{tag}_wall": figure(report.seconds, "s (report / its run)", run.seconds, digits=2),
        f"report_{tag}_peak_rss": figure(
            report.peak_rss_mib, "MiB (report / its run)", run.peak_rss_mib
        ),
    }
