"""Chambers-Mallows-Stuck sampler for alpha-stable laws, numpy and torch backends.

Parameterisations (as in scipy.stats.levy_stable; pass one explicitly):
characteristic function phi(t) = exp(i mu t - |c t|^alpha (1 - i beta sign(t) Phi)) with
  S1: Phi = tan(pi alpha / 2) for alpha != 1,   Phi = -(2/pi) log|t| for alpha = 1;
  S0: Phi = -tan(pi alpha / 2) (|c t|^(1-alpha) - 1) for alpha != 1, as S1 at alpha = 1 with
      location shift mu_S1 = mu_S0 - beta (2/pi) c log c.
For alpha != 1 a standard S0 draw equals a standard S1 draw minus beta tan(pi alpha / 2).
alpha = 2 is a normal law with standard deviation sqrt(2) c.

Chambers, Mallows, Stuck (1976), "A method for simulating stable random variables", JASA
71:340-344; Weron (1996), "On the Chambers-Mallows-Stuck method", Stat. Probab. Lett. 28:165-171.
Standard S1 draw, V ~ U(-pi/2, pi/2), W ~ Exp(1):
  alpha != 1: B = arctan(beta tan(pi alpha/2)) / alpha, S = (1 + beta^2 tan^2(pi alpha/2))^(1/(2 alpha)),
              X = S sin(alpha (V + B)) / cos(V)^(1/alpha) * (cos(V - alpha (V + B)) / W)^((1 - alpha)/alpha)
  alpha == 1: X = (2/pi) ((pi/2 + beta V) tan V - beta log((pi/2) W cos V / (pi/2 + beta V)))
then Y = c X + mu (alpha != 1), Y = c X + (2/pi) beta c log c + mu (alpha = 1, S1).
The numpy and torch backends share one formula (``_cms``) written against a small namespace.
"""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import torch

from ahtga._validation import check_choice, check_in_range, check_positive


def _torch_on_numpy(fn):
    """Apply a torch elementwise kernel to a float64 ndarray through zero-copy views."""
    def apply(a):
        a = np.asarray(a, dtype=np.float64)
        return fn(torch.from_numpy(a if a.flags.c_contiguous else np.ascontiguousarray(a))).numpy()

    return apply


# numpy 2.x evaluates float64 sin/cos/tan without SIMD (~11 ms per 1e6 values here against ~4 ms
# for torch's kernels), so the numpy backend borrows torch's trigonometric kernels through
# zero-copy views; logs, exps and arithmetic stay in numpy (its SIMD log/exp are faster).
_NP = SimpleNamespace(sin=_torch_on_numpy(torch.sin), cos=_torch_on_numpy(torch.cos),
                      tan=_torch_on_numpy(torch.tan), log=np.log, exp=np.exp,
                      log_=lambda a: np.log(a, out=a))
_TORCH = SimpleNamespace(sin=torch.sin, cos=torch.cos, tan=torch.tan, log=torch.log, exp=torch.exp,
                         log_=torch.Tensor.log_)


def _cms(xp, V, W, alpha: float, beta: float):
    """Standard (c = 1, mu = 0) S1 stable draws from uniforms V on (-pi/2, pi/2) and exponentials W.

    ``V`` and ``W`` may be overwritten (pass fresh arrays or tensors).

    For alpha != 1 the two powers are evaluated as one exponential of logs,
    X = S sin(alpha (V + B)) exp(((1 - alpha)/alpha) (log cos(V - alpha (V + B)) - log W)
                                 - (1/alpha) log cos V),
    which is the module-level formula (all bases are positive on the open interval).
    """
    if alpha == 1.0:
        if beta == 0.0:
            return xp.tan(V)
        # V and W are fresh buffers owned by the caller: reuse them (each new 1e6-value
        # buffer costs about as much in page faults as an arithmetic pass).  With
        # a' = (2/pi)(pi/2 + beta V) = 1 + (2 beta/pi) V > 0 the formula reads
        # X = a' tan V - (2 beta/pi) log(W cos V / a').
        c = xp.cos(V)
        s = xp.sin(V)
        a = V
        a *= 2 * beta / math.pi
        a += 1.0
        t = W
        t *= c
        t /= a
        t = xp.log_(t)
        t *= -2 * beta / math.pi
        s /= c                                         # tan V, from the cos already computed
        s *= a
        t += s
        return t
    zeta = beta * math.tan(math.pi * alpha / 2)
    B = math.atan(zeta) / alpha
    S = (1 + zeta * zeta) ** (1 / (2 * alpha))
    aVB = alpha * (V + B) if B != 0.0 else alpha * V
    t = xp.log(xp.cos(V - aVB))
    t -= xp.log(W)
    t *= (1 - alpha) / alpha
    t -= xp.log(xp.cos(V)) / alpha
    t = xp.exp(t)
    t *= xp.sin(aVB)
    return t * S if S != 1.0 else t


def _shift(alpha: float, beta: float, scale: float, loc: float, parameterization: str) -> float:
    """Additive constant turning c * (standard S1 draw) into the requested law."""
    if alpha == 1.0:
        s1 = (2 / math.pi) * beta * scale * math.log(scale)
        return loc + (s1 if parameterization == "S1" else 0.0)
    return loc - (beta * scale * math.tan(math.pi * alpha / 2) if parameterization == "S0" else 0.0)


def _affine(X, scale: float, shift: float):
    """scale * X + shift in place (X is a fresh array), skipping the passes that do nothing."""
    if scale != 1.0:
        X *= scale
    if shift != 0.0:
        X += shift
    return X


def _check(alpha, beta, scale, parameterization):
    alpha = check_in_range("alpha", alpha, 0.0, 2.0, lo_open=True)
    beta = check_in_range("beta", beta, -1.0, 1.0)
    scale = check_positive("scale", scale)
    check_choice("parameterization", parameterization, {"S0", "S1"})
    return alpha, beta, scale


def stable_rvs(alpha: float, beta: float = 0.0, *, size, parameterization: str, scale: float = 1.0,
               loc: float = 0.0, rng: np.random.Generator | int | None = None) -> np.ndarray:
    """Draw alpha-stable variates with numpy.

    Parameters
    ----------
    alpha : stability index in (0, 2].
    beta : skewness in [-1, 1].
    size : output shape.
    parameterization : "S0" or "S1" (required: no hidden default).
    scale, loc : c > 0 and mu.
    rng : a numpy Generator or a seed.
    """
    alpha, beta, scale = _check(alpha, beta, scale, parameterization)
    rng = np.random.default_rng(rng)
    V = rng.random(size)          # [0, 1): V in [-pi/2, pi/2); the endpoint has probability 2^-53
    V -= 0.5
    V *= np.pi
    W = rng.standard_exponential(size=size)
    X = _cms(_NP, V, W, alpha, beta)
    return _affine(X, scale, _shift(alpha, beta, scale, loc, parameterization))


def stable_rvs_torch(alpha: float, beta: float = 0.0, *, size, parameterization: str,
                     scale: float = 1.0, loc: float = 0.0, generator: torch.Generator | None = None,
                     device=None, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Draw alpha-stable variates with torch on any device (same formula as ``stable_rvs``)."""
    alpha, beta, scale = _check(alpha, beta, scale, parameterization)
    size = (size,) if isinstance(size, int) else tuple(size)
    U = torch.rand(size, generator=generator, device=device, dtype=dtype)
    # Keep V strictly inside (-pi/2, pi/2) and W > 0 so no draw is infinite.
    tiny = torch.finfo(dtype).eps
    V = U.clamp_(tiny, 1 - tiny).sub_(0.5).mul_(math.pi)
    E = torch.rand(size, generator=generator, device=device, dtype=dtype).clamp_min_(tiny)
    W = E.log_().neg_()
    X = _cms(_TORCH, V, W, alpha, beta)
    return _affine(X, scale, _shift(alpha, beta, scale, loc, parameterization))
