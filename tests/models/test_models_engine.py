"""The models meet the per-example engine's needs (docs/CONTRACTS.md, ``ahtga.engine``): with
GroupNorm and Linear/Embedding/LayerNorm-only transformers every parameter is covered by a fast
rule (no fallback warning) and the per-example gradient norms equal the torch.func reference."""
import warnings

import pytest
import torch
import torch.nn.functional as F

from ahtga.engine import PerExampleEngine, per_example_grads, per_example_norms
from ahtga.models import BertClassifier, SmallCNN, TransformerLM, ViT, resnet18

B = 3


def cls_loss(o, t):
    return F.cross_entropy(o, t, reduction="none")


def lm_loss(o, t):
    return F.cross_entropy(o.transpose(1, 2), t, reduction="none").mean(1)


CASES = {
    "resnet18_gn": (lambda: resnet18(10, width=8), lambda g: torch.rand(B, 3, 16, 16, generator=g), 10, cls_loss),
    "small_cnn": (lambda: SmallCNN(1, 10, channels=(4, 8), hidden=16), lambda g: torch.rand(B, 1, 28, 28, generator=g),
                  10, cls_loss),
    "vit": (lambda: ViT(image_size=8, patch_size=4, dim=16, depth=1, heads=2),
            lambda g: torch.rand(B, 3, 8, 8, generator=g), 10, cls_loss),
    "transformer_lm": (lambda: TransformerLM(20, dim=16, depth=1, heads=2, max_len=8),
                       lambda g: torch.randint(0, 20, (B, 8), generator=g), None, lm_loss),
    "bert": (lambda: BertClassifier(20, 2, dim=16, depth=1, heads=2, max_len=8, dropout=0.0),
             lambda g: torch.randint(0, 20, (B, 8), generator=g), 2, cls_loss),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_fast_rules_cover_model_and_match_reference(name):
    build, make_x, classes, loss = CASES[name]
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    model = build()
    x = make_x(g)
    y = torch.randint(0, classes, (B,), generator=g) if classes else torch.randint(0, 20, (B, 8), generator=g)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                     # a fallback warning fails the test
        eng = PerExampleEngine(model)
        norms = eng.backward(loss(model(x), y))
        eng.release()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                    # vmap's "no batching rule" notes
        ref = per_example_norms(per_example_grads(model, lambda o, t: loss(o, t).sum(), x, y))
    assert norms.shape == (B,)
    torch.testing.assert_close(norms, ref.to(norms.dtype), rtol=1e-4, atol=1e-7)
