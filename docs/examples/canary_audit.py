"""Canary audit: what survives anonymisation, and what a model memorises with and without DP.

1. Plant canaries (fake SSNs, cards, e-mails, names at 1, 4 and 16 repetitions) in raw support
   notes; reserve a third of the notes as non-members.
2. Anonymise (pattern detection in text) and count surviving canaries: the detectors' recall.
   SSNs, cards and e-mails are caught; names are caught when the first-name gazetteer knows the
   first name, and NER is switched off here (as on a machine without the model), so some survive
   — the case DP must cover.
3. Train a tiny character model on the released member notes, plainly for many epochs and with
   DP-SGD (ε = 1), and report canary exposure per repetition count and a loss-threshold
   membership-inference attack's TPR at FPR 1e-2 on members vs the reserved non-members.

Run: ``make example-dp`` or ``.venv/bin/python docs/examples/canary_audit.py [WORKDIR]``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import polars as pl
import torch
import yaml

from anonymizer_ml.crypto.keyset import generate_keyset, write_keyset
from anonymizer_ml.dp import (
    exposure,
    exposure_by_repetitions,
    loss_threshold_tpr,
    make_private,
    plant,
    survival,
)
from anonymizer_ml.dp.canaries import FIRST, LAST
from anonymizer_ml.dp.charlm import (
    Vocabulary,
    build_model,
    encode,
    filler_texts,
    text_losses,
    train,
)
from anonymizer_ml.hooks import open_dataset
from anonymizer_ml.lineage.signing import public_key_of
from anonymizer_ml.policy.load import parse_policy
from anonymizer_ml.runners import local

CONTEXT, LENGTH = 6, 96
POLICY = """
name: support-notes
dataset: support-notes
unlisted_columns: error
columns:
  note_id: keep
  notes: {action: detect, default: replace, ner: none}  # as without the NER model
dp:
  max_epsilon: 4
"""


def notes(rows: int) -> pl.DataFrame:
    """Filler support notes, reproducible."""
    return pl.DataFrame({"note_id": list(range(rows)), "notes": filler_texts(rows, 7, seed=3)})


def main() -> None:
    """Plant, anonymise, count survivors, train twice, audit."""
    torch.manual_seed(0)
    work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="canaries-"))
    work.mkdir(parents=True, exist_ok=True)
    raw = notes(1500)
    members, reserved = raw.head(1000), raw.slice(1000)
    planted, canaries = plant(members, "notes", counts=(1, 4, 16), per_count=2, seed=5)
    planted.write_parquet(work / "members.parquet")

    keyset = generate_keyset()
    write_keyset(keyset, work / "keys.json", overwrite=True)
    out = work / "release"
    local.run(
        parse_policy(POLICY), "<example>", str(work / "members.parquet"), out, keyset,
        overwrite=True, canaries=canaries.commitments(),
    )  # fmt: skip
    sign = keyset.for_purpose("sign")
    trust = work / "trust.yaml"
    trust.write_text(
        yaml.safe_dump({"keys": [{"keyid": sign.key_id, "public_key": public_key_of(sign)}]})
    )

    report = survival(canaries, [pl.scan_parquet(out / "members.parquet")])
    print("canaries surviving anonymisation (detector recall = 1 - survived/planted):")
    for kind, entry in report.items():
        print(f"  {kind:6s} planted {entry['planted']:2d}  survived {entry['survived']:2d}")

    texts = open_dataset(out, trust=trust).collect()["notes"].to_list()
    vocab = Vocabulary.of([*texts, *FIRST, *LAST, "0123456789-@.<>_"])
    data = torch.utils.data.TensorDataset(*encode(texts, vocab, CONTEXT, LENGTH))
    plain = build_model(len(vocab.chars), CONTEXT)
    train(plain, torch.optim.Adam(plain.parameters(), lr=3e-3),
          torch.utils.data.DataLoader(data, batch_size=32, shuffle=True), 30)  # fmt: skip
    private_model = build_model(len(vocab.chars), CONTEXT)
    with make_private(
        private_model,
        torch.optim.Adam(private_model.parameters(), lr=3e-3),
        torch.utils.data.DataLoader(data, batch_size=64),
        manifest=out,
        trust=trust,
        keyset=work / "keys.json",
        epsilon=1.0,
        max_grad_norm=1.0,
        epochs=8,
    ) as private:
        train(private.model, private.optimizer, private.data_loader, 8)

    survivors = type(canaries)(
        canaries.column,
        canaries.key,
        tuple(c for c in canaries.canaries if c.secret in "".join(texts)),
    )
    count = len(survivors.canaries)
    print(f"exposure of the {count} surviving canaries (bits; 200 candidates, max 7.65):")
    non_members = reserved["notes"].to_list()
    for name, model in (("non-private", plain), ("DP ε=1", private.model)):

        def loss(batch: list[str], m: object = model) -> list[float]:
            return text_losses(m, vocab, batch, CONTEXT)

        buckets = exposure_by_repetitions(exposure(survivors, loss, candidates=200))
        tpr = loss_threshold_tpr(loss(texts), loss(non_members), fpr=0.01)
        shown = "  ".join(f"x{count}: {bits:.2f}" for count, bits in buckets.items())
        print(f"  {name:12s} {shown}   membership TPR at FPR 1e-2: {tpr:.3f}")
    receipt = private.receipt or {}
    epsilon, delta, steps = receipt["epsilon"], receipt["delta"], receipt["steps"]
    print(f"DP receipt: ε {epsilon:.2f} at δ {delta:.1e}, {steps} steps")


if __name__ == "__main__":
    main()
