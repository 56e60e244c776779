"""The canary audit tells a memorising model from a DP one (same data, same model).

A name canary is planted 16 times in text the policy keeps as is (names are what most often
slips through detection). A tiny character model trained many epochs without privacy learns it
and ranks it first among random names; trained with DP-SGD through make_private on the verified
dataset (one record per text), the same model does not. The test asserts the ordering, not exact
values.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("opacus")

from anonymizer_ml.dp import exposure, exposure_by_repetitions, make_private, plant  # noqa: E402
from anonymizer_ml.dp.canaries import FIRST, LAST  # noqa: E402
from anonymizer_ml.dp.charlm import (  # noqa: E402
    Vocabulary,
    build_model,
    encode,
    filler_texts,
    text_losses,
    train,
)
from anonymizer_ml.hooks import open_dataset  # noqa: E402

from .conftest import signed_dataset  # noqa: E402

CONTEXT, LENGTH = 6, 80


def test_non_private_model_exposes_the_canary_more_than_a_dp_one(tmp_path: Path) -> None:
    torch.manual_seed(0)
    planted, canaries = plant(
        pl.DataFrame({"text": filler_texts(600, seed=11)}),
        "text",
        counts=(16,),
        per_count=1,
        kinds=("name",),
        seed=2,
    )
    signed = signed_dataset(tmp_path, planted, "{max_epsilon: 10}")
    texts = open_dataset(signed.root, trust=signed.trust).collect()["text"].to_list()
    vocab = Vocabulary.of([*texts, *FIRST, *LAST])
    data = torch.utils.data.TensorDataset(*encode(texts, vocab, CONTEXT, LENGTH))

    def score(model: object) -> float:
        results = exposure(
            canaries, lambda t: text_losses(model, vocab, t, CONTEXT), candidates=200, seed=1
        )
        return exposure_by_repetitions(results)[16]

    plain = build_model(len(vocab.chars), CONTEXT)
    optimizer = torch.optim.Adam(plain.parameters(), lr=3e-3)
    train(plain, optimizer, torch.utils.data.DataLoader(data, batch_size=32, shuffle=True), 20)

    private_model = build_model(len(vocab.chars), CONTEXT)
    with make_private(
        private_model,
        torch.optim.Adam(private_model.parameters(), lr=3e-3),
        torch.utils.data.DataLoader(data, batch_size=64),
        **signed.training(1.0, 5),
    ) as private:
        train(private.model, private.optimizer, private.data_loader, 5)

    memorised, protected = score(plain), score(private.model)
    print(f"exposure at 16 repetitions: non-private {memorised:.2f} bits, DP {protected:.2f} bits")
    assert memorised > 5.0  # near the 7.65-bit maximum: ranked among the top few of 201
    assert memorised > protected + 2.0
