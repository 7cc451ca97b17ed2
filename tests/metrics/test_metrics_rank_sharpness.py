"""Effective rank on known spectra; Hessian eigenvalue and trace on quadratics with known Hessian."""
import math

import pytest
import torch
from hypothesis import given, strategies as st

from ahtga.metrics import effective_rank, gram_matrix, gradient_effective_rank, \
    hessian_top_eigenvalue, hessian_trace, hvp


def test_effective_rank_known_spectra():
    assert effective_rank([1.0, 1.0, 1.0, 1.0]) == pytest.approx(4.0)
    assert effective_rank([5.0, 0.0, 0.0]) == pytest.approx(1.0)
    # p = (1/2, 1/4, 1/4): H = 1.5 log 2 -> erank = 2^1.5
    assert effective_rank([2.0, 1.0, 1.0]) == pytest.approx(2 ** 1.5)
    with pytest.raises(ValueError, match="spectrum"):
        effective_rank([0.0, 0.0])
    with pytest.raises(ValueError, match="spectrum"):
        effective_rank([1.0, -0.5])


@given(st.integers(1, 12), st.floats(0.01, 100.0))
def test_effective_rank_equal_values_and_scale(r, c):
    assert effective_rank([c] * r + [0.0] * 3) == pytest.approx(r, rel=1e-9)


def test_gradient_effective_rank_matches_covariance_spectrum():
    g = torch.Generator().manual_seed(1)
    B, P = 16, 40
    G = torch.randn(B, P, generator=g, dtype=torch.float64) * torch.linspace(0.1, 3, P, dtype=torch.float64)
    K = gram_matrix({"w": G[:, :25].reshape(B, 5, 5), "b": G[:, 25:]})
    assert torch.allclose(K, G @ G.T)
    Gc = G - G.mean(0)
    ev = torch.linalg.eigvalsh(Gc.T @ Gc / B)
    assert gradient_effective_rank(K) == pytest.approx(effective_rank(ev.clamp_min(0)), rel=1e-8)
    ev2 = torch.linalg.eigvalsh(G.T @ G / B)
    assert gradient_effective_rank(K, center=False) == pytest.approx(effective_rank(ev2.clamp_min(0)), rel=1e-8)


def test_gradient_effective_rank_rank_one_and_orthogonal():
    # all gradients parallel (uncentred): rank one; orthonormal equal-size: B
    u = torch.randn(1, 30, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    G = torch.arange(1, 9, dtype=torch.float64)[:, None] * u
    assert gradient_effective_rank(gram_matrix(G), center=False) == pytest.approx(1.0)
    Q = torch.eye(8, dtype=torch.float64)
    assert gradient_effective_rank(gram_matrix(Q), center=False) == pytest.approx(8.0)
    # centring the B standard basis vectors leaves B-1 equal eigenvalues
    assert gradient_effective_rank(gram_matrix(Q)) == pytest.approx(7.0)


def _quadratic(A):
    x = torch.nn.Parameter(torch.randn(A.shape[0], dtype=torch.float64,
                                       generator=torch.Generator().manual_seed(3)))
    return x, (lambda: 0.5 * x @ A @ x + torch.sin(x).sum() * 0.0)


def test_hvp_and_power_iteration_on_quadratic():
    A = torch.diag(torch.tensor([5.0, 2.0, 1.0, -0.5], dtype=torch.float64))
    Q, _ = torch.linalg.qr(torch.randn(4, 4, generator=torch.Generator().manual_seed(4), dtype=torch.float64))
    A = Q @ A @ Q.T
    x, f = _quadratic(A)
    v = torch.randn(4, dtype=torch.float64)
    assert torch.allclose(hvp(f, [x], [v])[0], A @ v, atol=1e-12)
    out = hessian_top_eigenvalue(f, [x], iters=200, tol=1e-10, seed=0)
    assert out["eigenvalue"] == pytest.approx(5.0, rel=1e-6)
    assert out["converged"]
    again = hessian_top_eigenvalue(f, [x], iters=200, tol=1e-10, seed=0)
    assert again == out  # seeded


def test_hessian_trace_hutchinson_on_quadratic():
    # diagonal Hessian: z^T H z = tr H exactly for Rademacher z, zero variance
    D = torch.diag(torch.tensor([3.0, 1.0, 0.5, 2.0], dtype=torch.float64))
    x, f = _quadratic(D)
    out = hessian_trace(f, [x], samples=5, seed=0)
    assert out["trace"] == pytest.approx(6.5, abs=1e-12) and out["stderr"] == pytest.approx(0.0, abs=1e-12)
    # dense Hessian: unbiased; with 2000 probes the mean lies within 4 standard errors
    M = torch.randn(6, 6, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    A = M @ M.T
    x2, f2 = _quadratic(A)
    out2 = hessian_trace(f2, [x2], samples=2000, seed=1)
    assert abs(out2["trace"] - float(torch.trace(A))) < 4 * out2["stderr"]


def test_hessian_of_small_network_matches_dense():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    X = torch.randn(10, 3, dtype=torch.float64)
    y = torch.randint(0, 2, (10,))
    params = list(net.parameters())
    f = lambda: torch.nn.functional.cross_entropy(net(X), y)
    flat = torch.cat([p.detach().reshape(-1) for p in params])
    shapes = [p.shape for p in params]

    def f_flat(w):
        out, i = [], 0
        for s in shapes:
            n = math.prod(s)
            out.append(w[i:i + n].reshape(s))
            i += n
        h = torch.tanh(X @ out[0].T + out[1])
        return torch.nn.functional.cross_entropy(h @ out[2].T + out[3], y)

    H = torch.autograd.functional.hessian(f_flat, flat)
    ev = torch.linalg.eigvalsh(H)
    top = ev[ev.abs().argmax()]
    est = hessian_top_eigenvalue(f, params, iters=500, tol=1e-12, seed=0)
    assert est["eigenvalue"] == pytest.approx(float(top), rel=1e-5)
    tr = hessian_trace(f, params, samples=400, seed=0)
    assert abs(tr["trace"] - float(torch.trace(H))) < 4 * tr["stderr"] + 1e-9


def test_sharpness_argument_errors():
    x = torch.nn.Parameter(torch.ones(2))
    with pytest.raises(ValueError, match="iters"):
        hessian_top_eigenvalue(lambda: (x ** 2).sum(), [x], iters=0)
    with pytest.raises(ValueError, match="params"):
        hessian_trace(lambda: (x ** 2).sum(), [torch.ones(2)])
