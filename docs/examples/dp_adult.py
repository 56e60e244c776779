"""Train a salary classifier on the 5-anonymous Adult release, without and with DP-SGD.

The whole chain on a CPU in about a minute: anonymise (rules/adult-k5.yaml: k = 5, ≤ 4 %
suppressed, a DP budget of ε = 8), sign, verify while reading, train an MLP plainly and
through ``anonymizer_ml.dp.make_private`` (the ε it spends lands as a signed receipt in the
dataset's ledger).

Run: ``make example-dp`` or ``.venv/bin/python docs/examples/dp_adult.py [WORKDIR]``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import polars as pl
import torch
import yaml

from anonymizer_ml.crypto.keyset import generate_keyset, write_keyset
from anonymizer_ml.dp import make_private, spent
from anonymizer_ml.hooks import open_dataset
from anonymizer_ml.lineage.signing import public_key_of
from anonymizer_ml.lineage.verify import load_trust
from anonymizer_ml.policy.load import load_policy
from anonymizer_ml.runners import local

ROOT = Path(__file__).resolve().parents[2]
TARGET = "salary-class"


def release(work: Path) -> tuple[Path, Path, Path]:
    """Anonymise Adult with the shipped policy; return the output, keyset and trust file."""
    source = work / "adult.parquet"
    pl.read_csv(ROOT / "fixtures" / "adult" / "adult.csv", separator=";").write_parquet(source)
    keyset = generate_keyset()
    write_keyset(keyset, work / "keys.json", overwrite=True)
    policy_path = ROOT / "rules" / "adult-k5.yaml"
    out = work / "release"
    local.run(load_policy(policy_path), str(policy_path), str(source), out, keyset, overwrite=True)
    sign = keyset.for_purpose("sign")
    trust = work / "trust.yaml"
    trust.write_text(
        yaml.safe_dump({"keys": [{"keyid": sign.key_id, "public_key": public_key_of(sign)}]})
    )
    return out, work / "keys.json", trust


def tensors(frame: pl.DataFrame) -> tuple[torch.Tensor, torch.Tensor]:
    """One-hot QIs (all text after generalisation) and the 0/1 label."""
    features = frame.drop(TARGET).to_dummies()
    labels = (frame[TARGET] == ">50K").cast(pl.Int64)
    return (
        torch.tensor(features.to_numpy(), dtype=torch.float32),
        torch.tensor(labels.to_numpy(), dtype=torch.long),
    )


def mlp(width: int) -> torch.nn.Module:
    """A small classifier: one hidden layer of 64."""
    return torch.nn.Sequential(torch.nn.Linear(width, 64), torch.nn.ReLU(), torch.nn.Linear(64, 2))


def fit(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer, loader: object, epochs: int
) -> None:
    """Cross-entropy training; Poisson sampling may draw an empty batch, which is skipped."""
    loss_fn = torch.nn.CrossEntropyLoss()
    for _ in range(epochs):
        for x, y in loader:  # type: ignore[attr-defined]
            if len(x) == 0:
                continue
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()


def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Share of correct predictions."""
    with torch.no_grad():
        return float((model(x).argmax(dim=1) == y).float().mean())


def main() -> None:
    """Release, verify, train without and with DP, print accuracy and ε."""
    torch.manual_seed(0)
    work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="dp-adult-"))
    work.mkdir(parents=True, exist_ok=True)
    out, keys, trust = release(work)
    frame = open_dataset(out, trust=trust).collect()  # every byte read is checked
    x, y = tensors(frame)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(1))
    cut = int(0.8 * len(y))
    train_set = torch.utils.data.TensorDataset(x[order[:cut]], y[order[:cut]])
    x_test, y_test = x[order[cut:]], y[order[cut:]]
    epochs = 8

    plain = mlp(x.shape[1])
    fit(plain, torch.optim.Adam(plain.parameters(), lr=1e-3),
        torch.utils.data.DataLoader(train_set, batch_size=256, shuffle=True), epochs)  # fmt: skip
    print(f"records released: {len(y):,} (of 30,162; k = 5)")
    print(f"non-private MLP: test accuracy {accuracy(plain, x_test, y_test):.3f}")

    for epsilon in (1.0, 3.0):
        model = mlp(x.shape[1])
        with make_private(
            model,
            torch.optim.Adam(model.parameters(), lr=1e-3),
            torch.utils.data.DataLoader(train_set, batch_size=256),
            manifest=out,
            trust=trust,
            keyset=keys,
            epsilon=epsilon,
            max_grad_norm=1.0,
            epochs=epochs,
        ) as private:
            fit(private.model, private.optimizer, private.data_loader, epochs)
        receipt = private.receipt or {}
        score = accuracy(private.model, x_test, y_test)
        print(
            f"DP-SGD target ε={epsilon:g}: test accuracy {score:.3f}, "
            f"ε spent {receipt['epsilon']:.2f} at δ={receipt['delta']:.1e}, "
            f"noise {receipt['noise_multiplier']:.2f}, {receipt['steps']} steps"
        )
    total = spent(out, {k.keyid: k.public_key for k in load_trust(trust).keys})
    print(f"ledger: {out / 'anonymizer-dp-ledger.json'} (ε {total:.2f} of the policy's 8 spent)")


if __name__ == "__main__":
    main()
