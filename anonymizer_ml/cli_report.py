"""``anonymizer report``: one self-contained HTML page (or a JSON document) per run."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from anonymizer_ml.cli_common import JsonOption, stderr, stdout
from anonymizer_ml.errors import InputError, OutputError

if TYPE_CHECKING:
    from anonymizer_ml.crypto.keyset import Keyset
    from anonymizer_ml.lineage.verify import TrustPolicy

TargetOption = Annotated[
    str | None,
    typer.Option(
        "--target",
        help="Label column: train classifiers on raw vs anonymised data, report both.",
    ),
]


def default_html_path(outdir: Path) -> Path:
    """Beside the output directory, never inside it (verify refuses unlisted files)."""
    return outdir.parent / f"{outdir.name}-report.html"


def keyset_trust(keyset: Keyset | None) -> TrustPolicy | None:
    """A trust policy accepting the keyset's own signing keys (the run checking itself)."""
    if keyset is None:
        return None
    from anonymizer_ml.lineage.signing import SIGN_PURPOSE, public_key_of
    from anonymizer_ml.lineage.verify import TrustedKey, TrustPolicy

    keys = [
        TrustedKey(keyid=k.key_id, public_key=public_key_of(k))
        for k in keyset.keys
        if k.purpose == SIGN_PURPOSE
    ]
    return TrustPolicy(keys=keys) if keys else None


def _need_extra() -> None:
    needed = ("jinja2", "matplotlib", "sklearn")
    missing = [m for m in needed if importlib.util.find_spec(m) is None]
    if missing:
        raise InputError(
            f"the report needs {', '.join(missing)}: pip install 'anonymizer-ml[report]'"
        )


def write_report(
    outdir: Path,
    html: Path | None,
    *,
    trust: TrustPolicy | None,
    as_json: bool = False,
    target: str | None = None,
    qi: str | None = None,
    population: Path | None = None,
    canaries: Path | None = None,
) -> None:
    """Gather the run's figures and write the HTML page, or print them as JSON."""
    _need_extra()
    page = html or default_html_path(outdir)
    if outdir.resolve() in page.resolve().parents:
        raise OutputError(
            f"{page}: inside the release {outdir}, where verify would refuse a file the "
            "manifest does not list; write the report beside the directory"
        )
    from anonymizer_ml.privacy.table import as_lazy
    from anonymizer_ml.report.figures import gather
    from anonymizer_ml.report.html import write_html

    columns = [c.strip() for c in qi.split(",") if c.strip()] if qi else None
    people = as_lazy(population) if population is not None else None
    report = gather(
        outdir, trust=trust, qis=columns, population=people, canaries=canaries, target=target
    )
    if as_json:
        print(json.dumps(report.model_dump(mode="json"), indent=2))
        return
    path = write_html(report, page)
    stdout.print(f"report:    {path} ({report.verification.headline})", soft_wrap=True)
    if report.verification.status == "failed":
        stderr.print(
            f"warning: verification FAILED; the report at {path} says why",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def report_command(
    outdir: Annotated[Path, typer.Argument(help="Output directory of an anonymizer run.")],
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Where the page goes (default: OUTDIR-report.html beside it)."),
    ] = None,
    trust: Annotated[
        Path | None,
        typer.Option("--trust", help="Trust file: check the signature and rules as verify does."),
    ] = None,
    target: TargetOption = None,
    qi: Annotated[
        str | None,
        typer.Option("--qi", help="Quasi-identifiers for the risk figures, comma-separated."),
    ] = None,
    population: Annotated[
        Path | None,
        typer.Option("--population", help="Population table: journalist risk and k-map."),
    ] = None,
    canaries: Annotated[
        Path | None,
        typer.Option("--canaries", help="Canary file ('canaries plant'): audit their survival."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Write one self-contained HTML report of a run (verification first), or --json figures."""
    from anonymizer_ml.lineage.verify import load_trust

    write_report(
        outdir,
        html,
        trust=load_trust(trust) if trust is not None else None,
        as_json=as_json,
        target=target,
        qi=qi,
        population=population,
        canaries=canaries,
    )
