"""The design study of stable_t_dk's model choice: the decision rules and their evaluation."""
import math

import numpy as np
import pytest

from ahtga.tail import stable_t_dk
from ahtga.tail.stable_t import STABLE_LOG_ODDS
from sim import stable_t_study as S


def test_record_reproduces_the_coded_rule():
    """decide() with the coded threshold gives stable_t_dk's own estimate, sample by sample."""
    rng = np.random.default_rng(0)
    samples = [np.abs(rng.standard_t(4.0, 1000)) for _ in range(4)] + [rng.exponential(size=500),
                                                                      np.abs(rng.standard_cauchy(20))]
    for x in samples:
        rec = S.record(x)
        assert S.decide(rec, "llr", STABLE_LOG_ODDS) == pytest.approx(stable_t_dk(x)[0], rel=1e-12)


def test_decide_and_evaluate():
    both = {"hill": 3.0, "alpha_s": 1.7, "ok_s": True, "nu": 4.0, "ok_t": True, "llr": 2.0, "z": 1.0}
    assert S.decide(both, "llr", 1.5) == 4.0 and S.decide(both, "llr", 3.0) == 1.7
    assert S.decide(both, "z", 1.645) == 1.7 and S.decide(both, "llr", math.inf) == 1.7
    assert S.decide({**both, "ok_s": False}, "llr", 9.0) == 4.0
    assert S.decide({**both, "ok_s": False, "ok_t": False}, "llr", 0.0) == 3.0
    assert S.decide({"hill": 2.5}, "llr", 0.0) == 2.5
    res = {"cells": {"student_t_a4_n1000": {"law": "student_t", "alpha": 4.0, "n": 1000,
                                            "records": [both, {**both, "llr": 1.0}],
                                            "reference_rmse": 1.0}}}
    ev = S.evaluate(res)
    # llr > 1.5: one sample reads 4 (error 0), one reads 1.7 (error 2.3)
    assert ev["llr>1.5"]["cells"]["student_t_a4_n1000"]["rmse"] == pytest.approx(math.sqrt(2.3 ** 2 / 2))
    assert ev["llr>0"]["worst_ratio"] == pytest.approx(0.0)
    assert ev["stable_only"]["worst_ratio"] == pytest.approx(2.3)
