"""``make bench``: streaming throughput and peak memory against a plain Parquet copy.

Every figure is a ratio against a baseline measured in the same run on the same file, because
these machines are noisy. Runs happen in subprocesses so peak RSS (``wait4``) is per run.
Sizes: ANONYMIZER_BENCH_SIZES_GB="1,4" (default). The baseline copy and the ``fast`` policy, whose
memory is compared across sizes, run ANONYMIZER_BENCH_REPEATS times (default 2): best wall time,
worst peak RSS. Results go to benchmarks/results.json.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.table import Table

from anonymizer_ml.crypto.keyset import generate_keyset, write_keyset
from anonymizer_ml.transforms.keyed import hmac_hex
from benchmarks.detection import CONFUSION, detection_figures
from benchmarks.measure import Measured, copy_args, figure, measure, run_args
from benchmarks.privacy import privacy_figures
from benchmarks.report_speed import report_figures
from benchmarks.scale import scale_figures
from fixtures.make_large import BYTES_PER_ROW_ON_DISK

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
RESULTS = HERE / "results.json"
DETECTION_ROWS = ("synth", "wnut17", "tab_", "detect_")

FAST_POLICY = """
name: bench-fast
unlisted_columns: keep
columns:
  customer_id: {action: hash_token, prefix: "cus_"}
  full_name: {action: mask, keep_first: 1}
  email: {action: hash_token}
  phone: {action: mask, keep_last: 2}
  zip: {action: generalize, keep_prefix: 3}
  birth_date: {action: generalize, date_part: year}
  salary: {action: generalize, width: 10000, top: 200000}
  support_notes: {action: redact}
"""

FULL_POLICY = FAST_POLICY.replace(
    "full_name: {action: mask, keep_first: 1}", "full_name: {action: surrogate, kind: name}"
).replace("email: {action: hash_token}", "email: {action: surrogate, kind: email}")

# The shape of rules/customers.yaml: tokens, surrogates, masks, generalisation, a date shift.
CUSTOMERS_POLICY = (
    FULL_POLICY + "  signup_date: {action: date_shift, subject: customer_id, max_days: 45}\n"
)

# One family at a time, every other column kept: what each kind of transform costs.
FAMILY_POLICIES = {
    "token_1col": "customer_id: {action: hash_token}",
    "mask_1col": "full_name: {action: mask, keep_first: 1}",
    "surrogate_2col": "full_name: {action: surrogate, kind: name}\n"
    "  email: {action: surrogate, kind: email}",
    "date_shift_1col": "signup_date: {action: date_shift, subject: customer_id, max_days: 45}",
    "generalize_3col": "zip: {action: generalize, keep_prefix: 3}\n"
    "  birth_date: {action: generalize, date_part: year}\n"
    "  salary: {action: generalize, width: 10000, top: 200000}",
}


def policies() -> dict[str, str]:
    """Every benchmarked policy by name; ``fast`` is the one measured at every size."""
    found = {"fast": FAST_POLICY, "full_surrogates": FULL_POLICY, "customers": CUSTOMERS_POLICY}
    for name, rules in FAMILY_POLICIES.items():
        found[name] = f"name: {name}\nunlisted_columns: keep\ncolumns:\n  {rules}\n"
    return found


def measure_repeated(mode: str, target: str, args: list[str], repeats: int) -> Measured:
    """Best wall time and worst peak RSS over ``repeats`` runs (both sides of a ratio alike)."""
    runs = [measure(mode, target, args) for _ in range(repeats)]
    return Measured(
        returncode=0,
        seconds=min(r.seconds for r in runs),
        peak_rss_mib=max(r.peak_rss_mib for r in runs),
        stderr="",
    )


def dataset(size_gb: float) -> Path:
    rows = int(size_gb * 1e9 / BYTES_PER_ROW_ON_DISK)
    path = DATA / f"customers-{size_gb:g}gb.parquet"
    if not path.exists():  # in a subprocess, so this process stays small
        code = "import sys; from pathlib import Path; from fixtures.make_large import write_large; "
        code += "write_large(Path(sys.argv[1]), int(sys.argv[2]))"
        subprocess.run([sys.executable, "-c", code, str(path), str(rows)], check=True)
    return path


def hmac_figures(values: int = 1_000_000) -> dict[str, dict[str, object]]:
    """Native (polars-hash) HMAC vs stdlib hmac, per value, over the same texts."""
    key = generate_keyset(["tokenize"]).for_purpose("tokenize")
    texts = [f"user{i}@example.com" for i in range(values)]
    series = pl.Series("v", texts)
    start = time.perf_counter()
    native = pl.select(hmac_hex(pl.lit(series), key)).to_series()
    native_us = (time.perf_counter() - start) / values * 1e6
    raw_key = key.material.hex().encode()
    start = time.perf_counter()
    reference = [hmac.new(raw_key, t.encode(), hashlib.sha256).hexdigest() for t in texts]
    stdlib_us = (time.perf_counter() - start) / values * 1e6
    assert native.to_list() == reference
    return {
        "hmac_native_us_per_value": figure(native_us, "us/value", stdlib_us, digits=3),
    }


ENCRYPT_POLICY = "name: bench-encrypt\ncolumns:\n  email: {action: encrypt}\n"
STRINGS_CODE = (
    "import sys, polars as pl; n = int(sys.argv[2]); i = pl.col('i'); "
    "pl.LazyFrame({'i': pl.int_range(0, n, dtype=pl.Int64, eager=True)}).select("
    "email=pl.lit('user') + i.cast(pl.String) + '@mail' + (i % 97).cast(pl.String) + '.test')"
    ".sink_parquet(sys.argv[1], row_group_size=100_000)"
)


def encryption_figures(values: int) -> dict[str, dict[str, object]]:
    """Encrypt and decrypt ``values`` short strings, each against a copy of the same file."""
    source = DATA / f"strings-{values // 1_000_000}m.parquet"
    if not source.exists():
        subprocess.run([sys.executable, "-c", STRINGS_CODE, str(source), str(values)], check=True)
    keyset = DATA / "keyset-encrypt.json"
    if not keyset.exists():
        write_keyset(generate_keyset(["encrypt"]), keyset)
    policy = DATA / "encrypt.yaml"
    policy.write_text(ENCRYPT_POLICY)
    out = DATA / "out-encrypt"
    copy = measure(*copy_args(source, DATA / "copy-strings.parquet"))
    ours = measure(*run_args(policy, keyset, source, out))
    encrypted = out / source.name
    copy_encrypted = measure(*copy_args(encrypted, DATA / "copy-encrypted.parquet"))
    args = [
        "decrypt",
        "-p",
        str(policy),
        "-k",
        str(keyset),
        "--columns",
        "email",
        str(encrypted),
        str(DATA / "decrypted.parquet"),
    ]
    decrypted = measure("-m", "anonymizer_ml", args)
    figures: dict[str, dict[str, object]] = {}
    for name, run, base in (("encrypt", ours, copy), ("decrypt", decrypted, copy_encrypted)):
        figures[f"{name}_{values // 1_000_000}m_strings_wall"] = figure(
            run.seconds, "s", base.seconds, digits=2
        )
        figures[f"{name}_values_per_s"] = figure(
            values / run.seconds, "values/s (2 worker processes)"
        )
    return figures


def streaming_figures(sizes: list[float], repeats: int) -> dict[str, dict[str, object]]:
    """Per-policy wall time and peak RSS against a plain copy, and RSS growth across sizes."""
    keyset = DATA / "keyset.json"
    if not keyset.exists():
        write_keyset(generate_keyset(), keyset)
    policy_files = {}
    for name, text in policies().items():
        policy_files[name] = DATA / f"{name}.yaml"
        policy_files[name].write_text(text)
    results: dict[str, dict[str, object]] = {}
    rss: dict[float, float] = {}
    for size in sizes:
        source = dataset(size)
        tag = f"{size:g}gb"
        results[f"input_{tag}_size"] = figure(source.stat().st_size / 2**20, "MiB")
        copy = measure_repeated(*copy_args(source, DATA / "copy.parquet"), repeats)
        for name, policy in policy_files.items():
            if name != "fast" and size != sizes[0]:
                continue  # the per-family ratios need one size; memory growth needs "fast"
            times = repeats if name == "fast" else 1
            ours = measure_repeated(*run_args(policy, keyset, source, DATA / f"out-{name}"), times)
            results[f"{name}_{tag}_wall"] = figure(ours.seconds, "s", copy.seconds, digits=2)
            results[f"{name}_{tag}_peak_rss"] = figure(ours.peak_rss_mib, "MiB", copy.peak_rss_mib)
            if name == "fast":
                rss[size] = ours.peak_rss_mib
    if len(rss) > 1:
        small, large = min(rss), max(rss)
        results[f"peak_rss_growth_{large:g}gb_vs_{small:g}gb"] = figure(
            rss[large], "MiB", rss[small]
        )
    return results


def main() -> None:
    """Run the groups named in ANONYMIZER_BENCH_ONLY (default all), merge into results.json."""
    default = "streaming,encryption,hmac,privacy,detection,report,scale"
    groups = os.environ.get("ANONYMIZER_BENCH_ONLY", default).split(",")
    sizes = [float(s) for s in os.environ.get("ANONYMIZER_BENCH_SIZES_GB", "1,4").split(",")]
    repeats = int(os.environ.get("ANONYMIZER_BENCH_REPEATS", "2"))
    values = int(os.environ.get("ANONYMIZER_BENCH_ENCRYPT_VALUES", "10000000"))
    DATA.mkdir(exist_ok=True)
    results: dict[str, dict[str, object]] = (
        json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    )
    if "streaming" in groups:
        results.update(streaming_figures(sizes, repeats))
    if "encryption" in groups:
        results.update(encryption_figures(values))
    if "hmac" in groups:
        results.update(hmac_figures())
    if "privacy" in groups:
        results.update(privacy_figures())
    if "report" in groups:
        rows = int(os.environ.get("ANONYMIZER_BENCH_REPORT_ROWS", "10000000"))
        results.update(report_figures(DATA, rows))
    if "scale" in groups:
        keyset, policy = DATA / "keyset.json", DATA / "customers.yaml"
        if not keyset.exists():
            write_keyset(generate_keyset(), keyset)
        policy.write_text(CUSTOMERS_POLICY)
        rows = os.environ.get("ANONYMIZER_BENCH_SCALE_ROWS", "4000000,16000000")
        results.update(scale_figures(DATA, policy, keyset, [int(r) for r in rows.split(",")]))
    if "detection" in groups:
        # Rows of an earlier layout of this group would sit beside the new ones as if current.
        results = {k: v for k, v in results.items() if not k.startswith(DETECTION_ROWS)}
        results.update(detection_figures())
        print(CONFUSION.read_text(encoding="utf-8"))
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    table = Table(title="anonymizer benchmarks (ratio = ours / baseline, same run, same file)")
    for column in ("figure", "value", "unit", "baseline", "ratio"):
        table.add_column(column)
    for name, fig in results.items():
        table.add_row(name, *(str(fig[k]) for k in ("value", "unit", "baseline", "ratio")))
    Console(width=132).print(table)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
