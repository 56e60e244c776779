"""DP-SGD through Opacus on a verified dataset: ε, receipts, budget, δ, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("opacus")

from anonymizer_ml.dp import make_private, receipts  # noqa: E402
from anonymizer_ml.dp.charlm import train  # noqa: E402
from anonymizer_ml.errors import BudgetExceededError, KeyringError, PlanError  # noqa: E402
from anonymizer_ml.hooks import open_dataset  # noqa: E402
from anonymizer_ml.lineage.manifest import LEDGER_NAME  # noqa: E402
from anonymizer_ml.lineage.verify import VerificationError  # noqa: E402

from .conftest import Signed, signed_dataset  # noqa: E402

ROWS = 400


@pytest.fixture
def signed(tmp_path: Path) -> Signed:
    generator = torch.Generator().manual_seed(7)
    x = torch.randn(ROWS, 2, generator=generator)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    frame = pl.DataFrame({"a": x[:, 0].tolist(), "b": x[:, 1].tolist(), "y": y.tolist()})
    return signed_dataset(tmp_path, frame, "{max_epsilon: 5}")


def _parts(signed: Signed, rows: int = ROWS) -> tuple[object, object, object]:
    frame = open_dataset(signed.root, trust=signed.trust).collect().head(rows)
    features = torch.tensor(frame.select("a", "b").to_numpy(), dtype=torch.float32)
    labels = torch.tensor(frame["y"].to_numpy(), dtype=torch.long)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(features, labels), batch_size=50
    )
    model = torch.nn.Linear(2, 2)
    return model, torch.optim.SGD(model.parameters(), lr=0.5), loader


def _train(signed: Signed, epsilon: float, **extra: object) -> dict[str, object]:
    model, optimizer, loader = _parts(signed)
    with make_private(
        model,
        optimizer,
        loader,
        **signed.training(epsilon, 2, **extra),
    ) as private:
        train(private.model, private.optimizer, private.data_loader, 2)
    assert private.receipt is not None
    return private.receipt


def test_trains_within_target_and_signs_a_receipt(signed: Signed) -> None:
    receipt = _train(signed, 2.0)
    assert 0 < float(receipt["epsilon"]) <= 2.0 + 1e-6  # type: ignore[arg-type]
    assert receipt["delta"] == pytest.approx(1 / (10 * ROWS))
    assert receipt["records"] == ROWS and receipt["accountant"] == "prv"
    assert receipt["steps"] and receipt["noise_multiplier"] > 0  # type: ignore[operator]
    assert receipt["sample_rate"] == pytest.approx(50 / ROWS)
    trusted = {k.keyid: k.public_key for k in signed.trust.keys}
    assert receipts(signed.root, trusted) == [receipt]


def test_cumulative_budget_is_refused(signed: Signed) -> None:
    _train(signed, 2.0)
    _train(signed, 2.0)  # 4 of 5 spent at most
    with pytest.raises(BudgetExceededError, match="would exceed it"):
        _train(signed, 2.0)
    ledger = json.loads((signed.root / LEDGER_NAME).read_text())
    assert len(ledger) == 2  # the refused run wrote nothing


def test_delta_above_one_over_n_is_refused(signed: Signed) -> None:
    with pytest.raises(PlanError, match=r"delta 0.01 is above 1/N"):
        _train(signed, 1.0, delta=0.01)


def test_loader_must_not_hold_more_than_the_verified_records(signed: Signed) -> None:
    model, optimizer, loader = _parts(signed)
    data = loader.dataset  # type: ignore[attr-defined]
    padded = torch.utils.data.DataLoader(
        torch.utils.data.ConcatDataset([data, torch.utils.data.Subset(data, [0])]), batch_size=50
    )
    with pytest.raises(PlanError, match=f"holds {ROWS + 1} records but the verified dataset"):
        make_private(
            model,
            optimizer,
            padded,
            **signed.training(1.0, 1),
        )
    split = torch.utils.data.DataLoader(torch.utils.data.Subset(data, range(300)), batch_size=50)
    with make_private(
        model,
        optimizer,
        split,
        **signed.training(1.0, 1),
    ) as private:
        train(private.model, private.optimizer, private.data_loader, 1)
    assert private.receipt is not None and private.receipt["records_trained"] == 300


def test_tampered_dataset_is_refused_before_training(signed: Signed) -> None:
    data = signed.root / "in.parquet"
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    data.write_bytes(bytes(raw))
    with pytest.raises(VerificationError, match="does not match the signed manifest"):
        _train(signed, 1.0)


def test_needs_a_sign_key_and_a_budget(signed: Signed, tmp_path: Path) -> None:
    from anonymizer_ml.crypto.keyset import generate_keyset, write_keyset

    unsigned = tmp_path / "no-sign.json"
    write_keyset(generate_keyset(["tokenize"]), unsigned)
    with pytest.raises(KeyringError, match="no 'sign' key"):
        _train(Signed(signed.root, unsigned, signed.trust_file), 1.0)
    no_budget = signed_dataset(tmp_path / "plain", pl.DataFrame({"a": [1.0] * 10}), None)
    model, optimizer, loader = _parts(signed, rows=10)
    with pytest.raises(PlanError, match="sets no dp budget"):
        make_private(
            model,
            optimizer,
            loader,
            **no_budget.training(1.0, 1),
        )
    with pytest.raises(PlanError, match="unknown accountant"):
        _train(signed, 1.0, accountant="nope")
