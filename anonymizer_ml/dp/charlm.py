"""A tiny character language model for canary audits (torch; the ``dp`` extra).

One record is one text (a row), so DP-SGD's unit of privacy is the row, as in the dataset. The
model predicts each character from the ``context`` characters before it: an embedding of the
window and a small MLP, applied at every position of the text. That is enough to memorise a
secret repeated a few times — what an exposure audit must be able to show — and small enough to
train with DP-SGD on a CPU in seconds. A text's loss is its mean negative log-likelihood per
character.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from anonymizer_ml.errors import PlanError

PAD = "\x00"
IGNORE = -100
FILLER_WORDS = (
    "the", "order", "was", "late", "again", "so", "please", "refund", "my", "account", "today",
    "and", "call", "back", "soon", "customer", "asked", "about", "delivery", "invoice", "billing",
    "address", "update",
)  # fmt: skip


def filler_texts(rows: int, words_per_text: int = 6, seed: int = 0) -> list[str]:
    """Reproducible filler sentences (customer-support words), a corpus to plant canaries in."""
    rng = random.Random(seed)  # noqa: S311 - filler text, not secrets
    return [" ".join(rng.choices(FILLER_WORDS, k=words_per_text)) for _ in range(rows)]


def _torch() -> Any:
    try:
        import torch  # noqa: PLC0415 - optional (the dp extra), imported on first use
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise PlanError("the dp extra is needed: pip install 'anonymizer-ml[dp]'") from None
    return torch


@dataclass(frozen=True)
class Vocabulary:
    """Characters known to the model; index 0 is padding and unknown characters."""

    chars: tuple[str, ...]

    @classmethod
    def of(cls, texts: Sequence[str]) -> Vocabulary:
        """Every character in ``texts``."""
        return cls((PAD, *sorted({ch for t in texts for ch in t} - {PAD})))


def encode(texts: Sequence[str], vocab: Vocabulary, context: int, length: int) -> tuple[Any, Any]:
    """Inputs (n × (context + length) ids, left-padded) and targets (n × length, padding ignored).

    Texts longer than ``length`` are cut; target ``i`` is character ``i``, predicted from the
    ``context`` ids before it.
    """
    torch = _torch()
    lookup = {ch: i for i, ch in enumerate(vocab.chars)}
    inputs, targets = [], []
    for text in texts:
        ids = [lookup.get(ch, 0) for ch in text[:length]]
        pad = length - len(ids)
        inputs.append([0] * context + ids + [0] * pad)
        targets.append(ids + [IGNORE] * pad)
    return torch.tensor(inputs, dtype=torch.long), torch.tensor(targets, dtype=torch.long)


def build_model(vocab_size: int, context: int, width: int = 128, embedding: int = 16) -> Any:
    """The next-character model; ``model(inputs)`` gives logits n × length × vocab."""
    torch = _torch()
    module: Any = torch.nn.Module

    class CharModel(module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.embed = torch.nn.Embedding(vocab_size, embedding)
            self.hidden = torch.nn.Linear(context * embedding, width)
            self.out = torch.nn.Linear(width, vocab_size)

        def forward(self, ids: Any) -> Any:
            windows = ids.unfold(1, context, 1)[:, :-1, :]  # n × length × context
            vectors = self.embed(windows).flatten(start_dim=2)
            return self.out(torch.relu(self.hidden(vectors)))

    return CharModel()


def _loss(model: Any, inputs: Any, targets: Any) -> Any:
    """Per text, the summed loss over its characters; averaged over the batch."""
    torch = _torch()
    logits = model(inputs)
    total = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]),
        targets.reshape(-1),
        ignore_index=IGNORE,
        reduction="sum",
    )
    return total / len(inputs)


def train(model: Any, optimizer: Any, loader: Any, epochs: int) -> None:
    """Plain training loop (private when model/optimizer/loader come from Opacus)."""
    model.train()
    for _ in range(epochs):
        for inputs, targets in loader:
            if len(inputs) == 0:  # Poisson sampling can draw an empty batch
                continue
            optimizer.zero_grad()
            _loss(model, inputs, targets).backward()
            optimizer.step()


def text_losses(model: Any, vocab: Vocabulary, texts: Sequence[str], context: int) -> list[float]:
    """Mean negative log-likelihood per character of each text (lower: more expected)."""
    torch = _torch()
    length = max(len(t) for t in texts)
    inputs, targets = encode(texts, vocab, context, length)
    model.eval()
    with torch.no_grad():
        logits = model(inputs)
        nll = torch.nn.functional.cross_entropy(
            logits.transpose(1, 2), targets, ignore_index=IGNORE, reduction="none"
        )
    counts = (targets != IGNORE).sum(dim=1).clamp(min=1)
    return [float(x) for x in nll.sum(dim=1) / counts]
