"""``anonymizer verify`` and ``anonymizer lineage …``: check a release, export its lineage."""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from anonymizer_ml.cli_common import (
    JsonOption,
    fail,
    guarded,
    stdout,
)
from anonymizer_ml.errors import AnonymizerError, InputError

if TYPE_CHECKING:
    from anonymizer_ml.lineage.verify import VerifiedDataset

lineage_app = typer.Typer(help="Export run lineage to other tools.", no_args_is_help=True)


@guarded
def verify_command(
    data_dir: Annotated[Path, typer.Argument(help="Output directory of an anonymizer run.")],
    trust: Annotated[Path, typer.Option("--trust", help="Trust file (accepted keys, rules).")],
    rescan: Annotated[
        bool, typer.Option("--rescan", help="Re-run detection on sampled output text.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Check signature, every file's hash and the trust policy; exit 0 ok, 1 refused, 2 usage."""
    from anonymizer_ml.lineage.erasures import erasures
    from anonymizer_ml.lineage.verify import load_trust, verify_dataset

    try:
        policy = load_trust(trust)
    except AnonymizerError as exc:
        raise fail([str(exc)], 2) from None
    dataset = verify_dataset(data_dir, policy)
    manifest = dataset.manifest
    erased = erasures(data_dir, {k.keyid: k.public_key for k in policy.keys})
    if as_json:
        print(json.dumps(_verified_document(dataset, erased), indent=2))
        return
    stdout.print(
        f"verified {data_dir}: {len(dataset.digests)} file(s), "
        f"{sum(o.rows for o in manifest.outputs):,} rows, policy {manifest.policy.name} "
        f"v{manifest.policy.version} ({manifest.policy.digest[:19]}…), signed by {dataset.key_id}, "
        f"finished {manifest.finished_at}"
    )
    for entry in erased:
        cells = sum(int(n) for n in entry.get("cells", {}).values())
        stdout.print(
            f"erased: subject {entry['subject_key_id']} at {entry['erased_at']} "
            f"({cells:,} cell(s) shredded, signed)",
            soft_wrap=True,
        )
    if rescan:
        _print_rescan(dataset)


def _verified_document(dataset: VerifiedDataset, erased: list[dict[str, Any]]) -> dict[str, Any]:
    """What ``verify --json`` prints: the checks passed and the release they describe."""
    manifest = dataset.manifest
    return {
        "verified": True,
        "root": str(dataset.root),
        "signed_by": dataset.key_id,
        "files": [{"path": o.path, "rows": o.rows, "sha256": o.sha256} for o in manifest.outputs],
        "policy": manifest.policy.model_dump(),
        "finished_at": manifest.finished_at,
        "privacy": manifest.privacy,
        "erasures": erased,
    }


def _print_rescan(dataset: VerifiedDataset) -> None:
    """Residual findings now, from the verified bytes, by the run's detectors (NER included when
    the run used it), next to what the run recorded; then what the scan cannot see."""
    from anonymizer_ml.lineage.residual import blind_spots, recorded_model, residual_findings
    from anonymizer_ml.lineage.verify import iter_verified_files

    recorded = {(r["file"], r["column"]): r["findings"] for r in dataset.manifest.residual}
    # Encrypted columns (cells or at rest) cannot carry readable input text: skipped.
    encrypted = {str(e["column"]) for e in dataset.manifest.encryption}
    model, notes = recorded_model(dataset.manifest.plan)
    found = [
        finding
        for name, data in iter_verified_files(dataset)
        for finding in residual_findings(
            io.BytesIO(data), name, dataset.manifest.plan, skip=encrypted, model=model
        )
    ]
    if not found:
        stdout.print("rescan: no output column still carries input text")
    for item in found:
        total = sum(item["findings"].values())
        before = sum(recorded.get((item["file"], item["column"]), {}).values())
        by_type = ", ".join(f"{k}: {v}" for k, v in item["findings"].items()) or "none"
        stdout.print(
            f"rescan {item['file']} {item['column']}: {total} finding(s) in {item['sampled']} "
            f"sampled values (run recorded {before}) by {item['detectors']}; by type: {by_type}",
            soft_wrap=True,
        )
    for note in [*notes, *blind_spots(model)]:
        stdout.print(f"rescan cannot see: {note}", soft_wrap=True)


@lineage_app.command("openlineage")
@guarded
def lineage_openlineage_command(
    manifest: Annotated[Path, typer.Argument(help="A run's anonymizer-manifest.json.")],
    emit: Annotated[
        bool,
        typer.Option(
            "--emit",
            help="Send it through the client's transport (openlineage.yml, OPENLINEAGE_*).",
        ),
    ] = False,
    url: Annotated[
        str | None,
        typer.Option("--openlineage-url", help="Send it over HTTP to this OpenLineage backend."),
    ] = None,
) -> None:
    """Print (or send) an OpenLineage RunEvent with schema and column-lineage facets."""
    if importlib.util.find_spec("openlineage") is None:
        raise InputError(
            "OpenLineage export needs openlineage-python: pip install 'anonymizer-ml[lineage]'"
        )
    from anonymizer_ml.lineage import openlineage

    if emit or url is not None:
        openlineage.emit(manifest, url)
        stdout.print(f"sent the RunEvent of {manifest} to {url or 'the configured transport'}")
        return
    print(json.dumps(openlineage.run_event(manifest), indent=2))
