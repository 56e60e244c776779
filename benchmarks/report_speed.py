"""The report's cost against the run it reports on: a customer-like policy over generated rows,
then ``anonymizer report`` (hash checks, signature, risk before and after, plots) of its output,
each in its own process, in the same benchmark run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from anonymizer.crypto.keyset import generate_keyset, write_keyset
from benchmarks.measure import figure, measure, run_args

REPORT_POLICY = """
name: bench-report
unlisted_columns: drop
columns:
  customer_id: {action: hash_token, prefix: "cus_"}
  full_name: {action: surrogate, kind: name}
  email: {action: surrogate, kind: email}
  phone: {action: mask, keep_last: 2}
  zip: {action: generalize, keep_prefix: 3}
  birth_date: {action: generalize, date_part: year}
  salary: {action: generalize, width: 10000, top: 200000}
  support_notes: {action: redact}
"""


def report_figures(data: Path, rows: int) -> dict[str, dict[str, object]]:
    """Wall time and peak RSS of the report against those of the run, on ``rows`` rows."""
    source = data / f"customers-{rows // 1_000_000}m-rows.parquet"
    if not source.exists():
        code = "import sys; from pathlib import Path; from fixtures.make_large import write_large; "
        code += "write_large(Path(sys.argv[1]), int(sys.argv[2]))"
        subprocess.run([sys.executable, "-c", code, str(source), str(rows)], check=True)
    keyset, trust, policy = data / "report-keys.json", data / "report-trust.yaml", data / "r.yaml"
    write_keyset(generate_keyset(), keyset)
    exported = subprocess.run(
        [sys.executable, "-m", "anonymizer", "keys", "export-public", "-k", str(keyset)],
        capture_output=True,
        text=True,
        check=True,
    )
    trust.write_text(exported.stdout)
    policy.write_text(REPORT_POLICY)
    out, html = data / "out-report", data / "report.html"
    run = measure(*run_args(policy, keyset, source, out))
    report = measure(
        "-m", "anonymizer", ["report", str(out), "--trust", str(trust), "--html", str(html)]
    )
    tag = f"{rows // 1_000_000}m_rows"
    return {
        f"report_{tag}_wall": figure(report.seconds, "s (report / its run)", run.seconds, digits=2),
        f"report_{tag}_peak_rss": figure(
            report.peak_rss_mib, "MiB (report / its run)", run.peak_rss_mib
        ),
    }
