"""AHTGA's ``rescale="mean"``: the batch gradient is sum_i s_i g_i / sum_j s_j (a reweighting
that keeps the step size of plain averaging), checked against explicit per-example gradients."""
import pytest
import torch
import torch.nn.functional as F

from ahtga.control import FixedExponent
from ahtga.control.transforms import direction_coefficients
from ahtga.optim import AHTGA
from optim_ahtga_kit import LoopEngine, fixed_k_hill, mlp


def _batch(seed=3, B=40):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, 6, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (B,), generator=g)
    return x, y


@pytest.mark.parametrize("gamma", [0.7, -0.3])
def test_mean_rescaled_gradient_is_a_normalised_reweighting(gamma):
    model = mlp().double()
    x, y = _batch()
    ref = LoopEngine(model)
    losses = F.cross_entropy(model(x), y, reduction="none")
    norms = ref.backward(losses)
    s = direction_coefficients(norms, gamma, 1e-8)
    expected = (s / s.sum()) @ ref._G                      # sum_i s_i g_i / sum_j s_j
    opt = AHTGA(model, lr=0.0, betas=(0.0, 0.9), exponent=FixedExponent(gamma),
                estimator=fixed_k_hill(10), rescale="mean", engine=LoopEngine(model))
    opt.step(F.cross_entropy(model(x), y, reduction="none"))
    got = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)
    # without rescaling the same step is larger by the mean coefficient
    opt2 = AHTGA(model, lr=0.0, betas=(0.0, 0.9), exponent=FixedExponent(gamma),
                 estimator=fixed_k_hill(10), engine=LoopEngine(model))
    opt2.step(F.cross_entropy(model(x), y, reduction="none"))
    got2 = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    torch.testing.assert_close(got2, expected * s.mean(), rtol=1e-10, atol=1e-12)


def test_rescale_rejects_unknown_values():
    with pytest.raises(ValueError, match=r"`rescale` must be one of \['mean', 'none'\]; got rescale='max'"):
        AHTGA(mlp(), rescale="max")
