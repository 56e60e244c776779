"""DP-SGD over Opacus, tied to a verified dataset: its size, its budget, its ledger.

``make_private`` verifies the dataset first (signature, every file's hash, the trust file), takes
N and the budget from the signed manifest — never from the caller — checks δ ≤ 1/N and that the
ε already spent plus this run's target stays within the policy's ``dp.max_epsilon``, and only then
asks Opacus for a private model, optimizer and Poisson-sampled loader. ``finish()`` (or leaving
the ``with`` block, even by an exception: budget spent is spent) computes the ε actually spent
and appends a signed receipt to the dataset's ledger. torch and opacus are imported here only.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from anonymizer_ml.crypto.keyset import Key, Keyset, load_keyset
from anonymizer_ml.dp.budget import subject_level
from anonymizer_ml.dp.ledger import append, spent
from anonymizer_ml.errors import BudgetExceededError, KeyringError, PlanError
from anonymizer_ml.lineage.manifest import MANIFEST_NAME
from anonymizer_ml.lineage.signing import SIGN_PURPOSE
from anonymizer_ml.lineage.verify import TrustPolicy, VerifiedDataset, load_trust, verify_dataset

ACCOUNTANTS = ("prv", "rdp", "gdp")


def _trusted(trust: TrustPolicy) -> dict[str, str]:
    return {k.keyid: k.public_key for k in trust.keys}


def _signing_key(keyset: Keyset | Path | str) -> Key:
    keys = keyset if isinstance(keyset, Keyset) else load_keyset(Path(keyset))
    if SIGN_PURPOSE not in keys.purposes:
        raise KeyringError("the keyset has no 'sign' key to sign the privacy receipt; add one")
    return keys.for_purpose(SIGN_PURPOSE)


@dataclass
class PrivateTraining:
    """Opacus's private model, optimizer and loader, and the receipt they will produce."""

    model: Any
    optimizer: Any
    data_loader: Any
    engine: Any
    dataset: VerifiedDataset
    budget: dict[str, Any]
    delta: float
    target_epsilon: float
    epochs: int
    accountant: str
    poisson_sampling: bool
    secure_mode: bool
    _key: Key = field(repr=False)
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    receipt: dict[str, Any] | None = None

    def epsilon(self) -> float:
        """ε spent so far at this run's δ."""
        if not self.engine.accountant.history:
            return 0.0
        return float(self.engine.get_epsilon(self.delta))

    def finish(self) -> dict[str, Any]:
        """Compute ε spent and append the signed receipt to the ledger (once)."""
        if self.receipt is not None:
            return self.receipt
        history = list(self.engine.accountant.history)
        steps = sum(int(entry[2]) for entry in history)
        epsilon = self.epsilon()
        receipt: dict[str, Any] = {
            "library": "opacus",
            "library_version": importlib.metadata.version("opacus"),
            "torch_version": importlib.metadata.version("torch"),
            "accountant": self.accountant,
            "noise_multiplier": float(self.optimizer.noise_multiplier),
            "max_grad_norm": float(self.optimizer.max_grad_norm),
            "sample_rate": float(history[-1][1]) if history else None,
            "steps": steps,
            "epochs": self.epochs,
            "poisson_sampling": self.poisson_sampling,
            "secure_mode": self.secure_mode,
            "target_epsilon": self.target_epsilon,
            "epsilon": epsilon,
            "delta": self.delta,
            "records": self.budget["records"],
            "records_trained": len(self.data_loader.dataset),
            "unit": self.budget.get("unit", "record"),
            "dataset_run_id": self.dataset.manifest.run_id,
            "model": type(self.model).__name__,
            "started_at": self.started_at,
            "finished_at": datetime.now(UTC).isoformat(),
        }
        if receipt["unit"] == "subject":
            m = int(self.budget["max_records_per_subject"])
            subject_eps, subject_delta = subject_level(epsilon, self.delta, m)
            receipt |= {
                "max_records_per_subject": m,
                "subject_epsilon": subject_eps,
                "subject_delta": subject_delta,
            }
        append(self.dataset.root, receipt, self._key)
        self.receipt = receipt
        return receipt

    def __enter__(self) -> PrivateTraining:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.finish()


def _check_budget(
    dataset: VerifiedDataset, trust: TrustPolicy, epsilon: float, delta: float | None
) -> tuple[dict[str, Any], float]:
    budget = dataset.manifest.dp
    if budget is None:
        raise PlanError(
            f"{dataset.root / MANIFEST_NAME}: the policy that made this data sets no dp budget; "
            "add a 'dp: {max_epsilon: …}' section and re-run"
        )
    records = int(budget["records"])
    delta = delta if delta is not None else budget.get("delta") or 1.0 / (10 * records)
    if delta > 1.0 / records:
        raise PlanError(
            f"delta {delta:g} is above 1/N = {1 / records:g} for N = {records} records; "
            "a delta that large can leak whole records — choose delta <= 1/N"
        )
    already = spent(dataset.root, _trusted(trust))
    ceiling = float(budget["max_epsilon"])
    if already + epsilon > ceiling + 1e-12:
        raise BudgetExceededError(
            f"{dataset.root}: {already:g} of the policy's max_epsilon {ceiling:g} is spent; "
            f"a further {epsilon:g} would exceed it"
        )
    return budget, float(delta)


def make_private(
    model: Any,
    optimizer: Any,
    data_loader: Any,
    *,
    manifest: Path | str | VerifiedDataset,
    trust: Path | str | TrustPolicy,
    keyset: Keyset | Path | str,
    epsilon: float,
    max_grad_norm: float,
    epochs: int,
    delta: float | None = None,
    accountant: str = "prv",
    poisson_sampling: bool = True,
    secure_mode: bool = False,
) -> PrivateTraining:
    """Wrap ``model``/``optimizer``/``data_loader`` for DP-SGD on a verified dataset.

    ``manifest`` is the dataset folder (or a VerifiedDataset); ``trust`` the trust file that
    accepts it and its ledger; ``keyset`` holds the ``sign`` key for the receipt. The loader must
    iterate over the dataset's records or a part of them (a training split); δ is judged
    against the dataset's N. ``secure_mode`` asks Opacus for a
    cryptographically secure noise generator (it needs torchcsprng); the receipt records it.
    """
    if accountant not in ACCOUNTANTS:
        raise PlanError(f"unknown accountant {accountant!r}; use one of: {', '.join(ACCOUNTANTS)}")
    if epsilon <= 0 or epochs < 1 or max_grad_norm <= 0:
        raise PlanError("epsilon and max_grad_norm must be > 0 and epochs >= 1")
    policy = trust if isinstance(trust, TrustPolicy) else load_trust(Path(trust))
    dataset = (
        manifest
        if isinstance(manifest, VerifiedDataset)
        else verify_dataset(Path(manifest), policy)
    )
    budget, chosen_delta = _check_budget(dataset, policy, epsilon, delta)
    size = len(data_loader.dataset)
    if size > int(budget["records"]):
        raise PlanError(
            f"the data loader holds {size} records but the verified dataset only "
            f"{budget['records']}; train on the verified data (or a part of it, e.g. a split)"
        )
    key = _signing_key(keyset)
    from opacus import PrivacyEngine  # noqa: PLC0415 - optional (the dp extra)

    engine = PrivacyEngine(accountant=accountant, secure_mode=secure_mode)
    private_model, private_optimizer, private_loader = engine.make_private_with_epsilon(
        module=model,
        optimizer=optimizer,
        data_loader=data_loader,
        target_epsilon=epsilon,
        target_delta=chosen_delta,
        epochs=epochs,
        max_grad_norm=max_grad_norm,
        poisson_sampling=poisson_sampling,
    )
    return PrivateTraining(
        model=private_model,
        optimizer=private_optimizer,
        data_loader=private_loader,
        engine=engine,
        dataset=dataset,
        budget=budget,
        delta=chosen_delta,
        target_epsilon=epsilon,
        epochs=epochs,
        accountant=accountant,
        poisson_sampling=poisson_sampling,
        secure_mode=secure_mode,
        _key=key,
    )
