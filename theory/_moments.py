"""Expectations of polynomials in independent random vectors, by the rules that define them.

Used to *derive* second moments that the statements would otherwise type in (the minibatch mean
of statement 4, h(2) of statement 6): expand the polynomial into monomials, split each monomial
into the factors of each independent vector (independence: the expectation of a product of
functions of independent vectors is the product of their expectations) and replace each
factor by its moment from a table supplied by the caller (linearity does the rest).
"""
from __future__ import annotations

from typing import Callable, Sequence

import sympy as sp


def expect(poly, groups: Sequence[Sequence[sp.Symbol]], moment: Callable[[int, tuple], sp.Expr]):
    """E[poly] when the symbols of each group are one random vector and groups are independent.

    ``moment(g, exps)`` returns E[prod_j X_{g,j}^{exps[j]}] for group ``g`` (``exps`` a tuple of
    non-negative integers, one per symbol of the group).  Symbols in no group are constants.
    """
    poly = sp.expand(poly)
    syms = [s for grp in groups for s in grp]
    P = sp.Poly(poly, *syms) if syms else None
    if P is None:
        return poly
    total = sp.Integer(0)
    for exps, coeff in P.terms():
        term, pos = coeff, 0
        for gi, grp in enumerate(groups):
            e = tuple(exps[pos:pos + len(grp)])
            pos += len(grp)
            if any(e):
                term *= moment(gi, e)
        total += term
    return sp.expand(total)


def centred_second_order_moment(cov: sp.Matrix):
    """Moment table of a centred vector with covariance ``cov`` for monomials of degree <= 2."""
    def moment(_g, e):
        deg = sum(e)
        if deg == 1:
            return sp.Integer(0)
        if deg == 2:
            idx = [j for j, k in enumerate(e) for _ in range(k)]
            return cov[idx[0], idx[1]]
        raise ValueError(f"moment of degree {deg} is not defined by a covariance; got exponents {e}")
    return moment


def gaussian_moment(sigma):
    """Moment table of a vector of iid N(0, sigma^2) coordinates (Isserlis: (n-1)!! sigma^n for even n)."""
    def moment(_g, e):
        out = sp.Integer(1)
        for k in e:
            out *= 0 if k % 2 else sp.factorial2(k - 1) * sigma ** k
        return out
    return moment
