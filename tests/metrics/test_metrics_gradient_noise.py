"""The gradient-tail measurements on a model whose per-example gradients are known exactly:
least squares with unit-norm inputs and zero weights, where g_i = -y_i x_i and ||g_i|| = |y_i|."""
import numpy as np
import pytest
import torch

from ahtga.metrics.gradient_noise import _draw, gradient_tails, minibatch_noise, pooled_norms


def _setup(alpha=1.5, n=2000, d=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = (rng.pareto(alpha, n) + 1.0) * rng.choice([-1.0, 1.0], n)   # symmetric Pareto(alpha)
    model = torch.nn.Linear(d, 1, bias=False).double()
    torch.nn.init.zeros_(model.weight)

    def loss_fn(out, t):
        return 0.5 * (out.squeeze(1) - t) ** 2
    return model, loss_fn, torch.from_numpy(x), torch.from_numpy(y)


def test_pooled_norms_are_the_exact_per_example_norms_and_grad_is_kept():
    model, loss_fn, x, y = _setup(n=700)
    model.weight.grad = torch.full_like(model.weight, 3.0)
    norms = pooled_norms(model, loss_fn, x, y, chunk=256)
    assert norms.shape == (700,)
    assert torch.allclose(norms, y.abs(), rtol=1e-10)
    assert torch.equal(model.weight.grad, torch.full_like(model.weight, 3.0))


def test_minibatch_noise_is_minibatch_minus_mean_gradient():
    model, loss_fn, x, y = _setup(n=300)
    u = minibatch_noise(model, loss_fn, x, y, batch_size=50, n_batches=4, seed=3)
    assert u.shape == (4, 6)
    g = -(y[:, None] * x)                         # exact per-example gradients
    # each row is the mean of 50 distinct examples' gradients minus the mean gradient, the
    # examples drawn by the seeded generator
    gen = torch.Generator().manual_seed(3)
    for row in u:
        idx = _draw(300, 50, gen)
        assert idx.unique().numel() == 50
        assert torch.allclose(row, g[idx].mean(0) - g.mean(0), atol=1e-12)
    assert not torch.allclose(u[0], u[1])
    again = minibatch_noise(model, loss_fn, x, y, batch_size=50, n_batches=4, seed=3)
    assert torch.equal(u, again)                  # seeded
    full = minibatch_noise(model, loss_fn, x, y, batch_size=300, n_batches=2, seed=0)
    assert torch.allclose(full, torch.zeros_like(full), atol=1e-12)   # the whole set: no noise
    with pytest.raises(ValueError, match=r"`batch_size` must be <= the probe set's 300 examples"):
        minibatch_noise(model, loss_fn, x, y, batch_size=301, n_batches=1)
    with pytest.raises(ValueError, match=r"same number of examples; got 300 and 299"):
        minibatch_noise(model, loss_fn, x, y[:-1], batch_size=3, n_batches=1)


@pytest.mark.parametrize("alpha", [1.2, 1.6])
def test_gradient_tails_reads_the_index_of_heavy_tailed_gradients(alpha):
    # 1500 minibatches of 16 from 40000 examples rarely share one, so the noise is close to
    # i.i.d. means of 16 symmetric Pareto(alpha) gradients: in the domain of an alpha-stable
    # law.  stable_mmo's spread on 9000 such values is about +-0.15 (5-95%, measured on the
    # means of independent draws); Hill at sqrt(n) on 40000 exact Pareto norms is within 0.15.
    model, loss_fn, x, y = _setup(alpha=alpha, n=40000, seed=2)
    rec = gradient_tails(model, loss_fn, x, y, batch_size=16, n_batches=1500,
                         estimators=("hill",), seed=0)
    assert rec["norms"]["n"] == 40000 and rec["noise"]["n"] == 9000
    assert abs(rec["norms"]["estimates"][0]["alpha"] - alpha) < 0.15
    mmo = rec["noise"]["estimates"][0]
    assert mmo["estimator"] == "stable_mmo" and abs(mmo["alpha"] - alpha) < 0.25


def test_light_tailed_gradients_read_as_gaussian_noise():
    model, loss_fn, x, _ = _setup(n=40000, seed=1)
    y = torch.from_numpy(np.random.default_rng(1).standard_normal(40000))
    rec = gradient_tails(model, loss_fn, x, y, batch_size=16, n_batches=1500,
                         estimators=("hill",), seed=0)
    assert rec["noise"]["estimates"][0]["alpha"] > 1.85
