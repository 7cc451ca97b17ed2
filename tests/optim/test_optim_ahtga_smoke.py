"""Convergence smoke: AHTGA with its default pieces (Hill double bootstrap, EMA, quadratic rule,
fast engine) trains an MLP on a synthetic 3-class problem."""
import warnings

import pytest
import torch
from sklearn.datasets import make_classification
from torch import nn

from ahtga.optim.ahtga import AHTGA


@pytest.mark.parametrize("transform, exponent, window", [
    ("direction", "quadratic", 1),
    ("direction", {"name": "exact", "gamma_max": 1.0}, 4),   # unbounded, gamma ~ 2.3 here
    ("sign_normalized", "quadratic", 1)])
def test_mlp_loss_decreases(transform, exponent, window):
    X, y = make_classification(n_samples=1000, n_features=20, n_informative=10, n_classes=3,
                               random_state=0)
    X, y = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 3))
    opt = AHTGA(model, lr=0.1, transform=transform, exponent=exponent, window=window,
                estimator_options={"n_boot": 100})

    def full_loss():
        with torch.no_grad():
            return float(nn.functional.cross_entropy(model(X), y))

    l0 = full_loss()
    g = torch.Generator().manual_seed(1)
    stats = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")       # estimator TailWarnings at n = 64
        for _ in range(120):
            idx = torch.randint(0, len(y), (64,), generator=g)
            stats.append(opt.step(nn.functional.cross_entropy(model(X[idx]), y[idx],
                                                             reduction="none")))
    assert full_loss() < 0.6 * l0
    assert not any(s.skipped for s in stats)
    assert all(0.1 <= s.alpha <= 5.0 and 1 + s.gamma > 0 for s in stats)
    assert all(torch.isfinite(p).all() for p in model.parameters())
