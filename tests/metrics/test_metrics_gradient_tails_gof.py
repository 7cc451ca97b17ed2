"""gradient_tails' goodness-of-fit option and the minibatch draw at large batch sizes."""
import numpy as np
import pytest
import torch

from ahtga.metrics.gradient_noise import _draw, gradient_tails


def _setup(y, d=6, seed=0):
    """Least squares at zero weights with unit-norm inputs: ||g_i|| = |y_i| exactly."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((y.size, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    model = torch.nn.Linear(d, 1, bias=False).double()
    torch.nn.init.zeros_(model.weight)
    return model, (lambda out, t: 0.5 * (out.squeeze(1) - t) ** 2), torch.from_numpy(x), torch.from_numpy(y)


def test_draw_terminates_and_is_distinct_when_the_batch_is_large():
    # b = 256 of n = 1146: a whole-batch rejection draw is accepted with probability ~e^-28
    gen = torch.Generator().manual_seed(0)
    for n, b in ((1146, 256), (1146, 30), (300, 50), (10, 10)):
        idx = _draw(n, b, gen)
        assert idx.numel() == b and idx.unique().numel() == b and 0 <= int(idx.min()) and int(idx.max()) < n


def test_gof_does_not_reject_pareto_norms_and_rejects_gaussian_ones():
    rng = np.random.default_rng(3)
    y = (rng.pareto(1.5, 1500) + 1.0) * rng.choice([-1.0, 1.0], 1500)
    model, loss_fn, x, t = _setup(y)
    rec = gradient_tails(model, loss_fn, x, t, batch_size=16, n_batches=8, seed=0, gof_boot=40,
                         gof_max_n=1000, gof_exact_max=200)
    g = rec["norms"]["gof"]
    assert g["n"] == 1000 and g["n_boot"] == 40 and g["seconds"] > 0
    assert g["p_value"] >= 0.1 and abs(g["alpha"] - 1.5) < 0.3 and not g["light"]
    assert set(rec["noise"]["gof"]) >= {"p_value", "alpha", "n", "light"}
    # half-normal norms: no power-law tail (rejected, or read as light: index > 5)
    model, loss_fn, x, t = _setup(np.random.default_rng(4).standard_normal(1500))
    g = gradient_tails(model, loss_fn, x, t, batch_size=16, n_batches=8, seed=0, gof_boot=40,
                       gof_exact_max=200)["norms"]["gof"]
    assert g["p_value"] < 0.1 or g["light"]
    # without gof_boot there is no test (the record of the existing callers is unchanged)
    assert "gof" not in gradient_tails(model, loss_fn, x, t, batch_size=16, n_batches=2)["norms"]


@pytest.mark.parametrize("kw,match", [({"gof_boot": -1}, r"`gof_boot` must be >= 0; got gof_boot=-1"),
                                      ({"gof_boot": 5, "gof_max_n": 3}, r"`gof_max_n` must be >= 50; got gof_max_n=3"),
                                      ({"max_noise_samples": 0}, r"`max_noise_samples` must be >= 1")])
def test_bad_gof_options_name_the_argument(kw, match):
    model, loss_fn, x, t = _setup(np.ones(60))
    with pytest.raises(ValueError, match=match):
        gradient_tails(model, loss_fn, x, t, batch_size=4, n_batches=1, **kw)
